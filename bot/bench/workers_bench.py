"""`textbot bench engine --workers 1 2 4`: the same traffic split over 1, 2, 4 worker processes.

Each worker is a process of its own running the engine bench's traffic on its share of the
conversations and of the message rate, as several `textbot run` workers do once each owns its
chats. The figures are the engine's: no database, no hand-over between workers (the store is in
memory), so they show how lateness and CPU change when the event loops are split over processes,
not what PostgreSQL adds. They cannot show more than the machine has: with W workers on C cores,
W > C only adds context switches.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

from bot.bench.engine_bench import traffic
from bot.core.tasks import cancel_and_wait
from bot.runtime import keep_gc_young, tune_gc


async def _worker_traffic(n: int, rate: float, seconds: float, latency: float) -> dict[str, float]:
    tune_gc()  # as `textbot run` does
    gc_keeper = asyncio.create_task(keep_gc_young(), name="gc")
    try:
        return await traffic(n, rate, seconds, latency)
    finally:
        await cancel_and_wait(gc_keeper)


def one_worker(n: int, rate: float, seconds: float, latency: float) -> dict[str, float]:
    """One worker process's run: its `n` conversations at `rate` messages per second."""
    return asyncio.run(_worker_traffic(n, rate, seconds, latency))


def split(conversations: int, rate: float, seconds: float, latency: float, workers: int) -> dict[str, float]:
    """Run `workers` processes at once, each with 1/workers of the conversations and of the rate; sum them up."""
    share, extra = divmod(conversations, workers)
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        runs = [pool.submit(one_worker, share + (i < extra), rate / workers, seconds, latency) for i in range(workers)]
        results = [run.result() for run in runs]
    wall = max(r["wall_s"] for r in results)
    return {
        "workers": workers, "conversations": conversations,
        "messages_per_s": sum(r["messages"] for r in results) / seconds,
        "events_per_s": sum(r["events_per_s"] * r["wall_s"] for r in results) / wall,
        "cpu_s": sum(r["cpu_s"] for r in results), "wall_s": wall,
        "lateness_p50_ms": statistics.median(r["lateness_p50_ms"] for r in results),
        "lateness_p99_ms": max(r["lateness_p99_ms"] for r in results),
        "floor_p99_ms": max(r["floor_p99_ms"] for r in results),
        "parts_sent": sum(r["parts_sent"] for r in results),
    }


def _print(result: dict[str, float]) -> None:
    print(
        f"{int(result['workers']):>2} workers {int(result['conversations']):>6} convs  "
        f"{result['messages_per_s']:6.0f} msg/s  {result['events_per_s']:7.0f} events/s  "
        f"cpu {result['cpu_s']:5.1f}s/{result['wall_s']:.1f}s wall  "
        f"lateness p50 {result['lateness_p50_ms']:.1f} ms p99 {result['lateness_p99_ms']:.1f} ms "
        f"(worst worker; its bare loop p99 {result['floor_p99_ms']:.1f} ms)  parts {int(result['parts_sent'])}"
    )


def main(args: argparse.Namespace) -> int:
    """For each conversation count and worker count, run the split traffic and print one line."""
    print(f"stand-in LLM latency {args.latency}s, {args.rate:.0f} human msg/s for {args.seconds}s in all, "
          f"real clock, {os.cpu_count()} CPU cores; each worker is a process with its share")
    for n in args.conversations:
        for workers in args.workers:
            _print(split(n, args.rate, args.seconds, args.latency, workers))
    return 0
