"""What the composition root uses to run one worker among several: join, fence outlets, route, run duties."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext

from bot.core.engine import Engine
from bot.core.ports import Outlet, Store
from bot.core.routing import Work
from bot.settings import Settings
from bot.storage.database import Database
from bot.storage.leases import Leases, starting_alone
from bot.workers.cluster import Cluster
from bot.workers.duties import run_alone
from bot.workers.fence import fenced
from bot.workers.router import Router, Spread, spread_all, spread_direct_messages

SPREAD: dict[str, Spread] = {"discord": spread_direct_messages}


class Workers:
    """This worker's cluster membership and one router per platform engine."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self._routers: dict[int, Router] = {}

    def fence(self, outlet: Outlet, store: Store) -> tuple[Outlet, Store]:
        """`outlet` and `store`, refusing to send or write for a conversation this worker may have lost."""
        return fenced(outlet, store, self.cluster.holds)

    def route(self, engine: Engine) -> Router:
        """The router in front of `engine` (one per engine; the first call attaches the engine to the cluster)."""
        router = self._routers.get(id(engine))
        if router is None:
            self.cluster.attach(engine)
            platform = engine.deps.outlet.platform
            router = self._routers[id(engine)] = Router(self.cluster, engine, SPREAD.get(platform, spread_all))
        return router

    async def alone(self, name: str, work: Work, stop: asyncio.Event) -> None:
        """Run a duty while this worker holds it."""
        await run_alone(self.cluster, name, work, stop)


def starting(settings: Settings, db: Database) -> AbstractAsyncContextManager[None]:
    """With several workers, one at a time through start-up (migrations, the job store's table); else nothing."""
    return starting_alone(db) if settings.worker_count > 1 else nullcontext()


@asynccontextmanager
async def joined(settings: Settings, db: Database) -> AsyncIterator[Workers | None]:
    """With WORKER_COUNT > 1: this process as worker WORKER_ID, for as long as the block runs; else None."""
    if settings.worker_count <= 1:
        yield None
        return
    cluster = Cluster(Leases(db, settings.worker_lease_seconds), settings.worker_id, settings.worker_count)
    await cluster.start()
    loop, task = asyncio.get_running_loop(), asyncio.current_task()
    if task is not None:  # SIGTERM (the supervisor, a host's deploy): shut down cleanly and hand the chats on now
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        yield Workers(cluster)
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        await cluster.stop()
