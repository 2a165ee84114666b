"""This worker among the others: its heartbeat, the conversations it owns, takeovers and the hand-over queue.

A worker registers a row, renews it every third of the lease period and holds every lease through it.
On each beat it also takes the leases of workers that stopped beating (each dead lease goes to the
live worker that rendezvous hashing picks, so a dead worker's chats spread over the survivors),
settles each conversation it takes on (parts its last owner left "planned" become "unconfirmed")
and, if it has something unanswered, wakes its actor, which restores itself from the store and answers
it once.

Self-fencing: if a renewal has not succeeded for `FENCE` of the lease period, the worker stops
sending and writing at once (see `fence.py`) and drops every actor, because another worker may take
its conversations as soon as the period is over. It then rejoins under a new id and expires the old
one, so whoever takes the old leases (this worker too) wakes those chats. Between workers everything
goes through PostgreSQL: there is no coordinator process.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Awaitable

from bot.core.engine import Engine
from bot.core.events import ConversationKey
from bot.core.tasks import cancel_and_wait
from bot.storage.leases import Leases, conversation_lease, conversation_of
from bot.workers import wire

log = logging.getLogger(__name__)
FENCE = 0.8  # of the lease period: after this long without a renewal the worker assumes it lost its leases
BATCH = 200  # hand-over rows taken per transaction
QUIET_POLL = 1.0  # seconds between looks at the queue while notifications come (rows a platform left waiting)
LISTEN_RETRY = 30.0  # seconds of polling before trying to LISTEN again


def rendezvous(lease: str, workers: list[str]) -> str:
    """The worker a conversation belongs with: the highest hash of (lease, worker); stable as workers come and go."""
    return max(workers, key=lambda w: hashlib.blake2b(f"{lease}|{w}".encode(), digest_size=8).digest())


class Cluster:
    """One worker's membership: heartbeat, owned conversations, takeovers, the hand-over consumer, duties."""

    def __init__(self, leases: Leases, slot: int, slots: int, poll: float = 0.05) -> None:
        self.leases = leases
        self.slot, self.slots = slot, slots
        self.poll = poll
        self.worker_id = ""
        self.live: list[str] = []
        self.owned: set[str] = set()
        self.engines: dict[str, Engine] = {}
        self.duty_halts: set[asyncio.Event] = set()
        self._renewed_at = 0.0
        self._fenced = False  # its actors were dropped: it must rejoin under a new id
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def beat(self) -> float:
        """Seconds between heartbeats."""
        return self.leases.ttl / 3

    def valid(self) -> bool:
        """True while this worker's leases are surely still its own."""
        return time.monotonic() < self._renewed_at + FENCE * self.leases.ttl

    def holds(self, key: ConversationKey) -> bool:
        """True if `key` is this worker's to act on right now."""
        return conversation_lease(key) in self.owned and self.valid()

    async def start(self) -> None:
        """Register, then beat and consume hand-overs in the background."""
        await self._register()
        self._tasks = [asyncio.create_task(self._heartbeat(), name="workers:heartbeat"),
                       asyncio.create_task(self._consume(), name="workers:handover")]

    async def stop(self) -> None:
        """Stop beating and consuming; expire this worker so the others take its conversations now."""
        for task in self._tasks:
            await cancel_and_wait(task)
        self._tasks = []
        if self.worker_id:
            await self.leases.retire(self.worker_id)
            log.info("worker %s stopped; its conversations go to the others", self.slot)

    async def _register(self) -> None:
        started = time.monotonic()
        self.worker_id = await self.leases.register(self.slot, self.slots)
        self._renewed_at = started
        self.live = await self.leases.live_workers()
        log.info("worker %s of %s joined as %s (%s live)", self.slot, self.slots, self.worker_id, len(self.live))

    async def members(self) -> list[str]:
        """The live workers as the database has them now (the heartbeat's list may be a beat old)."""
        # a worker that joined since the last beat would otherwise get no new chat placed on it until the next
        self.live = await self.leases.live_workers()
        return self.live

    def attach(self, engine: Engine) -> None:
        """Run this platform's conversations on `engine`; the ones needing an answer are looked for now."""
        self.engines[engine.deps.outlet.platform] = engine
        self._tasks.append(asyncio.create_task(self._adopt_unowned(), name="workers:unowned"))

    async def adopt(self, key: ConversationKey, wake: bool) -> None:
        """Take a conversation on: settle what its last owner left, own it, and (if `wake`) restore its actor."""
        await self.leases.settle(key)
        self.owned.add(conversation_lease(key))
        engine = self.engines.get(key.platform)
        if wake and engine is not None:
            engine.wake(key)

    async def _adopt_unowned(self) -> None:
        """At start: conversations with something unanswered that no live worker holds (say, after a full stop)."""
        try:
            for key in await self.leases.needing_an_answer():
                lease = conversation_lease(key)
                if key.platform not in self.engines or lease in self.owned:
                    continue
                if await self.leases.acquire(lease, self.worker_id):
                    await self.adopt(key, wake=True)
        except Exception:
            log.exception("could not look for unanswered conversations; they wait for their next message")

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.beat)
            if not self.valid() and not self._fenced:
                await self._drop_everything("its heartbeat could not be renewed in time")
                self._fenced = True
            try:
                await self._beat_once()
            except Exception as exc:
                log.warning("worker heartbeat failed (%s: %s)", type(exc).__name__, exc)

    async def _beat_once(self) -> None:
        started = time.monotonic()
        if self._fenced or not await self.leases.renew(self.worker_id):
            if not self._fenced:
                await self._drop_everything("the others found it dead")
            # Start afresh: its old leases are dead now, so whoever takes them (this worker too) wakes those chats.
            await self.leases.retire(self.worker_id)
            await self._register()
            self._fenced = False
            return
        self._renewed_at = started
        self.live = await self.leases.live_workers()
        await self._take_over()

    async def _take_over(self) -> None:
        """Take the dead workers' conversations that hash to this worker; wake those with something unanswered
        (an idle chat is only restored when it next hears something, so a restart wakes no crowd of actors)."""
        mine = [(lease, dead, key) for lease, dead in await self.leases.dead_leases()
                if (key := conversation_of(lease)) is not None and key.platform in self.engines
                and rendezvous(lease, self.live) == self.worker_id]
        waiting = set(await self.leases.needing_an_answer()) if mine else set()
        for lease, dead, key in mine:
            if await self.leases.take(lease, dead, self.worker_id):
                log.info("took over %s from worker %s, which stopped", key, dead)
                await self.adopt(key, wake=key in waiting)
        await self.leases.forget_dead_workers()

    async def _drop_everything(self, why: str) -> None:
        log.warning("worker %s drops its conversations: %s", self.slot, why)
        self.owned.clear()
        for halt in list(self.duty_halts):
            halt.set()
        for engine in self.engines.values():
            await engine.close()

    async def _consume(self) -> None:
        while True:
            try:
                async with self.leases.notified() as woken:
                    await self._consume_when_woken(woken)
            except Exception as exc:  # no LISTEN connection (or it broke): poll until it can be had again
                log.warning("hand-over notifications unavailable (%s); polling", type(exc).__name__)
                await self._consume_when_woken(None, until=time.monotonic() + LISTEN_RETRY)

    async def _consume_when_woken(self, woken: asyncio.Event | None, until: float = float("inf")) -> None:
        """Take hand-overs whenever notified (and every `poll` without notifications, or each second with)."""
        while time.monotonic() < until:
            if woken is not None:
                woken.clear()  # before the query: a notification during it wakes the next wait at once
            try:
                taken = await self._consume_batch()
            except Exception as exc:
                log.warning("could not take handed-over events (%s: %s)", type(exc).__name__, exc)
                taken = 0
            if taken:
                continue
            if woken is None:
                await asyncio.sleep(self.poll)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(woken.wait(), timeout=QUIET_POLL)

    async def _consume_batch(self) -> int:
        if not self.valid():
            return 0
        async with self.leases.claimed(self.worker_id, BATCH) as claim:
            waiting: list[tuple[int, Awaitable[None]]] = []
            for row in claim.rows:
                key = conversation_of(row.lease)
                engine = self.engines.get(key.platform) if key is not None else None
                if key is None or engine is None or row.id is None:
                    continue  # its platform is not running here yet: it stays queued
                if row.lease not in self.owned:
                    await self.adopt(key, wake=False)
                try:
                    event = wire.load(row.payload)
                except ValueError as exc:  # written by a newer version: nothing here can handle it
                    log.error("dropped a handed-over event for %s: %s", key, exc)
                    claim.done.append(row.id)
                    continue
                waiting.append((row.id, engine.submit(event)))
            results = await asyncio.gather(*(done for _, done in waiting), return_exceptions=True)
            claim.done += [row_id for (row_id, _), result in zip(waiting, results, strict=True)
                           if not isinstance(result, BaseException)]
            return len(claim.done)
