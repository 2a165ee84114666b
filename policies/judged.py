"""What the fast model's choices mean for a conversation (pure: the model is asked elsewhere).

Seed 000: when the human texts again while the bot is answering, the right reaction (restart, ignore it,
answer it after, wait) depends on what they said. The `judge` policies let a fast model choose; these
functions turn its choice into the engine's decision, and keep the rules it falls back on.
"""

from __future__ import annotations

from collections.abc import Sequence

from policies.interrupt import Acknowledge, Defer, DeferThenJudge, Finish, InterruptDecision, Relay, Revise
from policies.timing import Timing
from policies.turn import TurnPolicy
from policies.view import ConversationView, WaitUntil

# The tools' `choice` values, in the order the prompt explains them.
INTERRUPT_CHOICES = ("restart", "ignore", "continue", "defer", "relay")
GROUP_CHOICES = ("respond", "ignore")
HOUR = 3600.0


def defer_rule(view: ConversationView, now: float, deferred_once: bool) -> InterruptDecision:
    """Today's `defer` rule: what the judge policy does when the fast model gives no usable answer."""
    return DeferThenJudge().decide(view, now, deferred_once)


def judged_interruption(
    choice: str, view: ConversationView, now: float, turn: TurnPolicy, *, listens: bool, again: bool,
    deferred_once: bool = False,
) -> tuple[InterruptDecision, bool]:
    """The decision for the model's `choice`, and whether it is the model's (False: the defer rule's).

    restart → Revise; ignore → Acknowledge; continue → Finish; relay → Relay when the reply session
    listens; defer → Defer until the turn policy's next look while the human's new burst goes on. A
    defer when the burst is already over, or asked `again` after a defer, and a relay to a session that
    does not listen, fall back to the defer rule.
    """
    if choice == "restart":
        return Revise(), True
    if choice == "ignore":
        return Acknowledge(), True
    if choice == "continue":
        return Finish(), True
    if choice == "relay" and listens:
        return Relay(), True
    if choice == "defer" and not again:
        waiting = turn.decide(view, now)
        if isinstance(waiting, WaitUntil):
            return Defer(waiting.at), True
    return defer_rule(view, now, deferred_once), False


def unsolicited_refusal(sent: Sequence[float], now: float, timing: Timing) -> str | None:
    """Why the bot may not join a group unasked now (cooldown, hourly cap), or None when it may.

    `sent` holds when it last joined in unasked in this group (any order).
    """
    recent = [at for at in sent if now - at < HOUR]
    if len(recent) >= timing.group_max_per_hour:
        return f"hourly cap: {len(recent)} unasked replies in the last hour (max {timing.group_max_per_hour})"
    if recent and now - max(recent) < timing.group_cooldown:
        return f"cooldown: joined in {now - max(recent):.0f} s ago (cooldown {timing.group_cooldown:g} s)"
    return None
