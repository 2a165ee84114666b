"""Routes platform-neutral events to one actor per conversation, creating and releasing actors."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from bot.core.actor import ConversationActor
from bot.core.config import EngineDeps
from bot.core.events import ConversationKey, Event


class Engine:
    """The conversation engine of one platform: an actor per chat, so chats never block each other."""

    def __init__(self, deps: EngineDeps) -> None:
        self.deps = deps
        self.deps.release = self._release
        self.actors: dict[ConversationKey, ConversationActor] = {}

    def actor(self, key: ConversationKey) -> ConversationActor:
        """The live actor for `key`, started (and restored from the store) if needed."""
        actor = self.actors.get(key)
        if actor is None:
            actor = ConversationActor(key, self.deps)
            self.actors[key] = actor
            actor.start()
        return actor

    def submit(self, event: Event) -> asyncio.Future[None]:
        """Hand an event to its conversation; the future resolves once it is stored and received."""
        if event.at is None:
            event = replace(event, at=self.deps.clock.now())
        return self.actor(event.key).post(event)

    async def receive(self, event: Event) -> None:
        """Submit an event and wait until it is stored and counted as received."""
        await self.submit(event)

    def _release(self, actor: ConversationActor) -> None:
        if self.actors.get(actor.key) is actor:
            del self.actors[actor.key]

    async def close(self) -> None:
        """Stop every actor and its in-flight work."""
        actors = list(self.actors.values())
        self.actors.clear()
        await asyncio.gather(*(a.close() for a in actors))
