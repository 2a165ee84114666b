"""`textbot bench judge`: how well the configured fast model judges interruptions, on a labelled set.

Each situation (bot/bench/judge_cases.jsonl) is a reply in flight (what it answers, what went out, what
is held), the human's new message, and the right choice with a one-line why. The model is asked exactly
as the `judge` interrupt policy asks it; the figures are accuracy, a confusion table per choice, and the
median decision latency in real seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.bench.progress import Progress
from bot.core.clock import RealClock
from bot.core.judge_port import InterruptionQuestion, Judge, NoRuling
from bot.core.ports import Line
from policies.judged import INTERRUPT_CHOICES
from policies.timing import Timing

CASES = Path(__file__).with_name("judge_cases.jsonl")
PERSONA, FRIEND = "Sam", "Alex"  # the bot and the human in every situation
NONE = "none"  # no usable answer (timeout, error, malformed)


@dataclass(frozen=True)
class JudgeCase:
    """One labelled interruption: the reply in flight, the new message, the right choice and why."""

    id: str
    source: str
    label: str
    why: str
    history: tuple[tuple[str, str], ...]
    answering: tuple[str, ...]
    delivered: tuple[str, ...]
    unsent: tuple[str, ...]
    new: tuple[str, ...]
    listens: bool = False

    def question(self) -> InterruptionQuestion:
        """The question the `judge` policy would ask in this situation."""
        def said(who: str, text: str) -> Line:
            return Line("bot", text, 0.0) if who == "bot" else Line("human", text, 0.0, FRIEND)

        return InterruptionQuestion(
            persona=PERSONA, history=tuple(said(who, text) for who, text in self.history),
            answering=tuple(said("friend", t) for t in self.answering), delivered=self.delivered,
            unsent=self.unsent, new=tuple(said("friend", t) for t in self.new), can_relay=self.listens,
        )


def load_cases(path: Path = CASES) -> list[JudgeCase]:
    """The labelled situations in a JSON-lines file; ValueError naming the line of a bad one."""
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row: dict[str, Any] = json.loads(line)
            case = JudgeCase(
                id=str(row["id"]), source=str(row["source"]), label=str(row["label"]), why=str(row["why"]),
                history=tuple((str(who), str(text)) for who, text in row.get("history", [])),
                answering=tuple(row["answering"]), delivered=tuple(row["delivered"]), unsent=tuple(row["unsent"]),
                new=tuple(row["new"]), listens=bool(row.get("listens", False)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}:{number}: not a judge case ({type(exc).__name__}: {exc})") from None
        if case.label not in INTERRUPT_CHOICES:
            raise ValueError(f"{path}:{number}: label {case.label!r} is not one of {', '.join(INTERRUPT_CHOICES)}")
        cases.append(case)
    return cases


@dataclass(frozen=True)
class Outcome:
    """What the model chose for one case (NONE when it gave no usable answer) and how long it took."""

    case: JudgeCase
    choice: str
    reason: str
    seconds: float


async def judge_cases(judge: Judge, cases: list[JudgeCase], timeout: float,
                      progress: Progress | None = None) -> list[Outcome]:
    """Ask the model about every case, one at a time, timing each answer in real seconds."""
    outcomes = []
    for case in cases:
        started = time.perf_counter()
        try:
            ruling = await judge.decide_interruption(case.question(), timeout)
            choice, reason = ruling.choice, ruling.reason
        except NoRuling as exc:
            choice, reason = NONE, str(exc)
        outcomes.append(Outcome(case, choice, reason, time.perf_counter() - started))
        if progress is not None:
            progress.advance()
    return outcomes


@dataclass(frozen=True)
class Figures:
    """The bench's numbers."""

    cases: int
    correct: int
    confusion: dict[str, Counter[str]]  # right choice → the model's choices
    latency_p50: float
    latency_p90: float
    within_budget: int  # answered (usably or not) within the default judge_timeout
    no_answer: int
    majority: tuple[str, float]  # the most common right choice, and the accuracy of always saying it

    @property
    def accuracy(self) -> float:
        """Share of cases where the model made the right choice."""
        return self.correct / self.cases if self.cases else float("nan")


def figures(outcomes: list[Outcome], budget: float = Timing().judge_timeout) -> Figures:
    """Accuracy, confusion, latency and baselines of a run."""
    confusion: dict[str, Counter[str]] = {label: Counter() for label in INTERRUPT_CHOICES}
    for o in outcomes:
        confusion[o.case.label][o.choice] += 1
    seconds = sorted(o.seconds for o in outcomes) or [float("nan")]
    labels = Counter(o.case.label for o in outcomes)
    top, count = labels.most_common(1)[0] if labels else ("-", 0)
    return Figures(
        cases=len(outcomes), correct=sum(o.choice == o.case.label for o in outcomes), confusion=confusion,
        latency_p50=statistics.median(seconds), latency_p90=seconds[min(len(seconds) - 1, int(0.9 * len(seconds)))],
        within_budget=sum(o.seconds <= budget for o in outcomes), no_answer=sum(o.choice == NONE for o in outcomes),
        majority=(top, count / len(outcomes) if outcomes else float("nan")),
    )


def format_report(f: Figures, model: str) -> str:
    """The figures as a person reads them: accuracy with baselines, the confusion table, latency."""
    columns = [*INTERRUPT_CHOICES, NONE]
    lines = [
        f"{f.cases} interruption situations, fast model {model}",
        f"accuracy {f.correct}/{f.cases} = {f.accuracy:.1%}  (always {f.majority[0]!r}: {f.majority[1]:.1%}; "
        f"a uniform guess over {len(INTERRUPT_CHOICES)} choices: {1 / len(INTERRUPT_CHOICES):.1%})",
        f"median decision latency {f.latency_p50:.2f} s (p90 {f.latency_p90:.2f} s); "
        f"within the default judge_timeout of {Timing().judge_timeout:g} s: {f.within_budget}/{f.cases}; "
        f"no usable answer: {f.no_answer}",
        "",
        "confusion (rows: the right choice; columns: the model's)",
        f"{'':>10}" + "".join(f"{c:>9}" for c in columns) + "   recall",
    ]
    for label in INTERRUPT_CHOICES:
        row = f.confusion[label]
        total = sum(row.values())
        lines.append(f"{label:>10}" + "".join(f"{row[c]:>9}" for c in columns) + f"   {row[label]}/{total}")
    chosen = Counter[str]()
    for row in f.confusion.values():
        chosen.update(row)
    lines.append(f"{'chosen':>10}" + "".join(f"{chosen[c]:>9}" for c in columns))
    return "\n".join(lines)


def to_json(f: Figures, model: str, outcomes: list[Outcome]) -> dict[str, Any]:
    """The figures and every case's answer, for a file."""
    return {
        "model": model, "cases": f.cases, "correct": f.correct, "accuracy": f.accuracy,
        "latency_p50": f.latency_p50, "latency_p90": f.latency_p90, "no_answer": f.no_answer,
        "confusion": {label: dict(row) for label, row in f.confusion.items()},
        "answers": [{"id": o.case.id, "label": o.case.label, "choice": o.choice, "reason": o.reason,
                     "seconds": round(o.seconds, 3)} for o in outcomes],
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `textbot bench judge`."""
    parser.add_argument("--cases", type=Path, default=CASES, help="a JSON-lines file of labelled situations")
    parser.add_argument("--limit", type=int, help="only the first N situations")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds to wait for each answer (the bench measures the model, not the chat's budget)")
    parser.add_argument("--json", type=Path, help="write the figures and every answer as JSON here")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


async def run(args: argparse.Namespace, judge: Judge, model: str) -> int:
    """Judge every case with `judge` and print the report."""
    cases = load_cases(args.cases)[: args.limit]
    progress = None if args.no_progress else Progress(len(cases), "judging situations")
    try:
        outcomes = await judge_cases(judge, cases, args.timeout, progress)
    finally:
        if progress is not None:
            progress.close()
    result = figures(outcomes)
    print(format_report(result, model))
    if args.json:
        args.json.write_text(json.dumps(to_json(result, model, outcomes), indent=2))
    return 0


def main(args: argparse.Namespace) -> int:
    """`textbot bench judge` with the configured fast model (the bundled local one when no model is set)."""
    from bot.bench.judge_model import fast_judge

    try:
        load_cases(args.cases)
    except (OSError, ValueError) as exc:
        print(f"textbot: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(fast_judge(lambda judge, model: run(args, judge, model), RealClock()))
