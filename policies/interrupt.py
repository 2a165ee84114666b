"""Interruption policies: the human texted again while a reply was in flight. What now?"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from policies.turn import turn_policy
from policies.view import ConversationView, WaitUntil


@dataclass(frozen=True, slots=True)
class Revise:
    """Cancel the generation and every unsent part; answer everything unanswered afresh."""


@dataclass(frozen=True, slots=True)
class Finish:
    """Send what is queued as it is, then answer the new messages."""


@dataclass(frozen=True, slots=True)
class Defer:
    """Hold the unsent parts and look again at `until`."""

    until: float


@dataclass(frozen=True, slots=True)
class Relay:
    """Hand the new messages to the running reply session, which hears them and covers them too."""


@dataclass(frozen=True, slots=True)
class Acknowledge:
    """Send what is queued as it is; the new messages need no answer of their own (they count as answered)."""


InterruptDecision = Revise | Finish | Defer | Relay | Acknowledge

# Short reactions that do not change what the bot was about to say.
_ACK = re.compile(
    r"^\s*(ok(ay)?|k+|kk|lol+|lmao|haha+|hah|yeah|yep|ya|yes|sure|cool|nice|true|mhm|hm+|omg|wow|[!?.]+|"
    r"[\U0001F300-\U0001FAFF\u2600-\u27BF]+)\s*[!.]*\s*$",
    re.IGNORECASE,
)


class InterruptPolicy(Protocol):
    """Chooses what happens to in-flight work when new human text arrives."""

    @property
    def name(self) -> str:
        """The policy's name as chosen in settings and commands."""
        ...

    def decide(self, view: ConversationView, now: float, deferred_once: bool) -> InterruptDecision:
        """Revise, finish, or defer; `deferred_once` says the choice was already put off."""
        ...


@dataclass(frozen=True)
class AlwaysRevise:
    """The default: never let a part go out that the newest message made stale."""

    name: str = "revise"

    def decide(self, view: ConversationView, now: float, deferred_once: bool) -> InterruptDecision:
        """Revise."""
        return Revise()


@dataclass(frozen=True)
class AlwaysFinish:
    """Say what was planned, then answer the rest."""

    name: str = "finish"

    def decide(self, view: ConversationView, now: float, deferred_once: bool) -> InterruptDecision:
        """Finish."""
        return Finish()


def is_acknowledgement(text: str) -> bool:
    """Whether a message is a bare reaction ("lol", "ok", an emoji) that adds nothing to answer."""
    return bool(_ACK.match(text))


@dataclass(frozen=True)
class DeferThenJudge:
    """Hold the unsent parts until the human's new burst ends, then finish if it was only a reaction."""

    name: str = "defer"
    turn: str = "adaptive"

    def decide(self, view: ConversationView, now: float, deferred_once: bool) -> InterruptDecision:
        """Defer while the burst goes on; then finish after mere reactions, else revise."""
        if view.pending:
            waiting = turn_policy(self.turn).decide(view, now)
            if isinstance(waiting, WaitUntil):
                return Defer(waiting.at)
        new = view.new_since_reply
        if new and all(is_acknowledgement(m.text) for m in new):
            return Finish()
        return Revise()


@dataclass(frozen=True)
class AskTheJudge:
    """The fast model judges each interruption (the engine asks it); as a pure rule, and whenever the
    model gives no usable answer in time, it decides as `defer` does."""

    name: str = "judge"

    def decide(self, view: ConversationView, now: float, deferred_once: bool) -> InterruptDecision:
        """The `defer` rule."""
        return DeferThenJudge().decide(view, now, deferred_once)


_FACTORIES: dict[str, Callable[[], InterruptPolicy]] = {
    "revise": AlwaysRevise,
    "finish": AlwaysFinish,
    "defer": DeferThenJudge,
    "judge": AskTheJudge,
}

INTERRUPT_POLICIES = tuple(_FACTORIES)


def interrupt_policy(name: str) -> InterruptPolicy:
    """The interruption policy called `name`."""
    if name not in _FACTORIES:
        raise ValueError(f"unknown interrupt policy {name!r}; choose from {', '.join(INTERRUPT_POLICIES)}")
    return _FACTORIES[name]()
