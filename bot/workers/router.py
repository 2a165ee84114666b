"""Inbound events with several workers: to this worker's engine if it owns the chat, else to the owner's queue.

A conversation no live worker holds gets an owner on its first event: the worker that received it,
when the platform already spreads chats over the workers (a Discord server's channels arrive on
its shard's worker), or else the worker rendezvous hashing picks (Telegram's updates all arrive at
the one polling worker, Discord DMs all at shard 0), so those spread too. The receiver writes the
lease for the chosen worker (one conditional statement: it fails if someone else just did) and
hands the event over; the owner's consumer takes it, in order, from the queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace

from bot.core.engine import Engine
from bot.core.events import Command, Event, HumanMessage
from bot.storage.leases import conversation_lease
from bot.workers import wire
from bot.workers.cluster import Cluster, rendezvous

log = logging.getLogger(__name__)
ATTEMPTS = 3  # placing races: another receiver may take the lease between our two statements

Spread = Callable[[Event], bool]  # True: place a new chat by hashing; False: with the worker that received it


def spread_all(event: Event) -> bool:
    """Telegram: one worker receives every update, so every new chat is spread."""
    return True


def spread_direct_messages(event: Event) -> bool:
    """Discord: DMs all arrive on shard 0 and are spread; a server's chats stay with their shard's worker."""
    return isinstance(event, HumanMessage | Command) and not event.is_group


class Router:
    """The `Inbound` of one platform on one worker."""

    def __init__(self, cluster: Cluster, engine: Engine, spread: Spread) -> None:
        self.cluster = cluster
        self.engine = engine
        self.spread = spread
        self._submitted: set[asyncio.Task[None]] = set()

    async def receive(self, event: Event) -> bool:
        """Stored here (True), or committed to the owner's queue (False), when this returns."""
        if self.cluster.holds(event.key):
            await self.engine.receive(event)
            return True
        if event.at is None:  # the time it arrived, wherever it is handled
            event = replace(event, at=self.engine.deps.clock.now())
        lease = conversation_lease(event.key)
        for _ in range(ATTEMPTS):
            holder = await self.cluster.leases.holder(lease)
            if holder is not None:  # even when it is us: earlier events may still be queued for it
                await self.cluster.leases.hand_over(lease, wire.dump(event))
                return False
            me = self.cluster.worker_id
            target = rendezvous(lease, await self.cluster.members() or [me]) if self.spread(event) else me
            if await self.cluster.leases.acquire(lease, target):
                if target != me:
                    await self.cluster.leases.hand_over(lease, wire.dump(event))
                    return False
                await self.cluster.adopt(event.key, wake=False)
                await self.engine.receive(event)
                return True
        raise RuntimeError(f"could not find or choose an owner for {event.key}")

    def submit(self, event: Event) -> asyncio.Task[None]:
        """`receive` in a kept task (the long-horizon jobs submit and do not wait)."""
        task = asyncio.create_task(self._receive_logged(event), name=f"workers:submit:{event.key}")
        self._submitted.add(task)
        task.add_done_callback(self._submitted.discard)
        return task

    async def _receive_logged(self, event: Event) -> None:
        try:
            await self.receive(event)
        except Exception:
            log.exception("could not hand %s over to its owner", type(event).__name__)
