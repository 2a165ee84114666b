"""The read-only picture of a conversation that every policy decides from."""

from __future__ import annotations

from dataclasses import dataclass, field

from policies.timing import Timing


@dataclass(frozen=True, slots=True)
class Said:
    """One human message as a policy sees it."""

    text: str
    at: float


@dataclass(frozen=True, slots=True)
class Rhythm:
    """What we know of one person's own pace: gaps inside their bursts and how often they burst."""

    gaps: tuple[float, ...] = ()
    turns: int = 0
    multi_turns: int = 0


@dataclass(frozen=True, slots=True)
class ConversationView:
    """Unanswered human messages, typing state and settings, as of one instant."""

    pending: tuple[Said, ...]
    timing: Timing = field(default_factory=Timing)
    typing_until: float | None = None
    has_typing_signal: bool = False
    is_group: bool = False
    addressed: bool = False
    rhythm: Rhythm = field(default_factory=Rhythm)
    new_since_reply: tuple[Said, ...] = ()

    @property
    def last_at(self) -> float | None:
        """When the newest unanswered message arrived."""
        return self.pending[-1].at if self.pending else None

    def human_typing(self, now: float) -> bool:
        """Whether the human is typing right now, as far as the platform tells."""
        return self.typing_until is not None and self.typing_until > now


@dataclass(frozen=True, slots=True)
class Respond:
    """Answer now."""


@dataclass(frozen=True, slots=True)
class WaitUntil:
    """Look again at `at` (or sooner, if something happens)."""

    at: float


@dataclass(frozen=True, slots=True)
class Ignore:
    """Do not answer these messages (a group chat not addressed to the bot)."""

    reason: str


TurnDecision = Respond | WaitUntil | Ignore
