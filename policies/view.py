"""The read-only picture of a conversation that every policy decides from."""

from __future__ import annotations

from dataclasses import dataclass, field

from policies.timing import Timing
from policies.turn_model import PersonRhythm

# What we know of one person's own pace: their finished turns' lengths and pauses.
Rhythm = PersonRhythm


@dataclass(frozen=True, slots=True)
class Said:
    """One human message as a policy sees it."""

    text: str
    at: float
    author: str = ""


@dataclass(frozen=True, slots=True)
class ConversationView:
    """Unanswered human messages, typing state and settings, as of one instant."""

    pending: tuple[Said, ...]
    timing: Timing = field(default_factory=Timing)
    typing_until: float | None = None
    has_typing_signal: bool = False
    is_group: bool = False
    addressed: bool = False
    rhythm: PersonRhythm = field(default_factory=PersonRhythm)
    new_since_reply: tuple[Said, ...] = ()

    @property
    def last_at(self) -> float | None:
        """When the newest unanswered message arrived."""
        return self.pending[-1].at if self.pending else None

    def burst(self) -> tuple[Said, ...]:
        """The newest author's unanswered messages: the burst the turn policy judges."""
        if not self.pending:
            return ()
        author = self.pending[-1].author
        return tuple(m for m in self.pending if m.author == author)

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
