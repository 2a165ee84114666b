"""The default `adaptive` rule: a quick answer only when, *at the bot's own speed*, it will not land mid-turn.

Every time the turn-end model sees is read at the person's pace, so "is more coming?" is asked the same
way of a fast and of a slow texter. But the bot's reply is not paced by them: its first part shows about
`REPLY_LEAD` seconds after it decides, whoever it answers. For a slow texter the same 2.5 s of quiet leaves
a long stretch in which their next message can still come *after* that part (a talk-over); for a fast one a
message that is still coming mostly comes before it (the reply is redone: a wasted request, not a
talk-over). So the quick answer now needs two things:

- the model's own test (P(more) at the person's pace at most `QUICK_THRESHOLD`), and
- the risk of answering now, in seconds as they are, at most `RISK_LIMIT`:
  P(more, and after the first part shows) + `WASTE_WEIGHT` x P(more, before it shows), given the quiet so far.

Otherwise the bot holds as before (until P(more) falls to the threshold times the model's hold factor).
"""

from __future__ import annotations

import math
from statistics import NormalDist

from policies.turn_model import TurnEndModel, TurnEndPrediction, WaitRule

# Seconds from the decision to the first part showing: the benchmark's medians on the Chit-Chat train split at
# 1x (first part 9.5 s after the person's last message, decision 2.5 s), stand-in model (1 s), sunny's typing.
REPLY_LEAD = 7.0
# Chosen on the Chit-Chat and synthetic *train* splits at gap scales 0.25-2 (`textbot bench turns --split
# train --limit 150`), the rhythm counting a turn the bot talked over as one (`policies.turn_split`): the lowest
# talk-over that keeps at least 52% of the turns answered within 3 s at every scale. (The trainer's own
# `default_threshold`, 0.38, was picked on log turns, where no reply ever splits one.)
WASTE_WEIGHT = 0.3  # a request thrown away counts this much of a talk-over
QUICK_THRESHOLD = 0.40
RISK_LIMIT = 0.34


def answer_risk(prediction: TurnEndPrediction, silence: float, lead: float = REPLY_LEAD) -> float:
    """After `silence` seconds of quiet, the cost of answering now: P(talk-over) + WASTE_WEIGHT x P(wasted request)."""
    if silence <= 0:
        return 1.0 - prediction.p_end
    gaps = NormalDist(prediction.mu, prediction.sigma)
    still = 1.0 - gaps.cdf(math.log(silence))  # the next message, if any, comes later than now
    after = 1.0 - gaps.cdf(math.log(silence + lead))  # ... later than the reply's first part
    cont = 1.0 - prediction.p_end
    quiet = prediction.p_end + cont * still
    if quiet <= 0:
        return 0.0
    return cont * (after + WASTE_WEIGHT * (still - after)) / quiet


def default_wait(prediction: TurnEndPrediction, model: TurnEndModel, rule: WaitRule) -> float:
    """Seconds to wait under the default rule: `rule.fast_window` when a quick answer passes both tests, else a hold."""
    window = rule.fast_window
    judged_on = window * max(1.0, prediction.pace)  # the model's test, at the person's pace (as `wait_seconds`)
    if prediction.first_below(QUICK_THRESHOLD) <= judged_on and answer_risk(prediction, window) <= RISK_LIMIT:
        return max(rule.min_wait, window)
    hold = prediction.first_below(model.default_threshold * rule.hold_factor)
    return max(rule.min_wait, window, min(rule.max_wait, rule.pace_cap * prediction.pace, hold))
