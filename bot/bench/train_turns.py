"""Train and evaluate the turn-end model (`policies/turn_model.py`) on Chit-Chat.

Wired as `textbot bench train-turns`.

Every author of every conversation plays "the human" in turn; their `PersonRhythm` starts empty at
the start of the conversation and is updated whenever a stand-in bot answers, as at run time. Each
train conversation is replayed at a time scale drawn from 0.25-4x, in the bursts a bot that answers
a little late sees (`bot.bench.bursts`); only the Chit-Chat train split is ever used.
Training uses numpy (a dev dependency): Newton's method for the logistic end-of-turn model and
ridge least squares for the log-pause model. Evaluation runs the shipped pure-Python model.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import statistics
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bot.bench.bursts import iter_bursts, scaled
from bot.bench.chitchat import fixed_wait_talk_over, load_chitchat, quantile, split_conversations
from bot.bench.log import LogConversation, LogMessage
from policies.rhythm import MAX_LEN, MAX_PACE_GAP, MIN_GAP, PersonRhythm
from policies.turn_model import TurnEndModel, WaitRule, add_interactions, turn_features

DEFAULT_SEED = 20261121
THRESHOLDS: tuple[float, ...] = (0.3, 0.34, 0.36, 0.38, 0.4, 0.42, 0.45, 0.5)
BASELINE_WAITS: tuple[float, ...] = (1.5, 2.0, 3.0, 10.0, 30.0)
# pace_cap: hold at most 30 s for a person of the corpus' pace (15 s for one twice as fast), chosen by replaying
# the train split at gap scales 0.25-2 (a longer hold is overtaken by their next turn, a shorter one talks over)
RULE = WaitRule(fast_window=2.0, hold_factor=0.4, min_wait=2.0, max_wait=60.0, pace_cap=30.0)
# Features whose pairwise products enter both models (person x position x text shape).
INTERACTIONS: tuple[str, ...] = (
    "log_chars", "log_n_msgs", "first_msg", "log_turn_age", "log_prev_gap", "p_multi_logit",
    "p_cont_logit", "p_log_gap", "p_log_msgs_per_turn", "p_log_turns", "end_question",
    "end_bare", "end_period", "end_exclaim", "all_lower",
)  # fmt: skip
VOCAB_MIN_COUNT = 150
VOCAB_SIZE = 250
L2 = 1.0
PRIOR_STRENGTH = 3.0  # pseudo-turns of population behaviour mixed into each person's rates
PACE_STRENGTH = 2.0  # pseudo-pauses of population pace: a person's own pace takes over within a few messages
# The default threshold is picked on a validation split of the training conversations: the lowest
# decision-only talk-over with median decision delay <= DELAY_BUDGET and at least FAST_SHARE of
# turns decided within TARGET_DELAY (so the 3 s median target holds with margin on both axes).
TARGET_DELAY = 3.0
DELAY_BUDGET = 2.5
FAST_SHARE = 0.55
WEIGHTS_PATH = Path(__file__).resolve().parents[2] / "policies" / "turn_model.json"


def iter_turns(convs: Sequence[LogConversation]) -> Iterator[tuple[list[LogMessage], PersonRhythm]]:
    """Every turn of every conversation with its author's rhythm from their earlier turns only."""
    for conv in convs:
        rhythms: dict[str, PersonRhythm] = {}
        for turn in conv.turns():
            person = rhythms.get(turn[0].author, PersonRhythm())
            yield turn, person
            rhythms[turn[0].author] = person.observe_turn([m.ts for m in turn])


def population_prior(convs: Sequence[LogConversation]) -> dict[str, Any]:
    """Population P(turn goes on after its n-th message) and mean log pause."""
    reached = [0] * MAX_LEN
    went_on = [0] * MAX_LEN
    logs: list[float] = []
    paced: list[float] = []
    for conv in convs:
        for author in conv.authors:
            times = [m.ts for m in conv.messages if m.author == author]
            paced += [math.log(min(max(b - a, MIN_GAP), MAX_PACE_GAP)) for a, b in itertools.pairwise(times)]
        for turn in conv.turns():
            for n in range(1, len(turn) + 1):
                reached[min(n, MAX_LEN) - 1] += 1
                went_on[min(n, MAX_LEN) - 1] += len(turn) > n
            logs += [math.log(max(b.ts - a.ts, MIN_GAP)) for a, b in itertools.pairwise(turn)]
    return {
        "continue_by_len": [round(g / max(1, r), 5) for g, r in zip(went_on, reached, strict=True)],
        "messages_per_turn": round(sum(reached) / max(1, reached[0]), 5),
        "log_gap": round(statistics.fmean(logs), 5),
        "strength": PRIOR_STRENGTH,
        "pace_log_gap": round(statistics.fmean(paced), 5),
        "pace_strength": PACE_STRENGTH,
    }


@dataclass
class Examples:
    """One row per human message: features, end-of-turn label, next pause, conversation."""

    feats: list[dict[str, float]] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    gaps: list[float | None] = field(default_factory=list)  # None for a turn's last message
    conv_ids: list[str] = field(default_factory=list)


def examples(convs: Sequence[LogConversation], prior: dict[str, Any], seed: int = DEFAULT_SEED) -> Examples:
    """Features as the model sees them at run time, with labels, for every human message.

    The conversations are replayed at scaled paces, in bursts as a bot that answers a little late sees them
    (`bot.bench.bursts`).
    """
    ex = Examples()
    for step in iter_bursts([scaled(c, seed) for c in convs]):
        texts = [m.text for m in step.burst]
        times = [m.ts for m in step.burst]
        f = turn_features(texts, times, step.person, prior)
        ex.feats.append(add_interactions(f, INTERACTIONS))
        ex.ends.append(int(step.ends_turn))
        ex.gaps.append(None if step.next_gap is None else max(step.next_gap, MIN_GAP))
        ex.conv_ids.append(step.burst[-1].conv)
    return ex


def fit(
    ex: Examples, prior: dict[str, Any], keep: set[str] | None = None, seed: int = DEFAULT_SEED
) -> dict[str, Any]:
    """Fit both models on the rows of conversations in `keep` (all if None); JSON-ready weights."""
    try:
        import numpy as np
    except ImportError as exc:  # pragma: no cover - numpy is in the dev extra
        raise RuntimeError("training needs numpy: pip install -e '.[dev]'") from exc

    idx = [i for i, c in enumerate(ex.conv_ids) if keep is None or c in keep]
    feats = [ex.feats[i] for i in idx]
    lexical = Counter(k for f in feats for k in f if ":" in k)
    vocab = {k for k, n in lexical.most_common(VOCAB_SIZE) if n >= VOCAB_MIN_COUNT}
    names = sorted({k for f in feats for k in f if ":" not in k} | vocab)
    col = {k: j + 1 for j, k in enumerate(names)}  # column 0 is the bias
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    for i, f in enumerate(feats):
        for k, v in f.items():
            if k in col:
                rows.append(i)
                cols.append(col[k])
                vals.append(v)
    x = np.zeros((len(feats), len(names) + 1))
    x[:, 0] = 1.0
    x[rows, cols] = vals
    y = np.asarray([ex.ends[i] for i in idx], dtype=float)
    reg = np.diag(np.r_[1e-9, np.full(len(names), L2)])

    x32 = x.astype(np.float32)  # the Hessian only steers the step; float32 halves the time
    w = np.zeros(x.shape[1])
    for _ in range(30):  # Newton / IRLS with an L2 penalty (not on the bias)
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        hess = (x32 * (p * (1 - p)).astype(np.float32)[:, None]).T @ x32
        step = np.linalg.solve(hess.astype(np.float64) + reg, x.T @ (p - y) + reg @ w)
        w -= step
        if float(np.max(np.abs(step))) < 1e-6:
            break

    gaps = [ex.gaps[i] for i in idx]
    xg = x[np.asarray([g is not None for g in gaps])]
    lg = np.log(np.asarray([g for g in gaps if g is not None]))
    b = np.linalg.solve(xg.T @ xg + reg, xg.T @ lg)  # ridge regression of the log pause
    sigma = float(np.sqrt(np.mean((lg - xg @ b) ** 2)))

    def pack(vec: Any) -> dict[str, float]:
        out = {"bias": round(float(vec[0]), 4)}
        out.update({k: round(float(vec[col[k]]), 4) for k in names if abs(vec[col[k]]) >= 5e-5})
        return out

    return {
        "version": 1,
        "end": pack(w),
        "gap": pack(b),
        "sigma": round(sigma, 5),
        "prior": prior,
        "rule": asdict(RULE),
        "interactions": list(INTERACTIONS),
        "default_threshold": THRESHOLDS[len(THRESHOLDS) // 2],
        "meta": {"seed": seed, "train_messages": len(feats), "features": len(names)},
    }


def train(convs_train: Sequence[LogConversation], seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """Pick the threshold on a seeded validation part of `convs_train`, then refit on all of it."""
    prior = population_prior(convs_train)
    ex = examples(convs_train, prior, seed)
    fit_convs, val_convs = split_conversations(convs_train, seed=seed + 1)
    val_model = TurnEndModel(fit(ex, prior, {c.conv_id for c in fit_convs}, seed))
    val_metrics = evaluate(val_model, val_convs, baselines=())
    weights = fit(ex, prior, None, seed)
    weights["default_threshold"] = choose_threshold(val_metrics)
    weights["meta"].update(
        train_conversations=len(convs_train),
        validation_conversations=len(val_convs),
        validation={f"{th:g}": m for th, m in val_metrics["model"].items()},
    )
    return weights


def evaluate(
    model: TurnEndModel,
    convs_test: Sequence[LogConversation],
    thresholds: Sequence[float] = THRESHOLDS,
    baselines: Sequence[float] = BASELINE_WAITS,
) -> dict[str, Any]:
    """Held-out log-loss/accuracy and decision-only talk-over and delay per threshold."""
    loss = 0.0
    correct = 0
    n_msgs = 0
    over = dict.fromkeys(thresholds, 0)
    delays: dict[float, list[float]] = {th: [] for th in thresholds}
    n_turns = 0
    for turn, person in iter_turns(convs_test):
        n_turns += 1
        texts = [m.text for m in turn]
        times = [m.ts for m in turn]
        talked: set[float] = set()
        for i in range(len(texts)):
            pred = model.predict(texts[: i + 1], times[: i + 1], person)
            last = i == len(texts) - 1
            p = min(max(pred.p_end, 1e-9), 1 - 1e-9)
            loss -= math.log(p if last else 1 - p)
            correct += int((p >= 0.5) == last)
            n_msgs += 1
            for th in thresholds:
                wait = pred.wait_seconds(th, model.rule)
                if last:
                    delays[th].append(wait)
                elif times[i] + wait < times[i + 1]:
                    talked.add(th)
        for th in talked:
            over[th] += 1
    base_rate = n_turns / max(1, n_msgs)
    base_loss = -(base_rate * math.log(base_rate) + (1 - base_rate) * math.log(1 - base_rate))
    return {
        "turns": n_turns,
        "messages": n_msgs,
        "log_loss": loss / n_msgs,
        "base_rate_log_loss": base_loss,
        "accuracy": correct / n_msgs,
        "base_rate_accuracy": max(base_rate, 1 - base_rate),
        "model": {
            th: {
                "talk_over": over[th] / n_turns,
                "decision_p50": statistics.median(delays[th]),
                "decision_p90": quantile(delays[th], 0.9),
                "within_target": sum(d <= TARGET_DELAY for d in delays[th]) / n_turns,
            }
            for th in thresholds
        },
        "fixed": {  # a fixed wait W decides exactly W s after every turn's last message
            w: dict(talk_over=fixed_wait_talk_over(convs_test, w), decision_p50=w, decision_p90=w,
                    within_target=float(w <= TARGET_DELAY))
            for w in baselines
        },
    }


def choose_threshold(metrics: dict[str, Any]) -> float:
    """Lowest-talk-over threshold meeting the delay budget and fast share (else the fastest)."""
    ok = [
        (m["talk_over"], th)
        for th, m in metrics["model"].items()
        if m["decision_p50"] <= DELAY_BUDGET and m["within_target"] >= FAST_SHARE
    ]
    return float(min(ok)[1] if ok else max(metrics["model"]))


def format_metrics(metrics: dict[str, Any], default: float | None = None) -> str:
    """Plain-text table of held-out metrics next to the fixed-wait baselines."""
    ref = metrics["fixed"].get(3.0, {}).get("talk_over")
    lines = [
        f"held-out: {metrics['turns']} turns, {metrics['messages']} messages",
        f"turn-end log-loss {metrics['log_loss']:.4f} "
        f"(base rate {metrics['base_rate_log_loss']:.4f}), accuracy {metrics['accuracy']:.4f} "
        f"(base rate {metrics['base_rate_accuracy']:.4f})",
        f"{'decision only':16s} {'talk-over':>9s} {'/fixed:3':>8s} {'p50 delay':>9s} "
        f"{'p90 delay':>9s} {'<=3s':>6s}",
    ]
    rows = [(f"fixed:{w:g}", m) for w, m in metrics["fixed"].items()]
    for th, m in metrics["model"].items():
        rows.append((f"model@{th:g}" + (" *" if th == default else ""), m))
    for name, m in rows:
        rel = f"{m['talk_over'] / ref:.2f}" if ref else "-"
        lines.append(
            f"{name:16s} {m['talk_over']:9.3f} {rel:>8s} {m['decision_p50']:8.2f}s "
            f"{m['decision_p90']:8.2f}s {m['within_target']:6.3f}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Train on the chitchat train split, write the weights, print held-out metrics."""
    ap = argparse.ArgumentParser(prog="textbot bench train-turns", description=main.__doc__)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help="split seed")
    ap.add_argument("--out", type=Path, default=WEIGHTS_PATH, help="weights file to write")
    ap.add_argument("--json", type=Path, default=None, help="also write held-out metrics here")
    ap.add_argument("--also-synthetic", action="store_true",
                    help="an experiment: also train on the synthetic corpus' train split (it is then no longer "
                         "unseen; write the weights elsewhere with --out)")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    train_convs, test_convs = split_conversations(load_chitchat(), seed=args.seed)
    if args.also_synthetic:
        from bot.bench.synthetic import load_synthetic

        train_convs = [*train_convs, *load_synthetic("train")]
    t1 = time.perf_counter()
    weights = train(train_convs, args.seed)
    t2 = time.perf_counter()
    threshold = float(weights["default_threshold"])
    metrics = evaluate(TurnEndModel(weights), test_convs)
    t3 = time.perf_counter()
    args.out.write_text(json.dumps(weights, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"seed {args.seed}: {len(train_convs)} train / {len(test_convs)} held-out conversations")
    print(f"default threshold {threshold:g} (picked on a validation part of the train split)")
    print(format_metrics(metrics, threshold))
    print(
        f"timing: load+split {t1 - t0:.1f}s, train (incl. threshold pick) {t2 - t1:.1f}s, "
        f"held-out evaluation {t3 - t2:.1f}s"
    )
    if args.json:
        args.json.write_text(json.dumps(metrics, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
