"""Platform-neutral events that adapters translate platform updates into."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ConversationKey:
    """Which conversation: platform, chat, and thread or topic (empty when none)."""

    platform: str
    chat: str
    thread: str = ""

    def __str__(self) -> str:
        return f"{self.platform}:{self.chat}" + (f":{self.thread}" if self.thread else "")


@dataclass(frozen=True, slots=True)
class Author:
    """Who sent a message."""

    id: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class HumanMessage:
    """A human sent a message (text, and attachments described in words)."""

    key: ConversationKey
    message_id: str
    author: Author
    text: str
    attachments: tuple[str, ...] = ()
    is_group: bool = False
    addressed: bool = False
    at: float | None = None
    from_bot: bool = False  # the platform says another bot wrote it: context for the chat, never answered


@dataclass(frozen=True, slots=True)
class HumanEdit:
    """A human edited one of their messages."""

    key: ConversationKey
    message_id: str
    text: str
    at: float | None = None


@dataclass(frozen=True, slots=True)
class HumanDelete:
    """A human deleted one of their messages."""

    key: ConversationKey
    message_id: str
    at: float | None = None


@dataclass(frozen=True, slots=True)
class HumanTyping:
    """The platform says the human is typing; the signal lapses after `ttl` seconds."""

    key: ConversationKey
    author: Author
    ttl: float
    at: float | None = None


@dataclass(frozen=True, slots=True)
class Command:
    """A command for this conversation (reset, timing, persona, policy), already authorised or not."""

    key: ConversationKey
    author: Author
    name: str
    args: tuple[str, ...] = ()
    is_admin: bool = False
    is_group: bool = False
    reply_to: str | None = None
    at: float | None = None
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Nudge:
    """A long-horizon job asks the bot to text first (a follow-up, a double text); dropped if the human wrote."""

    key: ConversationKey
    reason: str
    note: str
    is_group: bool = False
    at: float | None = None


@dataclass(frozen=True, slots=True)
class TaskResult:
    """A background task finished: its result is for the conversation that started it, told once."""

    key: ConversationKey
    task_id: str
    task_kind: str  # not `kind`: the workers' hand-over names an event's type under that key
    result: str
    is_group: bool = False
    at: float | None = None


Event = HumanMessage | HumanEdit | HumanDelete | HumanTyping | Command | Nudge | TaskResult


def describe_attachments(kinds: tuple[str, ...]) -> str:
    """Attachments in words for the prompt: ("photo", "photo") → "[sent 2 photos]"."""
    if not kinds:
        return ""
    counts: dict[str, int] = {}
    for kind in kinds:
        counts[kind] = counts.get(kind, 0) + 1
    parts = [f"a {k}" if n == 1 else f"{n} {k}s" for k, n in counts.items()]
    return "[sent " + " and ".join(parts) + "]"
