"""`textbot bench engine`: many simulated conversations in one process, on the real event loop.

Prints events handled per second, how late planned sleeps (typing, pauses, sends) fire, and memory per
idle conversation, for each requested number of conversations. Shared machines are noisy, so the same
schedule of sleeps is then replayed on a bare asyncio loop with no engine, and the engine's p99 lateness
is printed as a ratio to that floor.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import statistics
import time
import tracemalloc
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from bot.core.clock import Clock, RealClock
from bot.core.config import EngineDeps
from bot.core.engine import Engine
from bot.core.events import Author, ConversationKey, HumanMessage
from bot.core.memory_store import MemoryStore
from bot.core.ports import Intent, ReplyRequest, Say, SessionFeed
from bot.core.tasks import cancel_and_wait
from bot.runtime import keep_gc_young, tune_gc
from bot.testing import CountingOutlet
from persona import load_persona

WORDS = ["hey", "so", "what do you think?", "lol", "and then", "ok but", "wait really?", "idk"]


@dataclass
class StandInLLM:
    """A model stand-in: fixed latency, then a short reply in two parts."""

    clock: Clock
    latency: float
    calls: int = 0
    parts: list[str] = field(default_factory=lambda: ["haha yeah", "what about you?"])

    async def reply(self, request: ReplyRequest, feed: SessionFeed) -> AsyncIterator[Intent]:
        """Wait the latency, then yield the parts."""
        self.calls += 1
        await self.clock.sleep(self.latency)
        for part in self.parts:
            yield Say(part)


@dataclass
class EventCounter:
    """A tracer that only counts what the actors did (decisions, typing, sends, cancels...)."""

    count: int = 0

    def __call__(self, key: ConversationKey, kind: str, at: float, **data: Any) -> None:
        """Count one event."""
        self.count += 1


def _engine(
    clock: Clock, latency: float, scale: float, outlet: CountingOutlet, counter: EventCounter
) -> tuple[Engine, StandInLLM]:
    llm = StandInLLM(clock, latency)
    deps = EngineDeps(clock=clock, responder=llm, outlet=outlet, store=MemoryStore(), trace=counter,
                      persona=load_persona("sunny"), scale=scale, turn="fixed:2", rng=random.Random(1))
    return Engine(deps), llm


async def _quiet(engine: Engine, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if engine.quiet:
            return
        await asyncio.sleep(0.05)


async def traffic(n: int, rate: float, seconds: float, latency: float) -> dict[str, float]:
    """Send `rate` human messages per second spread over `n` conversations; measure the engine."""
    clock = RealClock()
    outlet = CountingOutlet()
    counter = EventCounter()
    engine, llm = _engine(clock, latency, 1.0, outlet, counter)
    rng = random.Random(42)
    author = Author("h", "human")
    keys = [ConversationKey("bench", str(i)) for i in range(n)]
    for key in keys[:50]:  # warm up caches (persona, policies) before measuring
        engine.submit(HumanMessage(key, "warm", author, "hi"))
    await _quiet(engine, 60)
    counter.count = 0
    clock.record_lateness = True
    sent = 0
    start = time.monotonic()
    cpu_start = time.process_time()
    tick = 0.01
    while (elapsed := time.monotonic() - start) < seconds:
        due = int(elapsed * rate) - sent
        for _ in range(due):
            key = keys[rng.randrange(n)]
            engine.submit(HumanMessage(key, f"m{sent}", author, rng.choice(WORDS)))
            sent += 1
        await asyncio.sleep(tick)
    await _quiet(engine, 60)
    wall = time.monotonic() - start
    cpu = time.process_time() - cpu_start
    lateness = sorted(clock.lateness)
    floor = await bare_loop_lateness(clock.schedule)
    result = {
        "conversations": n, "messages": sent, "wall_s": wall, "cpu_s": cpu,
        "events_per_s": (sent + counter.count) / wall, "messages_per_s": sent / seconds,
        "llm_calls": llm.calls, "parts_sent": outlet.sent, "sleeps": len(lateness),
        "lateness_p50_ms": 1000 * statistics.median(lateness) if lateness else 0.0,
        "lateness_p99_ms": 1000 * _p99(lateness),
        "floor_p99_ms": 1000 * _p99(floor),
    }
    await engine.close()
    return result


def _p99(values: list[float]) -> float:
    return values[int(0.99 * (len(values) - 1))] if values else 0.0


async def bare_loop_lateness(schedule: list[tuple[float, float]]) -> list[float]:
    """The floor: the same sleeps, started at the same offsets, on a bare asyncio loop with no engine."""
    if not schedule:
        return []
    first = min(start for start, _ in schedule)
    lateness: list[float] = []

    async def one(offset: float, seconds: float, origin: float) -> None:
        await asyncio.sleep(max(0.0, origin + offset - time.monotonic()))
        due = time.monotonic() + seconds
        await asyncio.sleep(seconds)
        lateness.append(time.monotonic() - due)

    origin = time.monotonic()
    await asyncio.gather(*(one(start - first, seconds, origin) for start, seconds in schedule))
    return sorted(lateness)


async def idle_memory(n: int) -> dict[str, float]:
    """Bytes per idle conversation: each has had one exchange and its actor is still alive."""
    clock = RealClock()
    outlet = CountingOutlet()
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    engine, _ = _engine(clock, 0.0, 0.0, outlet, EventCounter())
    author = Author("h", "human")
    for i in range(n):
        engine.submit(HumanMessage(ConversationKey("bench", str(i)), "m", author, "hey what's up?"))
    await asyncio.sleep(0.1)
    await _quiet(engine, 120)
    gc.collect()
    live = tracemalloc.get_traced_memory()[0] - base
    alive = len(engine.actors)
    for actor in list(engine.actors.values()):  # what a released conversation keeps: the store only
        await actor.close()
    engine.actors.clear()
    gc.collect()
    released = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    await engine.close()
    return {"idle_actor_bytes": live / n, "released_bytes": released / n, "actors_alive": alive}


def _print(result: dict[str, float], mem: dict[str, float]) -> None:
    print(
        f"{int(result['conversations']):>6} convs  {result['messages_per_s']:7.0f} msg/s  "
        f"{result['events_per_s']:8.0f} events/s  cpu {result['cpu_s']:.1f}s/{result['wall_s']:.1f}s wall  "
        f"lateness p50 {result['lateness_p50_ms']:.1f} ms p99 {result['lateness_p99_ms']:.1f} ms "
        f"(bare loop p99 {result['floor_p99_ms']:.1f} ms, ×{_ratio(result):.1f})  "
        f"idle conv {mem['idle_actor_bytes'] / 1024:.1f} KB (released {mem['released_bytes'] / 1024:.1f} KB)  "
        f"llm calls {int(result['llm_calls'])} parts {int(result['parts_sent'])}"
    )


def _ratio(result: dict[str, float]) -> float:
    """The engine's p99 lateness over the bare loop's (the goal: within 2×)."""
    return result["lateness_p99_ms"] / max(result["floor_p99_ms"], 0.1)


async def _bench(args: argparse.Namespace) -> None:
    tune_gc()  # as `textbot run` does
    gc_keeper = asyncio.create_task(keep_gc_young(), name="gc")
    print(f"stand-in LLM latency {args.latency}s, {args.rate:.0f} human msg/s for {args.seconds}s, real clock")
    for n in args.conversations:
        result = await traffic(n, args.rate, args.seconds, args.latency)
        mem = await idle_memory(n)
        _print(result, mem)
    await cancel_and_wait(gc_keeper)


def main(args: argparse.Namespace) -> int:
    """Run the engine benchmark and print its figures."""
    asyncio.run(_bench(args))
    return 0
