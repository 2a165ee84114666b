"""`textbot bench duplex`: the configured fast model as the `duplex` policy would ask it, on held-out turns.

Each person's turn of the held-out conversations is walked message by message on its logged times: the
pure policy says when a request is due (the turn-end model's gate, the tick spacing, `duplex_max_calls`,
`max_wait`), the model is asked with exactly the production prompt, and the walk ends where the bot would
answer: a turn-over prediction (its draft), the fallback's reply, or the turn's next message first.
Figures: format adherence, turn-end correctness of every answer (a malformed one counts as "not done", as
the policy reads it), requests per turn, and per turn whether the draft went out at the turn's end or too
early. `--save` keeps every answer for `textbot bench turns --policy duplex-cached:FILE`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from bot.bench.duplex_data import DuplexState, PersonTurn, person_turns, question
from bot.bench.progress import Progress
from bot.core.duplex_port import DuplexQuestion, NoPrediction, Prediction
from bot.llm.duplex import parse_prediction, target
from persona import Persona, load_persona
from policies.duplex import Ask, Duplex
from policies.view import ConversationView, Said, WaitUntil

Asker = Callable[[DuplexQuestion, float], Awaitable[str]]  # the model's raw answer
ORACLE = "the log itself (a perfect model: the real rest of the turn and the partner's real reply)"


async def oracle(state: DuplexState) -> str:
    """What a perfectly trained model would answer: the data set's target."""
    return target("\n".join(state.rest), "\n".join(state.turn.reply))


@dataclass
class Asked:
    """One request: what it showed, what came back and what the log says."""

    burst: list[str]
    ticks: int
    answer: str
    prediction: Prediction | None
    truth_over: bool
    seconds: float

    @property
    def said_over(self) -> bool:
        """The policy reads a turn-over prediction (malformed: not over)."""
        return self.prediction is not None and self.prediction.turn_over


@dataclass
class TurnRun:
    """How one turn went: its requests and where the bot answered."""

    asked: list[Asked] = field(default_factory=list)
    by: str = "none"  # "draft", "fallback", or "none" (the next turn came first: no answer in this turn)
    early: bool = False  # answered before the turn's last message
    delay: float | None = None  # seconds after the turn's last message, when answered at its end


async def walk(turn: PersonTurn, persona: Persona, ask: Asker | None, timeout: float) -> TurnRun:
    """Walk one turn as the policy would, asking the model when it says so."""
    policy, timing, run = Duplex(), persona.timing, TurnRun()
    for cut, message in enumerate(turn.messages, 1):
        shown = turn.messages[:cut]
        next_at = turn.messages[cut].ts if cut < len(turn.messages) else None
        view = ConversationView(pending=tuple(Said(m.text, m.ts, m.author) for m in shown), timing=timing,
                                rhythm=turn.rhythm)
        now, ticks_asked = message.ts, list[int]()
        while True:
            step = policy.step(view, now, len(run.asked), tuple(ticks_asked))
            if isinstance(step, WaitUntil):
                if next_at is not None and step.at >= next_at:
                    break  # their next message comes first
                now = step.at
                continue
            if not isinstance(step, Ask):  # the fallback answers now
                return _answered(run, "fallback", next_at, now - message.ts)
            ticks_asked.append(step.ticks)
            asked = await _ask(turn, cut, step.ticks, persona, ask, timeout, truth_over=next_at is None)
            run.asked.append(asked)
            if asked.said_over and asked.prediction is not None and asked.prediction.assistant:
                return _answered(run, "draft", next_at, now - message.ts)
    return run


def _answered(run: TurnRun, by: str, next_at: float | None, delay: float) -> TurnRun:
    run.by, run.early = by, next_at is not None
    run.delay = None if run.early else delay
    return run


async def _ask(turn: PersonTurn, cut: int, ticks: int, persona: Persona, ask: Asker | None, timeout: float,
               truth_over: bool) -> Asked:
    started = time.monotonic()
    answer, prediction = "", None
    state = DuplexState(turn, cut, ticks)
    try:
        answer = await (oracle(state) if ask is None else ask(question(state, persona), timeout))
        prediction = parse_prediction(answer)
    except NoPrediction as exc:
        answer = answer or f"(no answer: {exc})"
    return Asked([m.text for m in turn.messages[:cut]], ticks, answer, prediction, truth_over,
                 time.monotonic() - started)


def report(runs: list[TurnRun], model: str) -> str:
    """The figures, as printed."""
    asked = [a for r in runs for a in r.asked]
    n, turns = max(1, len(asked)), max(1, len(runs))
    formed = sum(a.prediction is not None for a in asked)
    correct = sum(a.said_over == a.truth_over for a in asked)
    truly_over = sum(a.truth_over for a in asked)
    by = {k: sum(r.by == k for r in runs) for k in ("draft", "fallback", "none")}
    early = sum(r.early for r in runs)
    delays = [r.delay for r in runs if r.by == "draft" and r.delay is not None]
    seconds = [a.seconds for a in asked]
    lines = [
        f"{model}: {len(runs)} turns, {len(asked)} requests",
        f"format adherence {formed}/{len(asked)} = {formed / n:.1%}",
        f"turn-end correctness {correct}/{len(asked)} = {correct / n:.1%} (always 'not done': "
        f"{(len(asked) - truly_over) / n:.1%}; always 'over': {truly_over / n:.1%})",
        f"requests per turn {len(asked) / turns:.2f}",
        f"answered by the draft {by['draft']}, by the fallback {by['fallback']}, not in the turn {by['none']}; "
        f"decided before the turn's last message {early}/{len(runs)} = {early / turns:.1%}",
    ]
    if delays:
        lines.append(f"a draft at the turn's end went out after {statistics.median(delays):.2f} s of silence (median)")
    if seconds:
        lines.append(f"request latency median {statistics.median(seconds):.2f} s (max {max(seconds):.2f} s)")
    return "\n".join(lines)


def save_line(out: IO[str], turn: PersonTurn, asked: Asked) -> None:
    """One answer as `bench turns --policy duplex-cached:FILE` replays it."""
    p = asked.prediction
    out.write(json.dumps({
        "conv": turn.conv, "author": turn.person, "burst": asked.burst, "ticks": asked.ticks,
        "answer": asked.answer, "well_formed": p is not None, "turn_over": asked.said_over,
        "user": p.user if p else None, "assistant": p.assistant if p else None,
        "truth_over": asked.truth_over, "seconds": round(asked.seconds, 3)}, ensure_ascii=False) + "\n")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `textbot bench duplex`."""
    parser.add_argument("--data", default="chitchat", help="chitchat, synthetic, or a JSONL file of messages")
    parser.add_argument("--split", default="test", choices=["test", "train", "all"])
    parser.add_argument("--limit", type=int, default=2, help="only the first N conversations (default 2)")
    parser.add_argument("--turns", type=int, help="stop after N turns")
    parser.add_argument("--save", type=Path, help="keep every answer here (JSONL) for bench turns' duplex-cached")
    parser.add_argument("--persona", default="sunny")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds to wait for each answer (the bench measures the model, not the chat's budget)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.add_argument("--oracle", action="store_true",
                        help="answer from the log instead of a model: what a perfectly trained model would do")


async def run(args: argparse.Namespace, ask: Asker | None, model: str) -> int:
    """Walk the held-out turns with `ask` (None: the oracle) and print the figures."""
    from bot.bench.turns import load_source, two_person_only

    convs = two_person_only(load_source(args.data, args.split)[: args.limit], args.data)
    turns = [t for c in convs for t in person_turns(c)][: args.turns]
    persona = load_persona(args.persona)
    progress = None if args.no_progress else Progress(len(turns), "walking turns")
    runs: list[TurnRun] = []
    out = args.save.open("w", encoding="utf-8") if args.save else None
    try:
        for turn in turns:
            runs.append(await walk(turn, persona, ask, args.timeout))
            for asked in runs[-1].asked if out else []:
                assert out is not None
                save_line(out, turn, asked)
            if progress is not None:
                progress.advance(1)
    finally:
        if progress is not None:
            progress.close()
        if out is not None:
            out.close()
    print(report(runs, model))
    return 0


def main(args: argparse.Namespace) -> int:
    """`textbot bench duplex` with the configured fast model (the bundled local one when no model is set)."""
    from bot.bench.duplex_model import with_fast_duplex

    try:
        from bot.bench.turns import load_source

        load_source(args.data, args.split)
    except (OSError, ValueError) as exc:
        print(f"textbot: {exc}", file=sys.stderr)
        return 2
    if args.oracle:
        return asyncio.run(run(args, None, ORACLE))
    return asyncio.run(with_fast_duplex(lambda ask, model: run(args, ask, model)))
