"""`bench turns --policy hindsight[:T]` / `hindsight-past[:T]`: `adaptive` told each person's habits (bounds).

The learned policy reads a person's habits as the chat goes: their turn lengths and pauses, counted from the
bursts the bot saw (a reply that talked over them splits one of their turns in two, so what it learns is
skewed exactly where it erred). `hindsight` is the same model and rule given, from their first message, the
rhythm of the person's whole logged side of the conversation, counted on their real turns (the turn it judges
among them); `hindsight-past` is given only their real turns that ended before the burst it judges (what a
perfect talk-over detector would learn). The turn the burst starts is never among those, even when the
engine's clock reads its first message a hair after the log's time: before that was checked it was, in 42% of
the decisions on Chit-Chat, and the bound looked far better than it is. Neither is a policy a bot can run (they
know the log); they show how much better reading people could do with this model: if even they miss a target,
learning habits faster or without the skew cannot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from bot.bench.log import LogConversation, group_turns
from policies.turn import Adaptive, TurnPolicy
from policies.turn_model import PersonRhythm
from policies.view import ConversationView, TurnDecision

PREFIX = "hindsight"
PAST = "hindsight-past"  # only their turns that ended before the burst: a perfect talk-over detector
# The engine's clock can read a hair past a message's log time (the replay adds an offset to every time), so
# "ended before the burst" is asked with this margin: the turn the burst starts is never among them.
SAME_INSTANT = 1e-3


def whole_rhythm(conv: LogConversation, person: str, before: float = math.inf) -> PersonRhythm:
    """The person's rhythm from every one of their logged turns (that ended before `before`)."""
    rhythm = PersonRhythm()
    for turn in group_turns(conv.messages):
        if turn[0].author == person and turn[-1].ts < before:
            rhythm = rhythm.observe_turn([m.ts for m in turn])
    return rhythm


def past_rhythm(conv: LogConversation, person: str, burst_start: float) -> PersonRhythm:
    """The person's rhythm from their logged turns that ended before the burst that starts at `burst_start`."""
    return whole_rhythm(conv, person, before=burst_start - SAME_INSTANT)


@dataclass(frozen=True)
class PastTurns:
    """`adaptive` deciding with the rhythm of the person's real turns so far (as a perfect talk-over detector would)."""

    conv: LogConversation
    person: str
    threshold: float | None = None
    name: str = PAST

    def decide(self, view: ConversationView, now: float) -> TurnDecision:
        """Decide as `adaptive` would on the rhythm of their logged turns that ended before this burst."""
        burst = view.burst()
        if not burst:
            return Adaptive(self.threshold, self.name).decide(view, now)
        known = past_rhythm(self.conv, self.person, burst[0].at)
        return Adaptive(self.threshold, self.name).decide(replace(view, rhythm=known), now)


@dataclass(frozen=True)
class Hindsight:
    """`adaptive` (or `adaptive:THRESHOLD`) deciding with the person's whole rhythm instead of what it learned."""

    rhythm: PersonRhythm
    threshold: float | None = None
    name: str = PREFIX

    def decide(self, view: ConversationView, now: float) -> TurnDecision:
        """Decide as `adaptive` would on the whole rhythm (its pace read from their pauses, the burst's own)."""
        burst = view.burst()
        # the burst's own pauses still count toward their pace: the rhythm "last saw" its first message
        known = replace(self.rhythm, last_at=burst[0].at) if burst else self.rhythm
        return Adaptive(self.threshold, self.name).decide(replace(view, rhythm=known), now)


def is_hindsight(policy: str) -> bool:
    """Whether `policy` names the hindsight bound."""
    return policy.partition(":")[0] in (PREFIX, PAST)


def hindsight_policy(policy: str, conv: LogConversation, person: str) -> TurnPolicy:
    """`hindsight[-past][:THRESHOLD]` for this person of this conversation; ValueError for a bad number."""
    base, colon, arg = policy.partition(":")
    threshold = float(arg) if colon else None
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise ValueError("the hindsight threshold must be between 0 and 1 (hindsight:THRESHOLD)")
    if base == PAST:
        return PastTurns(conv, person, threshold, policy)
    return Hindsight(whole_rhythm(conv, person), threshold, policy)
