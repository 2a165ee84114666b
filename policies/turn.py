"""Turn policies: when is the human done, so the bot can answer? Pure functions of a view and now."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Protocol

from policies.numbers import parse_bounded
from policies.turn_model import TurnEndModel
from policies.turn_risk import default_wait
from policies.view import ConversationView, Respond, TurnDecision, WaitUntil

TYPING_GRACE_SHARE = 0.5  # with typing signals, the grace after a message is half the debounce

# Endings that promise more is coming: the human is mid-thought.
_CONTINUES = re.compile(
    r"(,|\.\.\.|…|:|-|\b(and|but|or|so|like|because|cause|cuz|bc|then|also|plus|the|a|to|if|when|i|my))\s*$",
    re.IGNORECASE,
)
# Endings that hand the turn over: a question or a clear close.
_HANDS_OVER = re.compile(r"(\?+|!+|\b(thanks|thx|ty|bye|night|gn|lol|haha+|ok|okay)\b)\s*$", re.IGNORECASE)


class TurnPolicy(Protocol):
    """Decides, from a view of the conversation and the current instant, whether to answer yet."""

    @property
    def name(self) -> str:
        """The policy's name as chosen in settings and commands."""
        ...

    def decide(self, view: ConversationView, now: float) -> TurnDecision:
        """Respond now, wait until some instant, or ignore."""
        ...


def capped(view: ConversationView, now: float, decision: TurnDecision) -> TurnDecision:
    """Never wait past `max_wait` after the newest unanswered message."""
    if not isinstance(decision, WaitUntil) or view.last_at is None:
        return decision
    cap = view.last_at + view.timing.max_wait
    if now >= cap or decision.at <= now:
        return Respond()
    return WaitUntil(min(decision.at, cap))


@dataclass(frozen=True)
class Immediate:
    """Baseline: answer every message at once."""

    name: str = "immediate"

    def decide(self, view: ConversationView, now: float) -> TurnDecision:
        """Always respond."""
        return Respond()


@dataclass(frozen=True)
class Fixed:
    """Baseline: answer after a fixed quiet period (the chat's debounce unless one is given)."""

    seconds: float | None = None
    name: str = "fixed"

    def decide(self, view: ConversationView, now: float) -> TurnDecision:
        """Wait `seconds` after the newest message."""
        assert view.last_at is not None
        wait = view.timing.debounce if self.seconds is None else self.seconds
        return capped(view, now, WaitUntil(view.last_at + wait))


def cue_factor(text: str) -> float:
    """How much longer than usual to wait, judging by how the last message ends."""
    stripped = text.strip()
    if _CONTINUES.search(stripped):
        return 2.5
    if _HANDS_OVER.search(stripped):
        return 0.5
    return 1.0


@lru_cache(maxsize=1)
def learned_model() -> TurnEndModel:
    """The shipped turn-end model (loaded once)."""
    return TurnEndModel.load()


def learned_wait(view: ConversationView, threshold: float | None) -> float:
    """Seconds after the newest message to wait: at least the chat's debounce, longer while more is likely.

    With a threshold, the model's P(more | silence) must fall below it within `debounce` seconds for a
    quick answer; otherwise the bot holds until it falls below a stricter bar (the model's wait rule).
    Without one, the default rule (`policies.turn_risk`) also weighs when the bot's reply would land.
    """
    model = learned_model()
    burst = view.burst()
    prediction = model.predict([m.text for m in burst], [m.at for m in burst], view.rhythm)
    debounce = view.timing.debounce
    rule = replace(model.rule, fast_window=debounce, min_wait=debounce)
    if threshold is None:
        return default_wait(prediction, model, rule)
    return prediction.wait_seconds(threshold, rule)


def wait_after_burst(view: ConversationView, now: float, wait: float) -> TurnDecision:
    """Hold while the human is typing; otherwise wait `wait` seconds after the newest message (capped)."""
    assert view.last_at is not None
    if view.human_typing(now):
        assert view.typing_until is not None
        return capped(view, now, WaitUntil(view.typing_until))
    return capped(view, now, WaitUntil(view.last_at + wait))


@dataclass(frozen=True)
class Typing:
    """Hold while the human is typing; otherwise half the debounce, scaled by how the last message ends."""

    name: str = "typing"

    def decide(self, view: ConversationView, now: float) -> TurnDecision:
        """Wait out a live typing indicator, then a cue-scaled grace period."""
        grace = view.timing.debounce * TYPING_GRACE_SHARE * cue_factor(view.pending[-1].text)
        return wait_after_burst(view, now, grace)


@dataclass(frozen=True)
class Adaptive:
    """The learned turn-end model (text cues, the burst so far, the person's own rhythm); typing holds it."""

    threshold: float | None = None
    name: str = "adaptive"

    def decide(self, view: ConversationView, now: float) -> TurnDecision:
        """Wait until the model finds more messages unlikely, or while the human is typing."""
        return wait_after_burst(view, now, learned_wait(view, self.threshold))


@dataclass(frozen=True)
class TurnKind:
    """How one turn policy is named and built: `fixed`, or `fixed:SECONDS` when it takes a number."""

    build: Callable[[float | None, str], TurnPolicy]  # (the number after the colon or None, the full name)
    number: tuple[float, float, str] | None = None  # (low, high, message) when it takes a number

    def parse(self, base: str, arg: str | None) -> float | None:
        """The number after the colon, checked; ValueError with a message a person can act on."""
        if arg is None:
            return None
        if self.number is None:
            raise ValueError(f"{base} takes no value (just {base})")
        low, high, message = self.number
        return parse_bounded(arg, low, high, message)


_KINDS: dict[str, TurnKind] = {
    "immediate": TurnKind(lambda value, name: Immediate(name)),
    "fixed": TurnKind(lambda value, name: Fixed(value, name),
                      (0.0, 120.0, "the fixed wait must be between 0 and 120 seconds (fixed:SECONDS)")),
    "typing": TurnKind(lambda value, name: Typing(name)),
    "adaptive": TurnKind(lambda value, name: Adaptive(value, name),
                         (0.0, 1.0, "the adaptive threshold must be between 0 and 1 (adaptive:THRESHOLD)")),
    "duplex": TurnKind(lambda value, name: _duplex(name)),
}


def _duplex(name: str) -> TurnPolicy:
    from policies.duplex import Duplex  # it builds on `adaptive` from this module

    return Duplex(name)

TURN_POLICIES = tuple(_KINDS)


def turn_policy(name: str) -> TurnPolicy:
    """The turn policy called `name` (`fixed:3` gives a fixed 3-second wait); ValueError when it cannot be."""
    text = name.strip()
    base, colon, arg = text.partition(":")
    kind = _KINDS.get(base)
    if kind is None:
        raise ValueError(f"unknown turn policy {name!r}; choose from {', '.join(TURN_POLICIES)}")
    return kind.build(kind.parse(base, arg if colon else None), text)
