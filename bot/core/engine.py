"""Routes platform-neutral events to one actor per conversation, creating and releasing actors."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace

from bot.core.actor import ConversationActor
from bot.core.clock import Clock
from bot.core.config import EngineDeps
from bot.core.events import ConversationKey, Event
from bot.core.ports import Outlet
from bot.core.routing import Inbound, RunAlone, run_here
from bot.core.tasks import cancel_and_wait


class Engine:
    """The conversation engine of one platform: an actor per chat, so chats never block each other."""

    def __init__(self, deps: EngineDeps) -> None:
        self.deps = deps
        self.actors: dict[ConversationKey, ConversationActor] = {}
        self._reaper: asyncio.Task[None] | None = None

    def actor(self, key: ConversationKey) -> ConversationActor:
        """The live actor for `key`, created (it restores itself from the store) if needed."""
        actor = self.actors.get(key)
        if actor is None:
            actor = ConversationActor(key, self.deps)
            self.actors[key] = actor
            if self._reaper is None:
                self._reaper = asyncio.create_task(self._reap_idle(), name="engine:reaper")
        return actor

    def wake(self, key: ConversationKey) -> None:
        """Bring `key`'s conversation back from the store now, so what it left unanswered is answered."""
        self.actor(key).wake()

    def submit(self, event: Event) -> asyncio.Future[None]:
        """Hand an event to its conversation; the future resolves once it is stored and received."""
        if event.at is None:
            event = replace(event, at=self.deps.clock.now())
        return self.actor(event.key).post(event)

    async def receive(self, event: Event) -> None:
        """Submit an event and wait until it is stored and counted as received."""
        await self.submit(event)

    @property
    def quiet(self) -> bool:
        """True when no conversation has anything unanswered, in flight or queued."""
        return all(actor.quiet for actor in self.actors.values())

    async def until_idle(self, limit: float = 600.0, poll: float = 0.05) -> None:
        """Wait until every conversation is quiet: on a virtual clock by advancing it (at most `limit`
        virtual seconds), on a real one by looking every `poll` seconds."""
        run_until = getattr(self.deps.clock, "run_until", None)
        if run_until is not None:
            await run_until(lambda: self.quiet, limit=limit)
            return
        while not self.quiet:
            await asyncio.sleep(poll)

    async def _reap_idle(self) -> None:
        """Release actors idle for `idle_seconds`; their state lives on in the store."""
        idle_for = self.deps.idle_seconds
        while True:
            await self.deps.clock.sleep(idle_for / 2)
            now = self.deps.clock.now()
            for key, actor in list(self.actors.items()):
                if actor.idle and now - actor.last_active >= idle_for:
                    del self.actors[key]

    async def close(self) -> None:
        """Stop every actor and its in-flight work."""
        await cancel_and_wait(self._reaper)
        self._reaper = None
        actors = list(self.actors.values())
        self.actors.clear()
        await asyncio.gather(*(a.close() for a in actors))


@dataclass(frozen=True)
class EngineFactory:
    """What a platform adapter gets from the composition root: the clock, and its engine for an outlet."""

    clock: Clock
    build: Callable[[Outlet], Engine]
    inbound: Callable[[Engine], Inbound] = lambda engine: engine  # several workers: routes to each chat's owner
    alone: RunAlone = run_here  # runs a duty that only one worker may do at a time

    def __call__(self, outlet: Outlet) -> Engine:
        """The engine whose replies go out through `outlet`."""
        return self.build(outlet)
