"""`textbot bench turns`: how often each turn policy talks over people, and how long it makes them wait."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.bench.duplex_replay import cached_report
from bot.bench.log import MIN_STRETCH_TURNS, LogConversation, load_jsonl, scale_time, two_person_stretches
from bot.bench.progress import Progress
from bot.bench.replay import ReplayParams, ReplayResult, replay
from bot.bench.virtual_loop import VirtualTimeLoop

DEFAULT_POLICIES = ["immediate", "fixed:1.5", "fixed:2", "fixed:3", "fixed:10", "typing", "adaptive"]


@dataclass
class PolicyFigures:
    """The benchmark's metrics for one policy."""

    talk_over: float
    decision_p50: float
    decision_p90: float
    first_part_p50: float
    calls_per_turn: float
    wasted_per_turn: float
    crossed: int
    turns: int


def quantile(values: Sequence[float], q: float) -> float:
    """Nearest-rank quantile (nan for no values)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summarise(results: list[ReplayResult]) -> PolicyFigures:
    """Aggregate replays into the benchmark's figures."""
    turns = [t for r in results for t in r.turns]
    n = max(1, len(turns))
    decisions = [t.decision_delay for t in turns if t.decision_delay is not None]
    firsts = [t.first_part_delay for t in turns if t.first_part_delay is not None]
    return PolicyFigures(
        talk_over=sum(t.talked_over for t in turns) / n,
        decision_p50=quantile(decisions, 0.5),
        decision_p90=quantile(decisions, 0.9),
        first_part_p50=quantile(firsts, 0.5),
        calls_per_turn=sum(r.generations for r in results) / n,
        wasted_per_turn=sum(r.wasted for r in results) / n,
        crossed=sum(r.crossed for r in results),
        turns=len(turns),
    )


def _replay_alone(conv: LogConversation, human: str, policy: str, params: ReplayParams) -> ReplayResult:
    """One replay on its own virtual-time loop, so every replay's clock starts near zero (and stays precise)."""
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(replay(conv, human, policy, params))
    finally:
        loop.close()


def run_bench(convs: list[LogConversation], policies: list[str], params: ReplayParams,
              progress: Progress | None = None) -> dict[str, PolicyFigures]:
    """Replay every conversation, each side in turn as the human, under every policy."""
    figures: dict[str, PolicyFigures] = {}
    for policy in policies:
        results: list[ReplayResult] = []
        for conv in convs:
            results += [_replay_alone(conv, human, policy, params) for human in conv.authors]
            if progress is not None:
                progress.advance(len(conv.messages))
        figures[policy] = summarise(results)
    return figures


def load_source(source: str, split: str) -> list[LogConversation]:
    """`chitchat` or `synthetic` (the held-out split by default), or a JSONL file of messages."""
    if source == "synthetic":
        from bot.bench.synthetic import load_synthetic

        return load_synthetic(split)
    if source != "chitchat":
        return load_jsonl(source)
    from bot.bench.chitchat import load_chitchat, split_conversations

    train, test = split_conversations(load_chitchat())
    return {"test": test, "train": train, "all": train + test}[split]


def two_person_only(convs: list[LogConversation], source: str) -> list[LogConversation]:
    """More-than-two-person conversations become two-person stretches (said on stderr); ValueError if none is left."""
    out: list[LogConversation] = []
    crowded = 0
    for conv in convs:
        crowded += len(conv.authors) > 2
        out += two_person_stretches(conv) if len(conv.authors) > 2 else [conv]
    if crowded:
        print(f"{source}: {crowded} conversation(s) with more than two people were cut into two-person stretches "
              f"({len(out)} conversations to replay)", file=sys.stderr)
    if not out:
        raise ValueError(f"{source}: no two-person conversation or stretch to replay (each person needs "
                         f"{MIN_STRETCH_TURNS} turns in a stretch where only two people write)")
    return out


def format_table(figures: dict[str, PolicyFigures], baseline: str = "fixed:3") -> str:
    """A plain-text table of the figures, talk-over also relative to the fixed 3 s baseline."""
    base = figures.get(baseline)
    head = f"{'policy':<12}{'talk-over':>10}{'vs fixed:3':>11}{'decision p50':>13}{'p90':>7}" \
           f"{'first part p50':>15}{'calls/turn':>11}{'wasted/turn':>12}{'crossed':>8}"
    rows = [head]
    for name, f in figures.items():
        rel = f"{f.talk_over / base.talk_over:>10.0%}" if base and base.talk_over else f"{'':>10}"
        rows.append(f"{name:<12}{f.talk_over:>10.1%} {rel}{f.decision_p50:>12.2f}s{f.decision_p90:>6.1f}s"
                    f"{f.first_part_p50:>14.2f}s{f.calls_per_turn:>11.3f}{f.wasted_per_turn:>12.3f}{f.crossed:>8d}")
    return "\n".join(rows)


def to_json(figures: dict[str, PolicyFigures], signals: str, time_scale: float = 1.0) -> dict[str, Any]:
    """The `--json` document."""
    turns = next(iter(figures.values())).turns if figures else 0
    policies = {
        name: {"talk_over": f.talk_over, "decision_p50": f.decision_p50, "decision_p90": f.decision_p90,
               "first_part_p50": f.first_part_p50, "calls_per_turn": f.calls_per_turn,
               "wasted_per_turn": f.wasted_per_turn, "crossed": f.crossed}
        for name, f in figures.items()
    }
    doc: dict[str, Any] = {"policies": policies, "turns": turns, "signals": signals}
    if time_scale != 1.0:
        doc["time_scale"] = time_scale
    return doc


def plot(figures: dict[str, PolicyFigures], out: Path, title: str) -> None:
    """Talk-over against median decision delay for every policy (needs the `plot` extra)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name, f in figures.items():
        ax.scatter(f.decision_p50, 100 * f.talk_over, s=40)
        ax.annotate(name, (f.decision_p50, 100 * f.talk_over), textcoords="offset points", xytext=(5, 4))
    ax.set_xlabel("median decision delay (s)")
    ax.set_ylabel("talk-over rate (% of human turns)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `textbot bench turns`."""
    parser.add_argument("--data", default="chitchat", help="chitchat, synthetic, or a JSONL file of messages")
    parser.add_argument("--split", default="test", choices=["test", "train", "all"],
                        help="split of chitchat or synthetic")
    parser.add_argument("--time-scale", type=float, default=1.0,
                        help="multiply every gap of the log by this (0.5: twice as fast)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.add_argument("--policy", action="append", help="turn policy (repeatable); default: all baselines")
    parser.add_argument("--signals", default="text", choices=["text", "typing"])
    parser.add_argument("--json", type=Path, help="write the figures as JSON here")
    parser.add_argument("--plot", type=Path, help="write a PNG plot here (needs matplotlib)")
    parser.add_argument("--limit", type=int, help="only the first N conversations")
    parser.add_argument("--llm-latency", type=float, default=ReplayParams.llm_latency)
    parser.add_argument("--reply-chars", type=int, default=ReplayParams.reply_chars)
    parser.add_argument("--human-wpm", type=float, default=ReplayParams.human_wpm)
    parser.add_argument("--interrupt", default=ReplayParams.interrupt)
    parser.add_argument("--persona", default=ReplayParams.persona)
    parser.add_argument("--debounce", type=float, default=None, help="override the persona's debounce (s)")


def main(args: argparse.Namespace) -> int:
    """Run the benchmark and print (and optionally save) its figures."""
    scale = getattr(args, "time_scale", 1.0)
    if not scale > 0:
        print("--time-scale must be a positive number", file=sys.stderr)
        return 2
    try:
        convs = two_person_only(load_source(args.data, args.split)[: args.limit], args.data)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    convs = [scale_time(c, scale) for c in convs] if scale != 1.0 else convs
    # the same people at K times their pace also type K times faster: composing ends where the scaled log says
    params = ReplayParams(llm_latency=args.llm_latency, reply_chars=args.reply_chars, signals=args.signals,
                          human_wpm=args.human_wpm / scale, interrupt=args.interrupt, persona=args.persona,
                          debounce=args.debounce)
    policies = args.policy or DEFAULT_POLICIES
    started = time.process_time()
    progress = None
    if not getattr(args, "no_progress", False):
        progress = Progress(len(policies) * sum(len(c.messages) for c in convs), "replaying messages")
    try:
        figures = run_bench(convs, policies, params, progress)
    finally:
        if progress is not None:
            progress.close()
    scaled = f", gaps x{scale:g}" if scale != 1.0 else ""
    print(f"{len(convs)} conversations, {next(iter(figures.values())).turns} human turns, signals={args.signals}"
          f"{scaled}, stand-in LLM {params.llm_latency}s / {params.reply_chars} chars in {params.reply_parts} parts")
    print(format_table(figures))
    for line in cached_report(policies):  # duplex-cached:FILE: how many requests its file answered
        print(line)
    print(f"replayed in {time.process_time() - started:.1f} s of CPU")
    if args.json:
        args.json.write_text(json.dumps(to_json(figures, args.signals, scale), indent=2))
    if args.plot:
        plot(figures, args.plot, f"turn-taking on {args.data} ({args.signals} signals)")
    return 0
