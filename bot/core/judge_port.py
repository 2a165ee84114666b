"""The port to the fast model that makes the small decisions (seed 000): what a question shows it, what it rules."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

from bot.core.events import ConversationKey
from bot.core.ports import Line

UNSOLICITED_KEPT = 64  # per group: more than any hourly cap can use


@dataclass(frozen=True, slots=True)
class Ruling:
    """The fast model's choice and its one-line reason."""

    choice: str
    reason: str = ""


class NoRuling(Exception):
    """The fast model gave no usable answer: the message says why (timeout, error, malformed)."""


@dataclass(frozen=True, slots=True)
class InterruptionQuestion:
    """The human wrote while a reply was going out: everything the fast model weighs."""

    persona: str  # who the bot is (its persona's name)
    history: tuple[Line, ...]  # what was said before the reply in flight
    answering: tuple[Line, ...]  # the human's messages the reply in flight answers
    delivered: tuple[str, ...]  # what of this reply the human has already seen
    unsent: tuple[str, ...]  # the parts written but held back since the new input arrived
    new: tuple[Line, ...]  # what the human wrote since
    can_relay: bool = False  # the running reply session listens and could take the new messages in
    again: bool = False  # asked again after a defer: the human's new burst is over


@dataclass(frozen=True, slots=True)
class GroupQuestion:
    """Messages in a group that do not address the bot: should it join in?"""

    persona: str
    history: tuple[Line, ...]
    new: tuple[Line, ...]


class Judge(Protocol):
    """A fast model that answers one small question with one forced tool call."""

    async def decide_interruption(self, question: InterruptionQuestion, timeout: float) -> Ruling:
        """`decide_interruption(choice, reason)`: restart, ignore, continue, defer or relay.

        Raise NoRuling (saying why) when there is no usable answer within `timeout` seconds.
        """
        ...

    async def decide_group(self, question: GroupQuestion, timeout: float) -> Ruling:
        """`decide_group(choice, reason)`: respond or ignore; NoRuling as above."""
        ...


@dataclass
class UnsolicitedReplies:
    """When the bot last joined each group unasked, shared by a platform's actors (an actor may be released)."""

    sent: dict[ConversationKey, deque[float]] = field(default_factory=dict)

    def of(self, key: ConversationKey) -> tuple[float, ...]:
        """This group's unasked replies, oldest first."""
        return tuple(self.sent.get(key, ()))

    def note(self, key: ConversationKey, at: float) -> None:
        """The bot joins this group unasked at `at`."""
        self.sent.setdefault(key, deque(maxlen=UNSOLICITED_KEPT)).append(at)
