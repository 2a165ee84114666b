"""Training examples as the bot meets them: bursts that run on when the bot answers too late, at many paces.

A log turn is what the person meant as one turn. The bot sees something else: its unanswered messages.
When the person's next turn starts before the bot's answer would have gone out, the two turns reach
the bot as one burst, and the person's rhythm is learned from those bursts. Training on log turns
alone taught the model a world where that never happens; on fast chats it happens all the time.
So every conversation of the train split is replayed at a time scale drawn log-uniformly from
`SCALES` (the same people, faster or slower) against a stand-in bot that answers `ANSWER_AFTER`
seconds after each turn's last message (the debounce, the model's latency and typing one part).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from bot.bench.log import LogConversation, LogMessage, scale_time
from policies.rhythm import PersonRhythm

ANSWER_AFTER = 8.5
SCALES = (0.25, 4.0)


@dataclass(frozen=True)
class BurstStep:
    """One message as the bot judges it: the burst so far, the person's rhythm, and what really came next."""

    burst: list[LogMessage]
    person: PersonRhythm
    ends_turn: bool  # the last message of its log turn
    next_gap: float | None  # seconds to the next message of its log turn (None when it ends the turn)


def scaled(conv: LogConversation, seed: int, scales: tuple[float, float] = SCALES) -> LogConversation:
    """The conversation at a pace drawn log-uniformly from `scales`, the same for a given id and seed."""
    rng = random.Random(f"{seed}:{conv.conv_id}")
    low, high = scales
    return scale_time(conv, math.exp(rng.uniform(math.log(low), math.log(high))))


def iter_bursts(convs: Sequence[LogConversation], answer_after: float = ANSWER_AFTER) -> Iterator[BurstStep]:
    """Every message of every conversation, each author in turn as the person the bot answers."""
    for conv in convs:
        turns = conv.turns()
        for author in conv.authors:
            own = [t for t in turns if t[0].author == author]
            yield from _person_bursts(own, answer_after)


def _person_bursts(turns: list[list[LogMessage]], answer_after: float) -> Iterator[BurstStep]:
    person = PersonRhythm()
    burst: list[LogMessage] = []
    for k, turn in enumerate(turns):
        for i, m in enumerate(turn):
            burst.append(m)
            last = i == len(turn) - 1
            yield BurstStep(list(burst), person, last, None if last else turn[i + 1].ts - m.ts)
        comes_back = turns[k + 1][0].ts if k + 1 < len(turns) else math.inf
        if comes_back > turn[-1].ts + answer_after:  # the answer went out first: the bot saw a turn
            person = person.observe_turn([m.ts for m in burst])
            burst = []
