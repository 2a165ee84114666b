"""The memory tools of an action session (seed 004): `remember(fact)` and `recall(query)`, on the Memories port.

Superseding: when a fact is stored, the person's similar facts in this conversation (full-text search) are
looked up and shown in the result. Which of them the new fact replaces is decided by the fast model
(FastFactCheck: one small request, only when there are similar facts), unless the session's model names
them itself with the optional `replaces` (ids it saw in a recall or an earlier remember result).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from bot.core.clock import Clock
from bot.core.events import ConversationKey
from bot.core.memory_port import FACT_CHARS, Memories, Memory, clean_fact
from bot.core.ports import ReplyRequest
from bot.llm.tool_kit import SessionTool

RECALL_LIMIT = 6
SIMILAR_LIMIT = 5


REMEMBER_SCHEMA: dict[str, Any] = {"type": "function", "function": {
    "name": "remember",
    "description": "Remember a fact about them for later (only in this chat). Tells you similar facts you knew.",
    "parameters": {"type": "object", "properties": {
        "fact": {"type": "string", "description": "one short sentence, e.g. \"Alex's dog is called Rex\""},
        "replaces": {"type": "array", "items": {"type": "integer"},
                     "description": "optional: ids of facts you know this one makes untrue"},
    }, "required": ["fact"], "additionalProperties": False},
}}

RECALL_SCHEMA: dict[str, Any] = {"type": "function", "function": {
    "name": "recall",
    "description": "Search what you remember from this chat (any time ago). An empty query gives the newest.",
    "parameters": {"type": "object", "properties": {
        "query": {"type": "string", "description": "words to look for, e.g. \"dog name\""},
    }, "required": ["query"], "additionalProperties": False},
}}


class ReplacedCheck(Protocol):
    """Decides which older facts a new one replaces (the fast model in production)."""

    async def replaced(self, fact: str, older: list[Memory]) -> tuple[list[int], str]:
        """The ids in `older` that `fact` makes untrue, and why."""
        ...


def person_of(request: ReplyRequest, name: str = "") -> str:
    """The author id a fact about `name` (default: whoever wrote last) is filed under.

    A request names its people by id and its lines by author name, both in order of first message, so the
    two lists pair up; when they do not (a nameless author), the last person answered is the one.
    """
    if not request.people:
        return ""
    names = list(dict.fromkeys(line.author for line in request.unanswered if line.author))
    ids = dict(zip(names, request.people, strict=True)) if len(names) == len(request.people) else {}
    name = name or (request.unanswered[-1].author if request.unanswered else "")
    return ids.get(name, request.people[-1])


def age(seconds: float) -> str:
    """How long ago, in the words a person would use: "just now", "5 minutes ago", "3 days ago"."""
    for size, unit in ((86400 * 365, "year"), (86400 * 30, "month"), (86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n > 1 else ''} ago"
    return "just now"


def shown(memory: Memory, now: float) -> dict[str, Any]:
    """A fact as a tool result shows it."""
    return {"id": memory.id, "fact": memory.fact, "learned": age(now - memory.at)}


@dataclass
class FactKeeper:
    """Stores facts for a conversation and settles which older ones they replace."""

    memories: Memories
    clock: Clock
    check: ReplacedCheck | None = None

    async def keep(self, scope: ConversationKey, person: str, fact: str,
                   replaces: list[int] | None = None) -> dict[str, Any]:
        """Store `fact`; the result names the similar facts and the ones it replaced."""
        now = self.clock.now()
        similar = await self.memories.similar(scope, person, fact, SIMILAR_LIMIT)
        memory, new = await self.memories.remember(scope, person, fact, now)
        if not new:
            return {"remembered": memory.fact, "id": memory.id, "already_known": True}
        fields: dict[str, Any] = {"remembered": memory.fact, "id": memory.id,
                                  "similar": [shown(m, now) for m in similar]}
        reason = "you named them"
        if replaces is None:
            replaces, reason = await self._replaced(memory.fact, similar)
        gone = set(await self.memories.supersede(scope, replaces, memory.id, now))
        if gone:
            known = {m.id: m for m in similar}
            fields["replaced"] = [shown(known[i], now) if i in known else {"id": i} for i in sorted(gone)]
            fields["why_replaced"] = reason
        return fields

    async def _replaced(self, fact: str, similar: list[Memory]) -> tuple[list[int], str]:
        if not similar or self.check is None:
            return [], ""
        return await self.check.replaced(fact, similar)


class RememberTool:
    """remember(fact[, replaces]): keep a fact about the person being answered, in this conversation only."""

    name = "remember"
    rule = ("remember(fact) keeps one thing worth knowing later (a name, a plan, a preference, a change in their "
            "life) as a short sentence in the third person with their name; its result shows the similar facts "
            "you knew and the ones it replaced.")

    def __init__(self, keeper: FactKeeper) -> None:
        self.keeper = keeper
        self.schema = REMEMBER_SCHEMA

    def argument_error(self, args: dict[str, Any]) -> str:
        """A fact must be a non-empty string; replaces, when given, a list of ids."""
        fact = args.get("fact")
        if not isinstance(fact, str) or not clean_fact(fact):
            return "remember needs fact, a short sentence"
        if len(fact) > FACT_CHARS:
            return f"the fact is too long: at most {FACT_CHARS} characters, one fact at a time"
        replaces = args.get("replaces")
        if replaces is not None and not (isinstance(replaces, list) and all(
                isinstance(i, int) and not isinstance(i, bool) for i in replaces)):
            return "replaces must be a list of fact ids (numbers)"
        return ""

    async def call(self, args: dict[str, Any], request: ReplyRequest) -> dict[str, Any]:
        """Store the fact under the conversation and the person who wrote last."""
        if request.key is None:
            return {"error": "nothing can be remembered here"}
        return await self.keeper.keep(request.key, person_of(request), args["fact"], args.get("replaces"))


class RecallTool:
    """recall(query): search this conversation's facts with the database's full-text search."""

    name = "recall"
    rule = ("recall(query) searches all you remember from this chat, however long ago: use it before saying "
            "you do not know something they told you.")

    def __init__(self, memories: Memories, clock: Clock) -> None:
        self.memories = memories
        self.clock = clock
        self.schema = RECALL_SCHEMA

    def argument_error(self, args: dict[str, Any]) -> str:
        """The query must be a string (it may be empty)."""
        return "" if isinstance(args.get("query"), str) else "recall needs query, a string"

    async def call(self, args: dict[str, Any], request: ReplyRequest) -> dict[str, Any]:
        """The best matches in this conversation, or its newest facts when nothing matches."""
        if request.key is None:
            return {"memories": []}
        found = await self.memories.recall(request.key, args["query"], RECALL_LIMIT)
        if found:
            return {"memories": [shown(m, self.clock.now()) for m in found]}
        newest = await self.memories.recent(request.key, RECALL_LIMIT)
        return {"memories": [], "newest": [shown(m, self.clock.now()) for m in newest]}


def memory_tools(memories: Memories, clock: Clock, check: ReplacedCheck | None = None) -> list[SessionTool]:
    """The two tools an ActionResponder takes to remember and recall in its sessions."""
    return [RememberTool(FactKeeper(memories, clock, check)), RecallTool(memories, clock)]
