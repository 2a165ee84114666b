"""`textbot bench duet`: many short duets in virtual time with stand-in sessions, per responder kind.

Does the action protocol prevent crossing (a message sent without having seen the other's newest one)?
Each row runs the same seeded duets; `stream` is shown under both the `revise` and `finish` interrupt
policies, since whether a stream reply crosses is the interrupt policy's choice, not the responder's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
from dataclasses import asdict, dataclass

from bot.core.clock import RealClock, VirtualClock
from bot.core.memory_store import MemoryStore
from bot.duet.cli import ResponderMaker, WithModel, actions_maker, engine_builder
from bot.duet.run import Duet, DuetResult
from bot.duet.standins import standin_builder
from bot.settings import ConfigError, Settings

KINDS: tuple[tuple[str, str], ...] = (("stream", "revise"), ("stream", "finish"), ("actions", "revise"))


@dataclass
class DuetFigures:
    """What the duets of one responder kind (and interrupt policy) did, summed."""

    kind: str
    interrupt: str
    duets: int = 0
    messages: int = 0
    crossings: int = 0
    refused_pushes: int = 0
    withheld_drafts: int = 0
    stalled: int = 0  # duets that reached the time limit before their messages
    gap_total: float = 0.0
    gaps: int = 0

    @property
    def mean_gap(self) -> float:
        """Mean seconds between consecutive messages."""
        return self.gap_total / self.gaps if self.gaps else 0.0

    def add(self, result: DuetResult) -> None:
        """Count one duet."""
        gaps = result.gaps()
        self.duets += 1
        self.messages += len(result.sends)
        self.crossings += result.crossings
        self.refused_pushes += result.refused_pushes
        self.withheld_drafts += result.cancelled_parts
        self.stalled += result.stopped_by != "messages"
        self.gap_total += sum(gaps)
        self.gaps += len(gaps)


async def one_duet(kind: str, interrupt: str, seed: int, messages: int, limit: float) -> DuetResult:
    """One seeded duet of sunny and sage, run to `messages` or `limit` virtual seconds."""
    clock = VirtualClock()
    build = standin_builder(clock, MemoryStore(), random.Random(seed), interrupt=interrupt)
    duet = Duet(clock, build, ("sunny", "sage"), run_id=f"bench{seed}", responder=kind)
    task = asyncio.create_task(duet.run("the weekend", messages=messages, seconds=limit), name="bench-duet")
    await clock.run_until(task.done, limit=limit + 60)
    return task.result()


async def measure(duets: int, messages: int, seed: int, limit: float) -> list[DuetFigures]:
    """The figures of every kind over the same seeds."""
    rows = []
    for kind, interrupt in KINDS:
        row = DuetFigures(kind, interrupt)
        for n in range(duets):
            row.add(await one_duet(kind, interrupt, seed + n, messages, limit))
        rows.append(row)
    return rows


async def measure_with_model(settings: Settings, make_stream: ResponderMaker, make_actions: ResponderMaker | None,
                             duets: int, messages: int, limit: float) -> list[DuetFigures]:
    """The same rows with the configured model on the real clock (each duet takes up to `limit` real seconds)."""
    rows = []
    for kind, interrupt in KINDS:
        if kind == "actions" and make_actions is None:
            continue
        row = DuetFigures(kind, interrupt)
        chosen = settings.model_copy(update={"interrupt_policy": interrupt})
        for n in range(duets):
            clock = RealClock()
            actions = make_actions(chosen, clock) if make_actions is not None else None
            build = engine_builder(chosen, clock, MemoryStore(), make_stream(chosen, clock), actions)
            duet = Duet(clock, build, ("sunny", "sage"), run_id=f"model{n}", responder=kind)
            row.add(await duet.run("the weekend", messages=messages, seconds=limit))
        rows.append(row)
    return rows


def table(rows: list[DuetFigures]) -> str:
    """The figures as a fixed-width table."""
    head = f"{'responder':<10}{'interrupt':<10}{'duets':>6}{'messages':>9}{'crossings':>10}{'refused':>8}" \
           f"{'withheld':>9}{'stalled':>8}{'mean gap s':>11}"
    lines = [head]
    for r in rows:
        lines.append(f"{r.kind:<10}{r.interrupt:<10}{r.duets:>6}{r.messages:>9}{r.crossings:>10}"
                     f"{r.refused_pushes:>8}{r.withheld_drafts:>9}{r.stalled:>8}{r.mean_gap:>11.1f}")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`textbot bench duet`'s options."""
    parser.add_argument("--duets", type=int, default=None, help="duets per responder kind (50; with --model 2)")
    parser.add_argument("--messages", type=int, default=12, help="messages per duet")
    parser.add_argument("--seed", type=int, default=1, help="the first duet's seed (each duet adds its number)")
    parser.add_argument("--limit", type=float, default=None,
                        help="seconds a duet may take (1800 virtual; with --model 120 real)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--model", action="store_true",
                        help="use the configured model (or the bundled local one) on the real clock instead of "
                             "stand-ins: each duet takes up to --limit real seconds, so keep --duets small")


def main(args: argparse.Namespace, make_stream: ResponderMaker | None = None, with_llm: WithModel | None = None) -> int:
    """Run the bench and print its table (or JSON); with --model, `make_stream` and `with_llm` come from the CLI."""
    args.duets = args.duets or (2 if args.model else 50)
    args.limit = args.limit or (120.0 if args.model else 1800.0)
    if args.model:
        return _with_model(args, make_stream, with_llm)
    rows = asyncio.run(measure(args.duets, args.messages, args.seed, args.limit))
    _print(args, rows, "stand-in sessions, virtual time")
    return 0


def _with_model(args: argparse.Namespace, make_stream: ResponderMaker | None, with_llm: WithModel | None) -> int:
    assert make_stream is not None and with_llm is not None
    try:
        make_actions: ResponderMaker | None = actions_maker()
    except ConfigError as exc:
        print(f"textbot: {exc}: only the stream rows are run", file=sys.stderr)
        make_actions = None
    rows: list[DuetFigures] = []

    async def run(ready: Settings) -> None:
        rows.extend(await measure_with_model(ready, make_stream, make_actions, args.duets, args.messages, args.limit))

    settings = Settings()
    asyncio.run(with_llm(run, settings))
    _print(args, rows, f"the model {settings.llm_model or 'bundled locally'}, real time")
    return 0


def _print(args: argparse.Namespace, rows: list[DuetFigures], how: str) -> None:
    if args.json:
        print(json.dumps([asdict(r) | {"mean_gap": round(r.mean_gap, 2)} for r in rows], indent=2))
    else:
        print(f"{args.duets} duets of {args.messages} messages per row, {how}")
        print(table(rows))
