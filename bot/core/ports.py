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


class CannotChange(Exception):
    """The platform will not edit or delete this message (too old, not ours, gone)."""


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

    async def edit(self, key: ConversationKey, platform_id: str, text: str) -> None:
        """Change the text of a message this bot sent; raise CannotChange where the platform refuses."""
        ...

    async def delete(self, key: ConversationKey, platform_id: str) -> None:
        """Take back a message this bot sent; raise CannotChange where the platform refuses."""
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
    max_wait: float = 40.0  # the chat's cap on waiting (a session's `check` waits no longer than this)
    key: ConversationKey | None = None  # the conversation (tools that remember or start tasks file under it)
    people: tuple[str, ...] = ()  # author ids of the unanswered messages, in order of their first message
    addressed: bool = False  # a group message among them calls the bot by name or answers it


@dataclass(frozen=True, slots=True)
class Say:
    """Send this text as one message; its Receipt (numbered by the order of the Says) comes back in the feed.

    A `guarded` Say is withheld (its receipt says why) if the human writes before it is on the wire: the
    session heard nothing of it when it decided to say this.
    """

    text: str
    guarded: bool = False


@dataclass(frozen=True, slots=True)
class Typing:
    """Show "typing…" (the session is composing) or stop showing it."""

    on: bool


@dataclass(frozen=True, slots=True)
class Edit:
    """Change a part this session already delivered (`part` is its number: 0 for the first Say)."""

    part: int
    text: str


@dataclass(frozen=True, slots=True)
class Unsend:
    """Take back a part this session already delivered."""

    part: int


@dataclass(frozen=True, slots=True)
class Hold:
    """End without answering: the messages stay pending and the turn is decided again at `until`."""

    until: float


@dataclass(frozen=True, slots=True)
class StaySilent:
    """Say nothing to this: what the session covers counts as answered."""


@dataclass(frozen=True, slots=True)
class Done:
    """The session has said all it wanted to."""


Intent = Say | Typing | Edit | Unsend | Hold | StaySilent | Done


@dataclass(frozen=True, slots=True)
class Receipt:
    """What became of a Say: delivered (with its platform id) or withheld (and why)."""

    part: int
    delivered: bool
    text: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class NewMessages:
    """The human wrote again while the session ran; relayed to it, so the session now covers these too."""

    lines: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class MessageChanged:
    """A message the session covers was edited (`text`) or deleted (`text` is None)."""

    message_id: str
    text: str | None


@dataclass(frozen=True, slots=True)
class TypingSeen:
    """The human is typing (until `until`, when the signal lapses)."""

    until: float


@dataclass(frozen=True, slots=True)
class TaskFinished:
    """A background task this conversation started has its result (told to a running session once)."""

    task_id: str
    kind: str
    result: str
    at: float

    @property
    def lines(self) -> tuple[Line, ...]:
        """The result as a session hears it: a line from "task" beside the human's new messages."""
        return (Line("human", f"[{self.kind} task {self.task_id} finished] {self.result}", self.at, "task"),)


Heard = NewMessages | MessageChanged | TypingSeen | Receipt | TaskFinished


class SessionFeed(Protocol):
    """The engine's side of a reply session: what the responder hears while it runs."""

    def take(self) -> list[Heard]:
        """Everything heard since the last take (or wait), without waiting."""
        ...

    async def wait(self, seconds: float) -> list[Heard]:
        """Wait up to `seconds` for something to be heard; return everything heard since the last take."""
        ...

    async def receipt(self, part: int) -> Receipt:
        """Wait until Say number `part` was delivered or withheld."""
        ...

    def note(self, kind: str, **data: Any) -> None:
        """Put what the session did (a draft step, a check, a refusal) on the conversation's timeline."""
        ...


class Responder(Protocol):
    """The LLM side of a reply session: hears the chat through `feed` and yields intents.

    A responder whose class sets `listens = True` wants new messages relayed into its running session
    (it decides itself what they change) instead of being stopped and asked again.
    """

    def reply(self, request: ReplyRequest, feed: SessionFeed) -> AsyncIterator[Intent]:
        """Yield intents until done; raise ResponderFailed when the model cannot be reached."""
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
    cut_short: CutShortReply | None = None


@dataclass(frozen=True, slots=True)
class CutShortReply:
    """A reply the process died in: started, at least one part delivered, never ended."""

    reply_id: str
    delivered: tuple[str, ...]  # the texts of its parts that were sent (or may have been: unconfirmed)
    covers: tuple[str, ...]


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

    async def plan_part(
        self, key: ConversationKey, part_id: str, text: str, at: float, kind: str = "reply", reply_id: str = ""
    ) -> None:
        """Record a part about to be sent; `kind` "reply" or "line" joins history once sent, "command" never."""
        ...

    async def part_sent(self, key: ConversationKey, part_id: str, platform_id: str, at: float) -> None:
        """Record that a planned part was delivered."""
        ...

    async def part_cancelled(self, key: ConversationKey, part_id: str, reason: str) -> None:
        """Record that a planned part will never be sent."""
        ...

    async def part_edited(self, key: ConversationKey, part_id: str, text: str, at: float) -> None:
        """A sent part now reads `text` (history shows the new text)."""
        ...

    async def part_unsent(self, key: ConversationKey, part_id: str, at: float) -> None:
        """A sent part was taken back: it leaves the history."""
        ...

    async def reply_started(self, key: ConversationKey, reply_id: str, covers: list[str], at: float) -> None:
        """A reply session began, answering these human messages."""
        ...

    async def reply_ended(self, key: ConversationKey, reply_id: str, at: float) -> None:
        """A reply session ended (finished, stopped or failed): nothing of it is left to finish."""
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
