"""The web chat served on 127.0.0.1 in the test's own event loop, its engine on a virtual clock, and tabs
that talk to it over a real websocket (the `websockets` client), as the page does."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from bot.core.clock import VirtualClock
from bot.core.config import EngineDeps
from bot.core.engine import Engine
from bot.core.memory_store import MemoryStore
from bot.core.ports import Outlet, Responder, Store
from bot.web import WebServer, create_web_app
from bot.web.chat import WebChat
from persona import load_persona
from tests.kit import ScriptedResponder

Json = dict[str, Any]
REAL_TIMEOUT = 5.0


@dataclass
class Tab:
    """One browser tab's socket: what it sends, and what it is sent, in order."""

    ws: ClientConnection

    async def send(self, message: Json | str) -> None:
        """Send a JSON message (or raw text, as a broken page might)."""
        await self.ws.send(message if isinstance(message, str) else json.dumps(message))

    async def receive(self) -> Json:
        """The next message the server sent."""
        message: Json = json.loads(await asyncio.wait_for(self.ws.recv(), REAL_TIMEOUT))
        return message

    async def next(self, *kinds: str) -> Json:
        """The next message of one of `kinds`, passing over the rest (timeline redraws, typing)."""
        while (message := await self.receive())["type"] not in kinds:
            pass
        return message

    async def says(self, message_id: str, text: str) -> Json:
        """Send a chat message; the server's answer for it (an ack or a not_sent)."""
        await self.send({"type": "message", "id": message_id, "text": text})
        return await self.next("ack", "not_sent")


@dataclass
class WebSite:
    """The running web chat, its clock, and a way to open tabs on it."""

    url: str
    chat: WebChat
    clock: VirtualClock

    @asynccontextmanager
    async def tab(self, tab_id: str) -> AsyncIterator[Tab]:
        """A tab open on the chat (its welcome is read first); closed when the block ends."""
        async with connect(self.url.replace("http", "ws", 1) + f"/ws?tab={tab_id}",
                           origin=self.url) as ws:  # type: ignore[arg-type]
            tab = Tab(ws)
            assert (await tab.receive())["type"] == "welcome"
            yield tab

    async def welcome(self, tab_id: str) -> Json:
        """What a tab that opens now is shown first."""
        async with connect(self.url.replace("http", "ws", 1) + f"/ws?tab={tab_id}",
                           origin=self.url) as ws:  # type: ignore[arg-type]
            return await Tab(ws).receive()

    def transcript(self, tab_id: str) -> list[str]:
        """The texts a reload of this tab would show, from its room."""
        room = self.chat.rooms.rooms[next(k for k in self.chat.rooms.rooms if k.chat == tab_id)]
        return [b["text"] for b in room.transcript]


@asynccontextmanager
async def web_chat(store: Store | None = None, idle_seconds: float = 300.0, latency: float = 1.0,
                   responders: Callable[[VirtualClock], dict[str, Responder]] | None = None,
                   ) -> AsyncIterator[WebSite]:
    """The web chat on a free port of 127.0.0.1; the bot answers "ok" to everything (the model takes `latency`)."""
    clock = VirtualClock()

    def build(outlet: Outlet) -> Engine:
        return Engine(EngineDeps(clock=clock, responder=ScriptedResponder(clock, latency=latency), outlet=outlet,
                                 store=store or MemoryStore(), persona=load_persona("sunny"), turn="fixed",
                                 rng=random.Random(3), idle_seconds=idle_seconds,
                                 responders=responders(clock) if responders else {}))

    app = create_web_app(build)
    server = WebServer(app, "127.0.0.1", 0)
    await server.start()
    try:
        yield WebSite(server.url, app.state.chat, clock)
    finally:
        await server.stop()
