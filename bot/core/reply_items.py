"""What a reply session's job passes around: queued parts, its inbox items for the actor, its outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.core.clock import Clock
from bot.core.outbox import Delivered, Outbox
from bot.core.ports import Done, Hold, Responder, ResponderFailed, StaySilent, Tracer
from bot.pacing import Pacing

if TYPE_CHECKING:
    from bot.core.reply import ReplyJob

CONTINUE_NOTE = (
    "You were cut off in the middle of your last reply (your phone died). You had already sent: {sent}. "
    "Text the rest of what you meant to say, without repeating it; if nothing is left, say something short "
    "and natural to pick the conversation back up."
)


def continuation_note(sent: tuple[str, ...]) -> str:
    """The instruction for finishing a reply a crash cut short, after `sent` went out."""
    return CONTINUE_NOTE.format(sent=" / ".join(f'"{text}"' for text in sent))


@dataclass(frozen=True, slots=True)
class QueuedPart:
    """A Say waiting to be typed and sent, numbered in the order the session said it."""

    number: int
    text: str
    guarded: bool = False


@dataclass(frozen=True, slots=True)
class QueuedChange:
    """An Edit (new text) or Unsend (None) waiting its turn behind the parts before it."""

    part: int
    text: str | None  # None: unsend


@dataclass(frozen=True, slots=True)
class SessionEnd:
    """How the session ended (and whether the model failed)."""

    how: Done | StaySilent | Hold
    failure: ResponderFailed | None = None


def _future() -> asyncio.Future[None]:
    """A future on the running loop."""
    return asyncio.get_running_loop().create_future()


@dataclass(frozen=True, slots=True)
class PartDelivered:
    """Inbox item: a part of `job` reached the human; `recorded` resolves once the actor stored it."""

    job: ReplyJob
    delivered: Delivered
    recorded: asyncio.Future[None] = field(default_factory=_future)


@dataclass(frozen=True, slots=True)
class PartChanged:
    """Inbox item: a delivered part was edited (`text`) or taken back (`text` None)."""

    part_id: str
    text: str | None


@dataclass(frozen=True, slots=True)
class JobEnded:
    """Inbox item: `job` is over (finished, failed or stopped)."""

    job: ReplyJob


@dataclass
class ReplyOutcome:
    """What a finished (or stopped) reply did."""

    delivered: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    failure: ResponderFailed | None = None
    stop_reason: str | None = None
    silent: bool = False
    hold_until: float | None = None


@dataclass
class ReplyContext:
    """What a reply needs from its conversation."""

    clock: Clock
    responder: Responder
    outbox: Outbox
    pacing: Pacing
    trace: Tracer
    post: Callable[[PartDelivered | PartChanged | JobEnded], None]
