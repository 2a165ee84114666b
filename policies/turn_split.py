"""Did the bot's reply land in the middle of their turn? Telling a turn it talked over from a new one (pure Python).

The rhythm learns a person's turns from the bursts the bot answers. When a reply shows while the person is
still writing, the rest of their turn reaches the bot as a new burst, and the rhythm would count one long
turn as two short ones: the person looks more finished than they are, exactly where the bot erred, and it
is answered early again. So when a message comes after a reply showed, we ask whether it still belongs to the
turn before: it does when it came back sooner after their previous message than this person usually takes
(their pace: the mean log of all their pauses), and sooner after the reply than a reaction to it would.
At the same share of quick answers it talks over a little less (Chit-Chat train split at 1x: 53.6% of
`fixed:3` against 56.7%); told the truth from the log instead, it would do no better (53.8%), nor would the
policy told each person's real past turns (`textbot bench turns --policy hindsight-past`: 53.9%). (That bound
first read 44.7%, which is why this was built: it was being told the turn it judged; see `bot.bench.hindsight`.)

The weights are a logistic fit on the Chit-Chat and synthetic train splits (first 150 conversations, gaps x0.25
and x1, the split not applied) of "this message is in the same log turn as the person's previous one",
`scripts/fit_turn_split.py`; it finds about half of those turns at 1x and takes 7-10% of new turns on
Chit-Chat at 1x for one. A replayed log cannot tell it all: its person writes at the logged instants whatever the
bot does, so a new turn may come right after the bot's reply (the log's partner had answered earlier); a
person who reads the reply first does not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from policies.rhythm import PersonRhythm

# bias, log(seconds since their previous message / their pace), log(seconds since the reply showed), log(1 + chars)
SPLIT_WEIGHTS: tuple[float, float, float, float] = (-1.681, -1.336, -0.292, 0.489)


def split_features(since_theirs: float, since_shown: float, chars: int, person: PersonRhythm) -> list[float] | None:
    """The test's inputs, in `SPLIT_WEIGHTS` order (None before the person's pace is known)."""
    if person.pace_gaps == 0:
        return None
    pace = math.exp(person.pace_log_sum / person.pace_gaps)
    return [1.0, math.log(max(since_theirs, 0.5) / pace), math.log(max(since_shown, 0.5)), math.log1p(chars)]


def carries_on(since_theirs: float, since_shown: float, chars: int, person: PersonRhythm,
               weights: Sequence[float] = SPLIT_WEIGHTS) -> bool:
    """Whether a message that came after the bot's reply showed still belongs to the person's previous turn."""
    features = split_features(since_theirs, since_shown, chars, person)
    return features is not None and sum(w * x for w, x in zip(weights, features, strict=True)) > 0
