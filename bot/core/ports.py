"""The narrow protocols the core talks through: chat outlets, the responder, the store, the trace."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.core.events import ConversationKey, HumanMessage
from policies.view import Rhythm


def always_wanted() -> bool:
    """The default `still_wanted`: nothing withdraws the part."""
    return True


class PartWithdrawn(Exception):
    """The part was withdrawn while it waited to go out (pacing, a rate limit): nothing was sent."""


class Outlet(Protocol):
    """Where a platform's replies go out: messages and the typing indicator."""

    platform: str
    limit: int
    typing_ttl: float
    has_typing_signal: bool

    async def send(
        self, key: ConversationKey, text: str, reply_to: str | None, still_wanted: Callable[[], bool] = always_wanted
    ) -> str:
        """Deliver one message; return the platform's id for it. Raise only if it was not sent.

        An outlet that makes a part wait (per-chat pacing, a flood wait) asks `still_wanted()` right
        before the request goes on the wire and raises PartWithdrawn if it says no.
        """
        ...

    async def typing(self, key: ConversationKey) -> None:
        """Show "typing…" once (it lapses after `typing_ttl`)."""
        ...

    async def stop_typing(self, key: ConversationKey) -> None:
        """Hide "typing…" where the platform allows it."""
        ...


@dataclass(frozen=True, slots=True)
class Line:
    """One delivered line of a conversation, as the prompt sees it."""

    role: str  # "human" or "bot"
    text: str
    at: float
    author: str = ""


@dataclass(frozen=True, slots=True)
class ReplyRequest:
    """Everything a responder needs to answer: who it is, what was said, what is unanswered."""

    system: str
    history: tuple[Line, ...]
    unanswered: tuple[Line, ...]
    max_parts: int
    max_part_chars: int
    limit: int
    is_group: bool = False


@dataclass(frozen=True, slots=True)
class Say:
    """Send this text as one message."""

    text: str


@dataclass(frozen=True, slots=True)
class StaySilent:
    """Say nothing to this."""


Intent = Say | StaySilent


class Responder(Protocol):
    """Turns a reply request into a stream of intents (the LLM side)."""

    def reply(self, request: ReplyRequest) -> AsyncIterator[Intent]:
        """Stream intents; raise ResponderFailed when the model cannot be reached."""
        ...


class ResponderFailed(Exception):
    """The responder gave up after its retries (the model is down, slow or refusing)."""


HISTORY_LIMIT = 200  # delivered lines a conversation keeps for its prompt (the prompt uses the newest 60)


@dataclass
class StoredConversation:
    """What the store remembers of a conversation, to rebuild its actor."""

    history: list[Line] = field(default_factory=list)
    pending: list[HumanMessage] = field(default_factory=list)
    overrides: dict[str, Any] = field(default_factory=dict)
    rhythms: dict[str, Rhythm] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TraceEvent:
    """One thing that happened in a conversation, for the timeline: kind, instant, details."""

    kind: str
    at: float
    data: dict[str, Any] = field(default_factory=dict)


class Store(Protocol):
    """Durable memory of conversations; every write is awaited before the core relies on it."""

    async def save_human(self, msg: HumanMessage, at: float) -> bool:
        """Store a received message; False if it was stored already (a redelivery)."""
        ...

    async def edit_human(self, key: ConversationKey, message_id: str, text: str | None) -> None:
        """Change (or, with None, delete) a stored human message."""
        ...

    async def mark_answered(self, key: ConversationKey, message_ids: list[str]) -> None:
        """These human messages need no further answer."""
        ...

    async def plan_part(self, key: ConversationKey, part_id: str, text: str, at: float) -> None:
        """Record a part about to be sent."""
        ...

    async def part_sent(self, key: ConversationKey, part_id: str, platform_id: str, at: float) -> None:
        """Record that a planned part was delivered."""
        ...

    async def part_cancelled(self, key: ConversationKey, part_id: str, reason: str) -> None:
        """Record that a planned part will never be sent."""
        ...

    async def load(self, key: ConversationKey) -> StoredConversation:
        """The conversation's delivered history, unanswered messages, settings and rhythms."""
        ...

    async def forget(self, key: ConversationKey) -> None:
        """Delete this conversation's history for real."""
        ...

    async def save_overrides(self, key: ConversationKey, overrides: dict[str, Any]) -> None:
        """Persist this chat's setting overrides (timing fields, persona, policies)."""
        ...

    async def save_rhythm(self, key: ConversationKey, author: str, rhythm: Rhythm) -> None:
        """Persist what was learned of one person's pace."""
        ...

    async def record_trace(self, key: ConversationKey, events: list[TraceEvent]) -> None:
        """Append timeline events (decisions, typing, parts sent and cancelled) for this conversation."""
        ...

    async def load_trace(self, key: ConversationKey, since: float = 0.0) -> list[TraceEvent]:
        """This conversation's timeline events from `since` on, in order."""
        ...


class Tracer(Protocol):
    """Receives what happened and why, for the timeline and the benchmarks."""

    def __call__(self, key: ConversationKey, kind: str, at: float, **data: Any) -> None:
        """Note one event."""
        ...
