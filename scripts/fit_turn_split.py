"""Fit `policies.turn_split.SPLIT_WEIGHTS` on the train splits: is a message after the reply still the turn before?

Replays the Chit-Chat and synthetic *train* splits (first 150 conversations, gaps x0.25 and x1) through the turn
benchmark with the default policy and the split detector off; every time a burst's first message came after a
reply showed (and after the person's previous message), the candidate's features are kept with the truth from
the log (the same log turn as their previous message, or not). A logistic regression (Newton, L2 0.1) on
[1, log(since theirs / their pace), log(since shown), log(1 + chars)] gives the weights; it prints them beside
the shipped ones, and how many candidates each finds. Needs numpy (`pip install numpy`); a few minutes.

The shipped weights came from this procedure run under the default rule as it was before them (quick test
0.38, risk limit 0.29); the candidates depend a little on which bursts the rule answered quickly, so a run
today prints weights close to, not equal to, them.
"""

from __future__ import annotations

import sys

import numpy as np

from bot.bench.log import LogConversation, group_turns, scale_time
from bot.bench.replay import ReplayParams
from bot.bench.turns import _replay_alone, load_source
from bot.core.state import ConversationState, Pending
from policies.rhythm import PersonRhythm
from policies.turn_split import SPLIT_WEIGHTS, split_features

CONVERSATIONS = 150
SCALES = (0.25, 1.0)
L2 = 0.1
Row = tuple[int, list[float]]  # the message's place among the person's messages, its features
SEEN: list[Row] = []


def record(self: ConversationState, rhythm: PersonRhythm, first: Pending) -> bool:
    """`ConversationState._went_on` with the detector off: what it would be asked, kept."""
    shown = self.shown_between(rhythm, first)
    if shown is not None:
        features = split_features(first.at - rhythm.last_at, first.at - shown, len(first.msg.text), rhythm)
        if features is not None:
            SEEN.append((int(first.id), features))
    return False


def collect(conv: LogConversation, human: str, scale: float) -> list[tuple[list[float], int]]:
    """The replay's split candidates for one side of a conversation, with the log's truth (the replay's message
    ids are the person's messages in order)."""
    SEEN.clear()
    _replay_alone(conv, human, "adaptive", ReplayParams(human_wpm=36.0 / scale))
    mine = [m for m in conv.messages if m.author == human]
    starts = {id(t[0]) for t in group_turns(conv.messages) if t[0].author == human}
    return [(features, int(id(mine[index]) not in starts)) for index, features in SEEN]


def fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """L2-regularised logistic regression by Newton's method."""
    w = np.zeros(x.shape[1])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-x @ w))
        grad = x.T @ (y - p) - L2 * w
        hess = (x * (p * (1 - p))[:, None]).T @ x + L2 * np.eye(len(w))
        w += np.linalg.solve(hess, grad)
    return w


def main() -> int:
    """Collect, fit, print."""
    ConversationState._went_on = record  # type: ignore[method-assign]
    rows: dict[str, list[tuple[list[float], int]]] = {}
    for data in ("chitchat", "synthetic"):
        for scale in SCALES:
            convs = [scale_time(c, scale) for c in load_source(data, "train")[:CONVERSATIONS]]
            rows[f"{data} x{scale:g}"] = [r for c in convs for h in c.authors for r in collect(c, h, scale)]
            print(f"{data} x{scale:g}: {len(rows[f'{data} x{scale:g}'])} candidates", file=sys.stderr)
    x = np.array([f for part in rows.values() for f, _ in part])
    y = np.array([t for part in rows.values() for _, t in part], dtype=float)
    fitted = fit(x, y)
    print("fitted  ", np.round(fitted, 3).tolist())
    print("shipped ", list(SPLIT_WEIGHTS))
    for name, part in rows.items():
        xs = np.array([f for f, _ in part])
        ys = np.array([t for _, t in part])
        for label, w in (("fitted", fitted), ("shipped", np.array(SPLIT_WEIGHTS))):
            found = xs @ w > 0
            print(f"{name:14} {label:8} same turn found {int(np.sum(found & (ys == 1)))}/{int(ys.sum())}, "
                  f"new turns taken for it {int(np.sum(found & (ys == 0)))}/{int((ys == 0).sum())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
