"""The one source of time for the conversation core: real for the bot, virtual for tests and benches."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol


class Clock(Protocol):
    """What the core needs of time: the current instant and a way to wait."""

    def now(self) -> float:
        """Seconds on this clock's own scale."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait until `seconds` have passed on this clock."""
        ...

    def hold(self) -> AbstractAsyncContextManager[None]:
        """Mark real I/O in progress (a virtual clock does not advance across it)."""
        ...


class RealClock:
    """Wall-clock time on the running event loop; records how late each sleep wakes."""

    def __init__(self) -> None:
        self.lateness: list[float] = []
        self.schedule: list[tuple[float, float]] = []  # (monotonic start, seconds) of each recorded sleep
        self.record_lateness = False

    def now(self) -> float:
        """Wall-clock seconds since the epoch, so stored times mean the same after a restart."""
        return time.time()

    async def sleep(self, seconds: float) -> None:
        """Sleep on the event loop, noting the lateness when asked to."""
        start = time.monotonic()
        due = start + max(0.0, seconds)
        await asyncio.sleep(max(0.0, seconds))
        if self.record_lateness:
            self.lateness.append(time.monotonic() - due)
            self.schedule.append((start, max(0.0, seconds)))

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        """Nothing to hold on a real clock."""
        yield


class VirtualClock:
    """Time that moves only when a test or bench advances it, so a minute takes milliseconds."""

    def __init__(self, start: float = 1_000.0) -> None:
        self._now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._holds = 0
        self._lent = 0  # holds whose far end (a fake server) is spending virtual time: they do not stop the clock

    def now(self) -> float:
        """The virtual instant."""
        return self._now

    async def sleep(self, seconds: float) -> None:
        """Wait until the clock is advanced past now + seconds."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + max(0.0, seconds), next(self._seq), fut))
        await fut

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        """Keep time still while real I/O (a local HTTP call) is under way."""
        self._holds += 1
        try:
            yield
        finally:
            self._holds -= 1

    async def elapse(self, seconds: float) -> None:
        """Let `seconds` pass inside held I/O: a fake server on this clock answering slowly (its client holds
        the clock while it waits, so that hold stops counting while the time passes, even if the client leaves)."""
        self._lent += 1
        try:
            await self.sleep(seconds)
        finally:
            self._lent -= 1

    def next_deadline(self) -> float | None:
        """When the earliest live sleeper is due, if any."""
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)
        return self._sleepers[0][0] if self._sleepers else None

    async def settle(self, real_timeout: float = 5.0) -> None:
        """Let every task run until all are waiting on this clock (or on nothing)."""
        deadline = time.monotonic() + real_timeout
        quiet = 0
        while quiet < 3:
            for _ in range(20):
                await asyncio.sleep(0)
            if self._holds > self._lent:
                quiet = 0
                if time.monotonic() > deadline:
                    raise TimeoutError("real I/O under clock.hold() did not finish")
                await asyncio.sleep(0.002)
            else:
                quiet += 1

    async def advance(self, seconds: float) -> None:
        """Move time forward by `seconds`, waking each sleeper at its own instant, in order."""
        await self.advance_to(self._now + seconds)

    async def advance_to(self, target: float) -> None:
        """Move time forward to `target`, waking sleepers in order and letting each settle."""
        await self.settle()
        while True:
            due = self.next_deadline()
            if due is None or due > target:
                break
            self._now = max(self._now, due)
            while self._sleepers and self._sleepers[0][0] <= self._now:
                _, _, fut = heapq.heappop(self._sleepers)
                if not fut.done():
                    fut.set_result(None)
            await self.settle()
        self._now = max(self._now, target)
        await self.settle()

    async def run_until(
        self, done: Callable[[], bool], limit: float = 600.0, real_timeout: float = 10.0
    ) -> float:
        """Advance sleeper by sleeper until `done()` holds; return the virtual time it took.

        When nothing sleeps on the clock, real time is given to outside I/O (a platform's
        long poll) instead, bounded by `real_timeout`.
        """
        start = self._now
        real_deadline = time.monotonic() + real_timeout
        await self.settle()
        while not done():
            due = self.next_deadline()
            if due is not None and due - start <= limit:
                await self.advance_to(due)
                continue
            if time.monotonic() > real_deadline:
                raise TimeoutError(f"condition not met within {limit} virtual seconds")
            await asyncio.sleep(0.005)
            await self.settle()
        return self._now - start
