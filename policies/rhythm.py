"""What the turn policy knows of one person's pace: their turns' lengths and their pauses (pure Python)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

MIN_GAP = 0.5  # log-gap floor: the corpus has one-second timestamps, so a 0 s pause means < 1 s
MAX_PACE_GAP = 1800.0  # longer pauses count as this much in the pace estimate
MAX_LEN = 6  # turn lengths are counted in buckets 1, 2, ..., MAX_LEN or more


@dataclass(frozen=True)
class PersonRhythm:
    """A person's texting rhythm: sufficient statistics over their finished turns and all their pauses.

    `observe_turn` may see the same burst again, grown (the bot started a reply, the person wrote again
    and the reply was redone): the grown burst replaces the turn counted before, and every message is
    counted once, so what is learned does not depend on how often the bot started.
    """

    length_counts: tuple[int, ...] = (0,) * MAX_LEN  # turns with 1, 2, ..., MAX_LEN+ messages
    messages: int = 0  # messages in their finished turns
    gaps: int = 0  # pauses between messages inside their turns
    log_gap_sum: float = 0.0
    last_turn_len: int = 0  # 0 before the first finished turn
    last_at: float = 0.0  # when their newest counted message was sent (meaningful once `messages` > 0)
    pace_gaps: int = 0  # pauses between any two of their consecutive messages, inside a turn or across
    pace_log_sum: float = 0.0  # sum of those pauses' logs, each clipped to [MIN_GAP, MAX_PACE_GAP]

    @property
    def turns(self) -> int:
        """Finished turns observed."""
        return sum(self.length_counts)

    def observe_turn(self, times: Sequence[float], went_on: bool = False) -> PersonRhythm:
        """Return the rhythm updated with one finished turn, given its message times.

        `went_on`: these messages carry on their previous turn (they were already writing when the bot's
        reply showed), so the two count as one turn.
        """
        seen = self.messages > 0
        new = [t for t in times if not seen or t > self.last_at]
        if not new:
            return self
        went_on = went_on and seen and times[0] > self.last_at
        grown = seen and (times[0] <= self.last_at or went_on)
        inner = ([self.last_at] if went_on else []) + list(times)
        logs = [math.log(max(b - a, MIN_GAP)) for a, b in itertools.pairwise(inner) if not seen or b > self.last_at]
        paced = [pace_log(b - a) for a, b in itertools.pairwise(([self.last_at] if seen else []) + new)]
        n = self.last_turn_len + len(new) if went_on else len(times) if grown else len(new)
        counts = list(self.length_counts)
        if grown and self.last_turn_len:
            counts[min(self.last_turn_len, MAX_LEN) - 1] -= 1
        counts[min(n, MAX_LEN) - 1] += 1
        return PersonRhythm(
            tuple(counts), self.messages + len(new), self.gaps + len(logs), self.log_gap_sum + sum(logs),
            last_turn_len=n, last_at=new[-1], pace_gaps=self.pace_gaps + len(paced),
            pace_log_sum=self.pace_log_sum + sum(paced),
        )

    def continue_rate(self, n: int, prior: Sequence[float], strength: float) -> float:
        """Shrunk P(a turn goes on after its n-th message) from this person's turn lengths."""
        b = min(n, MAX_LEN) - 1
        if b == MAX_LEN - 1:  # open-ended bucket: lengths beyond it are not counted
            return float(prior[b])
        reached = sum(self.length_counts[b:])
        went_on = reached - self.length_counts[b]
        return (went_on + strength * prior[b]) / (reached + strength)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict for storage."""
        return {**asdict(self), "length_counts": list(self.length_counts)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PersonRhythm:
        """Inverse of `to_dict`; missing keys take their defaults."""
        counts = ([int(c) for c in data.get("length_counts", ())] + [0] * MAX_LEN)[:MAX_LEN]
        def num(key: str) -> float:
            return float(data.get(key, 0.0))

        return cls(tuple(counts), int(num("messages")), int(num("gaps")), num("log_gap_sum"),
                   int(num("last_turn_len")), num("last_at"), int(num("pace_gaps")), num("pace_log_sum"))


def pace_log(gap: float) -> float:
    """A pause's log for the pace estimate, clipped so that a night's sleep counts as a long pause, no more."""
    return math.log(min(max(gap, MIN_GAP), MAX_PACE_GAP))
