"""Learned turn-end model: how long to wait after a human message before replying (pure Python).

Two small models share one feature vector built from the current turn's texts and times and the
person's rhythm:

- `end`: logistic regression for p = P(this message ends the turn);
- `gap`: linear regression for the log of the pause to the next message when the turn continues,
  log(gap) ~ Normal(mu, sigma).

After a silence of t seconds the chance that more is coming is
    q(t) = (1 - p) S(t) / (p + (1 - p) S(t)),   S(t) = 1 - Phi((ln t - mu) / sigma),
and `wait_seconds` is the first t with q(t) <= threshold (closed form) under a `WaitRule`: the
threshold steps down to threshold * hold_factor once a short "feels instant" window has passed.
Every time in the features is read at the person's own pace: their pauses so far (between any two
of their messages, those of the burst being judged included) give a shift `log(their pace / the
corpus' pace)`, seconds are divided by exp(shift) before the model sees them and the pause model's
answer is multiplied back. The same person at twice the pace is so read the same way, at twice the
speed, after a few messages. Holds are capped at `pace_cap` seconds times their pace.
Weights live in `policies/turn_model.json`, written by `bot/bench/train_turns.py`.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from statistics import NormalDist
from typing import Any

from policies.rhythm import MIN_GAP as MIN_GAP
from policies.rhythm import PersonRhythm as PersonRhythm  # the model's input, kept importable from here
from policies.rhythm import pace_log

WEIGHTS_FILE = "turn_model.json"
MAX_PACE_SHIFT = math.log(16.0)  # a person is read as at most 16 times faster or slower than the corpus

_WORD = re.compile(r"[a-z0-9']+")
_EMOTICON = re.compile(r"(?:[:;=8xX][-'^]?[)(\]\[dDpP/\\|oO3*]|<3|\^_*\^|:'\(|xd+)$")
_LAUGH = re.compile(r"(?:lo+l|(?:ha){2,}h?|(?:he){2,}|lmf?ao|rofl|jk|xd+)$")
_GREETING = re.compile(
    r"^(?:h+i+|he+y+|hello+|hey there|hi there|yo+|sup|wh?a+t'?s up|hiya|howdy|"
    r"good (?:morning|afternoon|evening))[\s!.,:;)(dp]*$"
)
_CONTINUERS = frozenset({
    "and", "but", "so", "or", "because", "cause", "cuz", "bc", "like", "then", "if", "with", "the",
    "a", "an", "to", "of", "for", "my", "your", "i", "that", "when", "which", "who", "also", "plus",
    "um", "uh", "well", "is", "are", "was", "in", "on", "at", "as", "just",
})  # fmt: skip
_QUESTION_STARTS = frozenset({
    "what", "how", "why", "where", "when", "who", "which", "whats", "hows", "do", "does", "did",
    "are", "is", "was", "were", "have", "has", "can", "could", "would", "will", "should", "wanna",
})  # fmt: skip
_EMOJI = re.compile("[\U0001F000-\U0010FFFF\u2600-\u27BF\uFE0F]")
_ENDINGS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("end_ellipsis", ("...", "..", "…")),
    ("end_question", ("?",)),
    ("end_exclaim", ("!",)),
    ("end_period", (".",)),
    ("end_comma", (",",)),
    ("end_open_punct", (":", "-", ";", "(")),
)
_CHAR_BUCKETS = (5, 12, 25, 50, 100)
_PREV_KEYS = ("greeting_only", "end_question", "end_continuer", "end_bare")
_FIRST_KEYS = ("end_question", "end_bare", "greeting_only", "log_chars", "one_word")


def text_features(text: str) -> dict[str, float]:
    """Cue features of one message: final punctuation, trailing words, emoji, length, case."""
    return dict(_text_features(text))


@functools.lru_cache(maxsize=4096)
def _text_features(text: str) -> tuple[tuple[str, float], ...]:
    """Cached worker for `text_features` (a message is scored again as the turn grows)."""
    raw = text.strip()
    low = raw.lower()
    words = _WORD.findall(low)
    tail = low.rstrip()
    stripped = tail.rstrip("\ufe0f ")
    f: dict[str, float] = {
        "log_chars": math.log1p(len(raw)),
        "log_words": math.log1p(len(words)),
        "one_word": float(len(words) == 1),
        "chars_" + next((str(b) for b in _CHAR_BUCKETS if len(raw) <= b), "long"): 1.0,
    }
    if stripped and _EMOJI.match(stripped[-1]):
        f["end_emoji"] = 1.0
    elif _EMOTICON.search(tail):
        f["end_emoticon"] = 1.0
    else:
        ending = next((name for name, ends in _ENDINGS if tail.endswith(ends)), None)
        if ending is None and tail[-1:].isalnum():
            ending = "end_bare"
        if ending:
            f[ending] = 1.0
    if "?" in tail[:-1]:
        f["inner_question"] = 1.0
    if _EMOJI.search(raw):
        f["has_emoji"] = 1.0
    if words and _LAUGH.search(words[-1]):
        f["end_laugh"] = 1.0
    if words and words[-1] in _CONTINUERS and f.get("end_bare"):
        f["end_continuer"] = 1.0
    if _GREETING.match(low):
        f["greeting_only"] = 1.0
    if words and words[0] in _QUESTION_STARTS:
        f["question_start"] = 1.0
    if any(c.isalpha() for c in raw):
        f["all_lower"] = float(raw == low)
        f["start_upper"] = float(raw.lstrip()[:1].isupper())
    if words:
        f["last:" + words[-1]] = 1.0
        f["first:" + words[0]] = 1.0
    return tuple(f.items())


def _logit(p: float) -> float:
    """Log-odds of p, clipped away from 0 and 1."""
    p = min(max(p, 1e-3), 1 - 1e-3)
    return math.log(p / (1 - p))


def pace_shift(person: PersonRhythm, prior: Mapping[str, Any], times: Sequence[float] = ()) -> float:
    """How much slower (log seconds; negative: faster) this person writes than the population trained on.

    Their pauses so far count, those inside the burst being judged (`times`) included. Every time
    feature is measured in the person's own pace (seconds divided by exp(shift)), so the model reads a
    chat at twice the pace as it read the original; 0 for weights trained without it.
    """
    if "pace_log_gap" not in prior:
        return 0.0
    seen = person.messages > 0
    new = [t for t in times if not seen or t > person.last_at]
    logs = [pace_log(b - a) for a, b in itertools.pairwise(([person.last_at] if seen else []) + new)]
    population, k = float(prior["pace_log_gap"]), float(prior["pace_strength"])
    mean = (person.pace_log_sum + sum(logs) + k * population) / (person.pace_gaps + len(logs) + k)
    return min(MAX_PACE_SHIFT, max(-MAX_PACE_SHIFT, mean - population))


def person_features(
    person: PersonRhythm, n: int, prior: Mapping[str, Any], shift: float = 0.0
) -> dict[str, float]:
    """Person features for the n-th message of a turn, shrunk toward the population prior."""
    k = float(prior["strength"])
    cont = prior["continue_by_len"]
    log_gap = (person.log_gap_sum + k * float(prior["log_gap"])) / (person.gaps + k) - shift
    per_turn = (person.messages + k * float(prior["messages_per_turn"])) / (person.turns + k)
    f = {
        "p_multi_logit": _logit(person.continue_rate(1, cont, k)),
        "p_cont_logit": _logit(person.continue_rate(n, cont, k)),
        "p_log_gap": log_gap,
        "p_log_msgs_per_turn": math.log(per_turn),
        "p_log_turns": math.log1p(person.turns),
    }
    if person.last_turn_len:
        f["p_last_turn_multi"] = float(person.last_turn_len > 1)
    return f


def turn_features(
    texts: Sequence[str], times: Sequence[float], person: PersonRhythm, prior: Mapping[str, Any],
    shift: float | None = None,
) -> dict[str, float]:
    """Feature dict for the turn's latest message (texts and times oldest first)."""
    n = len(texts)
    if n == 0 or n != len(times):
        raise ValueError("turn texts and times must be non-empty and of equal length")
    shift = pace_shift(person, prior, times) if shift is None else shift
    f = dict(_text_features(texts[-1]))
    f.update(log_n_msgs=math.log(n), first_msg=float(n == 1))
    f["log_turn_age"] = math.log1p(max(0.0, times[-1] - times[0]) / math.exp(shift))
    if n > 1:
        f["log_prev_gap"] = math.log(max(times[-1] - times[-2], MIN_GAP)) - shift
        prev = dict(_text_features(texts[-2]))
        f.update({"prev_" + k: 1.0 for k in _PREV_KEYS if k in prev})
    else:
        f.update({"first_x_" + k: f[k] for k in _FIRST_KEYS if k in f})
    f.update(person_features(person, n, prior, shift))
    return f


def add_interactions(feats: dict[str, float], keys: Sequence[str]) -> dict[str, float]:
    """Add pairwise products "a*b" of the listed features (absent features count as 0)."""
    present = [k for k in keys if feats.get(k)]
    for i, a in enumerate(present):
        for b in present[i + 1 :]:
            feats[a + "*" + b] = feats[a] * feats[b]
    return feats


@dataclass(frozen=True)
class WaitRule:
    """How P(more | silence) becomes a wait: a threshold that steps down after `fast_window`.

    Replying within `fast_window` seconds feels instant; once that has passed, a few more seconds
    cost little, so the bot then waits until P(more) <= threshold * hold_factor.
    """

    fast_window: float = 2.0
    hold_factor: float = 0.5
    min_wait: float = 0.0
    max_wait: float = 60.0
    pace_cap: float = math.inf  # never hold longer than this many seconds times the person's pace


@dataclass(frozen=True)
class TurnEndPrediction:
    """P(the message ends the turn) and the log-normal pause model if it does not."""

    p_end: float
    mu: float
    sigma: float
    pace: float = 1.0  # how many times slower than the population this person writes (exp of the pace shift)

    def p_more(self, silence: float) -> float:
        """Probability that the human still sends more after `silence` seconds of quiet."""
        if silence <= 0:
            return 1.0 - self.p_end
        s = 1.0 - NormalDist(self.mu, self.sigma).cdf(math.log(silence))
        cont = (1.0 - self.p_end) * s
        return cont / (self.p_end + cont) if cont > 0 else 0.0

    def first_below(self, threshold: float) -> float:
        """Smallest silence t with p_more(t) <= threshold (closed form; inf if never)."""
        p_cont = 1.0 - self.p_end
        if p_cont <= threshold:
            return 0.0
        if threshold <= 0 or self.p_end <= 0:
            return math.inf
        ratio = threshold * self.p_end / ((1.0 - threshold) * p_cont)  # S(t) must drop to this
        log_t = self.mu + self.sigma * NormalDist().inv_cdf(max(1e-12, 1.0 - ratio))
        return math.exp(log_t) if log_t < 700 else math.inf

    def wait_seconds(self, threshold: float, rule: WaitRule = WaitRule()) -> float:
        """Seconds to wait after the message under `rule` (non-increasing in `threshold`).

        Whether the quick answer is safe is judged at the person's own pace: for someone twice as slow,
        `fast_window` seconds of silence say what half of it says of the population, so the window
        they are judged on stretches with them while the quick answer itself still comes within it.
        """
        t = self.first_below(threshold)
        if t <= rule.fast_window * max(1.0, self.pace):
            t = min(t, rule.fast_window)
        else:
            t = max(rule.fast_window, self.first_below(threshold * rule.hold_factor))
        return min(rule.max_wait, rule.pace_cap * self.pace, max(rule.min_wait, t))


def _dot(weights: Mapping[str, float], feats: Mapping[str, float]) -> float:
    """Sparse dot product with the "bias" weight added."""
    return weights.get("bias", 0.0) + sum(weights.get(k, 0.0) * v for k, v in feats.items())


class TurnEndModel:
    """Turn-end classifier plus pause model; predicts when the human has finished a burst."""

    def __init__(self, weights: Mapping[str, Any]) -> None:
        """Build from the JSON weights dict written by the trainer."""
        self.end_weights: dict[str, float] = dict(weights["end"])
        self.gap_weights: dict[str, float] = dict(weights["gap"])
        self.sigma = float(weights["sigma"])
        self.prior: dict[str, Any] = dict(weights["prior"])
        self.interactions: list[str] = list(weights.get("interactions", []))
        self.rule = WaitRule(**weights.get("rule", {}))
        self.default_threshold = float(weights.get("default_threshold", 0.3))
        self.meta: dict[str, Any] = dict(weights.get("meta", {}))

    @classmethod
    def load(cls) -> TurnEndModel:
        """Load the shipped weights from the `policies` package."""
        text = resources.files("policies").joinpath(WEIGHTS_FILE).read_text(encoding="utf-8")
        return cls(json.loads(text))

    def predict(
        self, turn_texts: Sequence[str], turn_times: Sequence[float], person: PersonRhythm
    ) -> TurnEndPrediction:
        """P(turn ends here) and the pause distribution after the latest message."""
        shift = pace_shift(person, self.prior, turn_times)
        feats = add_interactions(turn_features(turn_texts, turn_times, person, self.prior, shift), self.interactions)
        z = _dot(self.end_weights, feats)
        p_end = 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))
        # the pause model is in the person's own pace: back to seconds
        mu = _dot(self.gap_weights, feats) + shift
        return TurnEndPrediction(p_end=p_end, mu=mu, sigma=self.sigma, pace=math.exp(shift))

    def wait_seconds(
        self,
        turn_texts: Sequence[str],
        turn_times: Sequence[float],
        person: PersonRhythm,
        threshold: float | None = None,
    ) -> float:
        """Seconds after the latest message to wait before replying (higher threshold: sooner)."""
        th = self.default_threshold if threshold is None else threshold
        return self.predict(turn_texts, turn_times, person).wait_seconds(th, self.rule)
