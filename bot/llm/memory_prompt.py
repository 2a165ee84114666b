"""Memories in the prompt: before a reply session, the conversation's most relevant facts join the system
prompt (full-text search on what is unanswered, then the newest), so even the `stream` responder, which has
no tools, knows what it learned in this chat long past the history window."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

from bot.core.clock import Clock
from bot.core.memory_port import Memories, Memory
from bot.core.ports import Intent, ReplyRequest, Responder, SessionFeed
from bot.core.tasks import cancel_and_wait
from bot.llm.fact_extract import FactLearner, worth_asking
from bot.llm.memory_tools import age

PROMPT_MEMORIES = 6  # matches first, then the newest, at most this many
NEWEST = 3
MEMORY_NOTE = "What you remember from earlier in this chat (bring it up only where it fits; never list it):"


async def relevant_memories(memories: Memories, request: ReplyRequest, limit: int = PROMPT_MEMORIES) -> list[Memory]:
    """The facts of the request's conversation that match its unanswered text, then its newest ones."""
    if request.key is None:
        return []
    text = " ".join(line.text for line in request.unanswered)
    found = await memories.recall(request.key, text, limit) if text.strip() else []
    for memory in await memories.recent(request.key, NEWEST):
        if len(found) < limit and all(memory.id != seen.id for seen in found):
            found.append(memory)
    return found


def memory_note(facts: list[Memory], now: float) -> str:
    """The facts as the system prompt shows them."""
    return "\n".join([MEMORY_NOTE, *(f"- {m.fact} ({age(now - m.at)})" for m in facts)])


class RememberingResponder:
    """Wraps a responder (the stream one): its sessions start with the relevant memories in the prompt, and
    with a learner the fast model keeps the facts of each turn it answers."""

    def __init__(self, inner: Responder, memories: Memories, clock: Clock, limit: int = PROMPT_MEMORIES,
                 learner: FactLearner | None = None) -> None:
        self.inner = inner
        self.memories = memories
        self.clock = clock
        self.limit = limit
        self.learner = learner  # the fast model that keeps a turn's facts (None: this responder only reads them)
        self.listens = bool(getattr(inner, "listens", False))  # the session is the inner one's
        self.learning: set[asyncio.Task[None]] = set()  # answered turns whose facts are still being kept

    def reply(self, request: ReplyRequest, feed: SessionFeed) -> AsyncIterator[Intent]:
        """The inner responder's session, on a request whose system prompt carries the memories."""
        return self._reply(request, feed)

    async def _reply(self, request: ReplyRequest, feed: SessionFeed) -> AsyncIterator[Intent]:
        facts = await relevant_memories(self.memories, request, self.limit)
        if facts:
            request = replace(request, system=f"{request.system}\n\n{memory_note(facts, self.clock.now())}")
            feed.note("memories", facts=[m.fact for m in facts])
        learning = self._start_learning(request, feed)
        intents = self.inner.reply(request, feed)
        answered = False
        try:
            async for intent in intents:
                yield intent
            answered = True
        finally:
            if learning is not None and answered and not learning.done():
                # The turn was answered: its facts count, but the chat need not wait for them.
                self.learning.add(learning)
                learning.add_done_callback(self.learning.discard)
            elif learning is not None:
                # A stopped session's turn is asked again, with these messages in it: learn from that one.
                await cancel_and_wait(learning)
            close = getattr(intents, "aclose", None)
            if close is not None:  # a stopped session stops the inner stream now, not when it is collected
                await close()

    def _start_learning(self, request: ReplyRequest, feed: SessionFeed) -> asyncio.Task[None] | None:
        """The fast model reads the turn for facts while the reply is written (only turns with words in them)."""
        if self.learner is None or not worth_asking(request):
            return None
        return asyncio.create_task(_learn(self.learner, request, feed), name=f"learn facts {request.key}")


async def _learn(learner: FactLearner, request: ReplyRequest, feed: SessionFeed) -> None:
    """Keep the turn's facts and put them on the timeline; a failure to keep them never fails the reply."""
    try:
        kept = await learner.learn(request)
    except Exception as exc:  # the reply is out (or on its way); a lost fact is only a lost fact
        feed.note("memories_learned", error=type(exc).__name__)
        return
    feed.note("memories_learned", facts=[k["remembered"] for k in kept],
              replaced=[r["fact"] for k in kept for r in k.get("replaced", []) if isinstance(r, dict)])
