"""Fast and slow (seed 003): while the slow model has produced nothing, the fast model keeps the chat alive with
one short holding line ("hmm good question, one sec"), then the slow session's reply follows as usual."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import openai

from bot.core.clock import Clock
from bot.core.events import ConversationKey
from bot.core.ports import Edit, Heard, Intent, Receipt, ReplyRequest, Responder, Say, SessionFeed, Unsend
from bot.core.tasks import cancel_and_wait
from bot.llm.prompt import build_messages
from bot.llm.tidy import speaker_names, tidy_line

log = logging.getLogger(__name__)
HOLDING_AFTER = 2.0  # seconds of nothing from the slow model before a holding line is worth sending
HOLDING_TIMEOUT = 2.0  # the fast model's budget for the line (real seconds, as the judge's)
HOLDING_CHARS = 60
CONTEXT_MESSAGES = 8  # the newest lines the fast model sees
REMEMBERED = 1024
HOLDING_RULE = (
    "You need a moment before you can answer their last message properly. Write ONE very short text, a few "
    "words, that a person sends to hold the conversation while they think (like \"hmm good question\", "
    "\"ooh wait let me think\", \"haha ok one sec\"), in your own style. Do not answer it, do not promise a time, "
    "no quotes."
)


class HoldingLines:
    """The fast model (LLM_FAST_MODEL) writes one short in-character holding line; None when it cannot in time."""

    def __init__(self, client: openai.AsyncOpenAI, model: str, clock: Clock, timeout: float = HOLDING_TIMEOUT,
                 max_tokens: int = 24) -> None:
        self.client = client
        self.model = model
        self.clock = clock
        self.timeout = timeout
        self.max_tokens = max_tokens
        self.asked = 0  # requests made, for the cost figures

    async def line(self, request: ReplyRequest) -> str | None:
        """One short line for this request's conversation, or None (timeout, error, nothing usable)."""
        messages = build_messages(request)
        messages = [{"role": "system", "content": f"{request.system}\n\n{HOLDING_RULE}"},
                    *messages[1:][-CONTEXT_MESSAGES:]]
        self.asked += 1
        try:
            # Real I/O: a virtual clock stands still meanwhile, so the timeout is real seconds, as in production.
            async with self.clock.hold(), asyncio.timeout(self.timeout):
                completion: Any = await self.client.chat.completions.create(
                    model=self.model, messages=messages, max_tokens=self.max_tokens,  # type: ignore[arg-type]
                    temperature=0.9, timeout=self.timeout)
            text = completion.choices[0].message.content or ""
        except Exception as exc:  # no line is fine: the slow reply still comes
            log.info("no holding line: %s", type(exc).__name__)
            return None
        first = next((line for line in text.splitlines() if line.strip()), "")
        tidied = tidy_line(first, names=speaker_names(request.system))
        return tidied[:HOLDING_CHARS].strip() or None


class ShiftedFeed:
    """The slow session's view of the feed when a holding line went first: its own Say numbers, its receipts."""

    def __init__(self, feed: SessionFeed) -> None:
        self.feed = feed
        self.shift = 0  # Says the wrapper made before the session's first

    def take(self) -> list[Heard]:
        """Everything heard, the holding line's receipt left out."""
        return self._own(self.feed.take())

    async def wait(self, seconds: float) -> list[Heard]:
        """As the feed's wait (it may return nothing if only the holding line's receipt came)."""
        return self._own(await self.feed.wait(seconds))

    async def receipt(self, part: int) -> Receipt:
        """The receipt of the session's Say number `part`."""
        return replace(await self.feed.receipt(part + self.shift), part=part)

    def note(self, kind: str, **data: Any) -> None:
        """Put a step on the timeline."""
        self.feed.note(kind, **data)

    def out(self, intent: Intent) -> Intent:
        """An intent of the session, its part numbers counted as the engine counts them."""
        if isinstance(intent, Edit | Unsend):
            return replace(intent, part=intent.part + self.shift)
        return intent

    def _own(self, items: list[Heard]) -> list[Heard]:
        out: list[Heard] = []
        for item in items:
            if isinstance(item, Receipt):
                if item.part < self.shift:
                    continue
                item = replace(item, part=item.part - self.shift)
            out.append(item)
        return out


class HoldingResponder:
    """Wraps a responder: when its session says nothing for `after` seconds in a DM (or in a group that called
    the bot), one holding line from the fast model goes out first; at most one per turn."""

    def __init__(self, inner: Responder, lines: HoldingLines, clock: Clock, after: float = HOLDING_AFTER) -> None:
        self.inner = inner
        self.lines = lines
        self.clock = clock
        self.after = after
        self.listens = bool(getattr(inner, "listens", False))
        self._held: OrderedDict[ConversationKey | None, str] = OrderedDict()  # the last holding line per chat

    def reply(self, request: ReplyRequest, feed: SessionFeed) -> AsyncIterator[Intent]:
        """The inner session, a holding line first when it is slow."""
        return self._session(request, feed)

    def wants_line(self, request: ReplyRequest) -> bool:
        """Someone is waiting for an answer, here a holding line is welcome, and none was sent this turn."""
        if not request.unanswered or (request.is_group and not request.addressed):
            return False  # the bot texts first (nobody waits), or a group that did not call it
        held = self._held.get(request.key)
        last = request.history[-1] if request.history else None
        # A revised reply of the same turn: the holding line is the last thing the bot said.
        return not (held is not None and last is not None and last.role == "bot" and last.text == held)

    async def _session(self, request: ReplyRequest, feed: SessionFeed) -> AsyncIterator[Intent]:
        view = ShiftedFeed(feed)
        inner = self.inner.reply(request, view)
        first = asyncio.create_task(_first(inner), name="holding:first")
        try:
            if self.wants_line(request) and (line := await self._line(request, first)) is not None:
                view.shift = 1
                self._remember(request.key, line)
                feed.note("holding_line", text=line)
                yield Say(line, guarded=True)
            intent = await first
            if intent is None:
                return
            yield view.out(intent)
            async for intent in inner:
                yield view.out(intent)
        finally:
            await cancel_and_wait(first)
            closing = getattr(inner, "aclose", None)
            if closing is not None:
                await closing()

    async def _line(self, request: ReplyRequest, first: asyncio.Task[Intent | None]) -> str | None:
        """Race the session's first intent: the clock first, then the fast model writing the line."""
        timer = asyncio.create_task(self.clock.sleep(self.after), name="holding:timer")
        try:
            await asyncio.wait([first, timer], return_when=asyncio.FIRST_COMPLETED)
        finally:
            await cancel_and_wait(timer)
        if first.done():
            return None  # the answer came quickly
        asking = asyncio.create_task(self.lines.line(request), name="holding:ask")
        try:
            await asyncio.wait([first, asking], return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not asking.done():
                await cancel_and_wait(asking)
        if first.done() or asking.cancelled():
            return None  # the answer arrived while the line was being written: it goes alone
        return asking.result()

    def _remember(self, key: ConversationKey | None, line: str) -> None:
        self._held[key] = line
        self._held.move_to_end(key)
        while len(self._held) > REMEMBERED:
            self._held.popitem(last=False)


async def _first(intents: AsyncIterator[Intent]) -> Intent | None:
    """The session's first intent; None when it ends without one."""
    try:
        return await intents.__anext__()
    except StopAsyncIteration:
        return None
