"""The `duplex` turn policy (seed 002): when the fast model is worth asking whether the human is done.

While the human may still be going, the fast model is shown the burst followed by one `<|silence|>`
token per `silence_tick` of quiet and predicts both what they will still say and the reply. This pure
part decides *when* to ask: not while the learned turn-end model is confident more is coming (its
P(more) above `ASK_BELOW`, even odds), then at the first tick where it is not, and after each "not done"
once that P(more) has halved, never more than `duplex_max_calls` times per turn. Without a fast model, in a group,
or once the calls are spent, it decides exactly as `adaptive`; `max_wait` caps everything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from policies.turn import Adaptive, capped, learned_model
from policies.view import ConversationView, Respond, TurnDecision, WaitUntil

SILENCE = "<|silence|>"
# P(more | silence) from the turn-end model above which asking is wasted: the human is clearly still going.
ASK_BELOW = 0.5
REASK_SHARE = 0.5  # after "not done", ask again once the turn-end model's P(more) has halved
_EPSILON = 1e-9  # a timer set at a tick's instant reads that tick, despite float rounding


@dataclass(frozen=True, slots=True)
class Ask:
    """Ask the fast model now, with this many silence ticks after the burst."""

    ticks: int


DuplexStep = Ask | TurnDecision


def silence_ticks(view: ConversationView, now: float) -> int:
    """Whole `silence_tick`s of quiet since the newest unanswered message."""
    if view.last_at is None:
        return 0
    return max(0, math.floor((now - view.last_at) / view.timing.silence_tick + _EPSILON))


def with_silence(text: str, ticks: int) -> str:
    """The burst as the fast model reads it: the text, then one space-separated token per tick."""
    return " ".join([text, *([SILENCE] * ticks)]) if ticks else text


def _tick_at_or_after(seconds: float, tick: float) -> int | None:
    """The first whole tick at or after `seconds` of silence (None: never)."""
    if not math.isfinite(seconds):
        return None
    return max(0, math.ceil(seconds / tick - _EPSILON))


def asking_ticks(view: ConversationView, asked: tuple[int, ...]) -> int | None:
    """The tick of the next request for this burst (None: the turn-end model never allows one).

    The first comes once the turn-end model's P(more) is at most `ASK_BELOW`; after each "not done" the
    next waits until P(more) has fallen to `REASK_SHARE` of what it was at the previous request: more
    silence has to say something new before another request is worth its cost.
    """
    burst = view.burst()
    prediction = learned_model().predict([m.text for m in burst], [m.at for m in burst], view.rhythm)
    tick = view.timing.silence_tick
    if not asked:
        return _tick_at_or_after(prediction.first_below(ASK_BELOW), tick)
    then = min(ASK_BELOW, prediction.p_more(asked[-1] * tick))
    due = _tick_at_or_after(prediction.first_below(then * REASK_SHARE), tick)
    return None if due is None else max(asked[-1] + 1, due)


@dataclass(frozen=True)
class Duplex:
    """Seed 002: the fast model predicts the rest of the turn and drafts the reply; see the module's doc."""

    name: str = "duplex"

    def decide(self, view: ConversationView, now: float) -> TurnDecision:
        """Without a fast model's prediction: the `adaptive` decision (typing holds, max_wait caps)."""
        return Adaptive().decide(view, now)

    def step(self, view: ConversationView, now: float, calls: int, asked: tuple[int, ...]) -> DuplexStep:
        """Ask now, wait until the next tick worth asking at, or (no calls left) decide as `adaptive`.

        `calls` are the requests made in this turn, `asked` the ticks asked for the burst as it is now.
        """
        if view.last_at is None or now >= view.last_at + view.timing.max_wait:
            return Respond()  # the normal reply path answers
        if view.human_typing(now):
            assert view.typing_until is not None
            return capped(view, now, WaitUntil(view.typing_until))
        due = asking_ticks(view, asked)
        if calls >= view.timing.duplex_max_calls or due is None:
            return self.decide(view, now)
        if silence_ticks(view, now) >= due:
            return Ask(silence_ticks(view, now))
        return capped(view, now, WaitUntil(view.last_at + due * view.timing.silence_tick))
