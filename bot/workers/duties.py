"""Duties only one worker may do at a time (Telegram's long polling), held as leases like conversations.

Worker 0 asks first; the others ask once a beat, so when the holder dies another takes the duty
within the lease period (Telegram keeps the updates nobody confirmed, so none is lost meanwhile).
A worker that loses its leases (see cluster.py) is told to halt its duties.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.core.routing import Work
from bot.core.tasks import cancel_and_wait
from bot.storage.leases import duty_lease
from bot.workers.cluster import Cluster

log = logging.getLogger(__name__)


async def run_alone(cluster: Cluster, name: str, work: Work, stop: asyncio.Event) -> None:
    """Run `work` whenever this worker holds the duty `name`, until `stop` is set."""
    if cluster.slot != 0:  # let worker 0 take it first, so who polls is predictable when all are well
        await _wait(stop, cluster.beat)
    while not stop.is_set():
        if not (cluster.valid() and await _acquire(cluster, name)):
            await _wait(stop, cluster.beat)
            continue
        log.info("worker %s took the duty %s", cluster.slot, name)
        halt = asyncio.Event()
        cluster.duty_halts.add(halt)
        relay = asyncio.create_task(_relay(stop, halt), name=f"workers:duty:{name}")
        try:
            await work(halt)
        finally:
            cluster.duty_halts.discard(halt)
            await cancel_and_wait(relay)


async def _acquire(cluster: Cluster, name: str) -> bool:
    try:
        return await cluster.leases.acquire(duty_lease(name), cluster.worker_id)
    except Exception as exc:
        log.warning("could not ask for the duty %s (%s: %s)", name, type(exc).__name__, exc)
        return False


async def _relay(stop: asyncio.Event, halt: asyncio.Event) -> None:
    await stop.wait()
    halt.set()


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
