"""Where a turn policy stands on the trade-off between quick answers and talk-over, read at one share of quick answers.

Every change to the turn policy so far has moved it along one front: answer more turns within 3 s and talk over
more, or fewer and less. Comparing two versions at their own defaults mixes a move along the front with a move of
the front. This script sweeps a policy family's threshold (`adaptive:T`, `hindsight-past:T`, ...) on the *train*
splits, replays each corpus and gap scale, and reads talk-over as a share of `fixed:3` at a fixed share of turns
answered within 3 s (`--share`, 52% by default) by interpolating between the two thresholds around it. "<=" marks a
row where even the lowest threshold answered more turns quickly than that (the figure is then an upper bound).

    .venv/bin/python scripts/turn_front.py                       # adaptive:T, Chit-Chat and synthetic, 0.25-2x
    .venv/bin/python scripts/turn_front.py --family hindsight-past --data chitchat --scales 1
    .venv/bin/python scripts/turn_front.py --weights other_model.json   # another turn-end model, same replay

`--weights` replays with another turn-end model file (as written by `textbot bench train-turns --out FILE`) in
place of the shipped one; `--split-from-log` answers the turn split test (`policies.turn_split`) from the log
instead, wherever the shipped test is asked. The README's bound table ("What holds it back") and its "Tried and
not kept most recently" figures were read this way.
About 10 s of CPU per policy, corpus and scale for 150 conversations; `--jobs` processes run side by side.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bot.bench.log import LogConversation, LogMessage, group_turns, scale_time
from bot.bench.replay import ReplayParams, ReplayResult
from bot.bench.turns import _replay_alone, load_source, summarise
from bot.core.state import ConversationState, Pending
from policies.rhythm import PersonRhythm
from policies.turn_model import TurnEndModel

QUICK = 3.0  # seconds: a turn answered within this counts as answered quickly
HUMAN_WPM = ReplayParams.human_wpm


@dataclass(frozen=True)
class Point:
    """One policy on one corpus and scale: its talk-over, share of quick answers and requests per turn."""

    policy: str
    talk_over: float
    quick_share: float
    calls: float


@dataclass(frozen=True)
class Job:
    """What one worker replays."""

    data: str
    scale: float
    policy: str
    limit: int
    split: str
    weights: str | None
    split_from_log: bool = False


def use_weights(path: str | None) -> None:
    """Make every policy of this process load the turn-end model from `path` (None: the shipped one)."""
    if path is None:
        return
    weights = json.loads(Path(path).read_text(encoding="utf-8"))
    TurnEndModel.load = classmethod(lambda cls: cls(weights))  # type: ignore[method-assign, assignment]


class SplitFromLog:
    """The split test (`ConversationState._went_on`) answered from the log: is this message in the same log turn
    as the person's previous one? The replay numbers the person's messages in order, as their message ids."""

    def __init__(self) -> None:
        self.mine: list[LogMessage] = []
        self.starts: set[int] = set()

        def told(state: ConversationState, rhythm: PersonRhythm, first: Pending) -> bool:
            if state.shown_between(rhythm, first) is None:  # asked only where the shipped test is asked
                return False
            return id(self.mine[int(first.id)]) not in self.starts

        ConversationState._went_on = told  # type: ignore[method-assign, assignment]

    def replay(self, conv: LogConversation, human: str, policy: str, params: ReplayParams) -> ReplayResult:
        """One side of one conversation, the split test knowing this person's log turns."""
        self.mine = [m for m in conv.messages if m.author == human]
        self.starts = {id(turn[0]) for turn in group_turns(conv.messages) if turn[0].author == human}
        return _replay_alone(conv, human, policy, params)


def replay_point(job: Job) -> tuple[str, float, Point]:
    """Replay one policy over the first `limit` conversations of a corpus at one gap scale."""
    use_weights(job.weights)
    convs = [scale_time(c, job.scale) for c in load_source(job.data, job.split)[: job.limit]]
    params = ReplayParams(human_wpm=HUMAN_WPM / job.scale)
    play = SplitFromLog().replay if job.split_from_log else _replay_alone
    results = [play(c, human, job.policy, params) for c in convs for human in c.authors]
    figures = summarise(results)
    delays = [t.decision_delay for r in results for t in r.turns if t.decision_delay is not None]
    share = sum(d <= QUICK for d in delays) / max(1, len(delays))
    return job.data, job.scale, Point(job.policy, figures.talk_over, share, figures.calls_per_turn)


def at_share(points: Sequence[Point], baseline: float, share: float) -> tuple[float, float, bool] | None:
    """Talk-over as a share of `baseline` and requests per turn at `share` quick answers, interpolated.

    The third value is True when the lowest threshold already answered more turns quickly than `share` (its
    figures are then an upper bound). None when no point reaches `share`.
    """
    ordered = sorted(points, key=lambda p: p.quick_share)
    if not ordered or baseline <= 0:
        return None
    if ordered[0].quick_share >= share:
        return ordered[0].talk_over / baseline, ordered[0].calls, True
    for low, high in itertools.pairwise(ordered):
        if low.quick_share <= share <= high.quick_share and high.quick_share > low.quick_share:
            a = (share - low.quick_share) / (high.quick_share - low.quick_share)
            ratio = (low.talk_over + a * (high.talk_over - low.talk_over)) / baseline
            return ratio, low.calls + a * (high.calls - low.calls), False
    return None


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--family", default="adaptive", help="policy family swept as FAMILY:T")
    ap.add_argument("--thresholds", type=float, nargs="+", default=[0.3, 0.35, 0.4, 0.45, 0.5, 0.55])
    ap.add_argument("--data", nargs="+", default=["chitchat", "synthetic"])
    ap.add_argument("--scales", type=float, nargs="+", default=[0.25, 0.5, 1.0, 2.0])
    ap.add_argument("--share", type=float, default=0.52, help="share of turns answered within 3 s to read at")
    ap.add_argument("--limit", type=int, default=150, help="first N conversations of the split")
    ap.add_argument("--split", default="train", choices=["train", "test", "all"])
    ap.add_argument("--weights", default=None, help="turn-end model file to replay instead of the shipped one")
    ap.add_argument("--split-from-log", action="store_true",
                    help="answer the split test (is a message after the reply the rest of the turn before?) "
                         "from the log")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None, help="also write every point here")
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Sweep, replay in parallel, print one line per corpus and scale and the mean."""
    args = parse(argv)
    policies = ["fixed:3"] + [f"{args.family}:{t:g}" for t in args.thresholds]
    jobs = [Job(d, s, p, args.limit, args.split, args.weights, args.split_from_log)
            for d in args.data for s in args.scales for p in policies]
    with ProcessPoolExecutor(args.jobs) as pool:
        done = list(pool.map(replay_point, jobs))
    rows: dict[tuple[str, float], list[Point]] = {}
    for data, scale, point in done:
        rows.setdefault((data, scale), []).append(point)
    read: list[float] = []
    for (data, scale), points in rows.items():
        baseline = next(p.talk_over for p in points if p.policy == "fixed:3")
        swept = [p for p in points if p.policy != "fixed:3"]
        found = at_share(swept, baseline, args.share)
        sweep = " ".join(f"[{p.policy.split(':')[1]}: {p.talk_over / baseline:.1%}, {p.quick_share:.1%} quick]"
                         for p in sorted(swept, key=lambda p: p.quick_share))
        if found is None:
            said = f"{args.share:.0%} quick not reached"
        else:
            ratio, calls, bound = found
            read.append(ratio)
            said = f"{'<= ' if bound else ''}{ratio:.1%} of fixed:3, {calls:.2f} requests/turn"
        print(f"{data:9s} x{scale:<4g} {args.family} at {args.share:.0%} quick: {said}   {sweep}")
    if read:
        print(f"mean over {len(read)} rows: {statistics.fmean(read):.1%}")
    if args.json:
        args.json.write_text(json.dumps([{"data": d, "scale": s, **vars(p)} for d, s, p in done], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
