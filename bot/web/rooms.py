"""Per-tab rooms of the web chat: open sockets, the transcript, the typing state and the live timeline."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.websockets import WebSocket

from bot.core.clock import Clock, RealClock
from bot.core.events import ConversationKey
from bot.core.ports import Store, TraceEvent
from bot.core.tasks import cancel_and_wait
from bot.timeline import render_timeline_svg
from bot.web.limits import SendRate

log = logging.getLogger(__name__)
Json = dict[str, Any]
OUTBOX_LIMIT = 1000  # a browser this far behind is gone; drop it rather than grow without bound
EVENTS_KEPT = 5000
TRANSCRIPT_KEPT = 1000  # bubbles a room keeps for a reload; older ones are in the store
RENDER_DELAY = 0.05  # real seconds: coalesce a burst of trace events into one timeline update


class Client:
    """One open websocket: its outbox of JSON messages, the task that writes them in order, and its rate."""

    def __init__(self, ws: WebSocket, rate: SendRate | None = None) -> None:
        self.ws = ws
        self.rate = rate or SendRate(RealClock())
        self.outbox: asyncio.Queue[Json | None] = asyncio.Queue(maxsize=OUTBOX_LIMIT)
        self.task: asyncio.Task[None] | None = None
        self.closing = False

    def start(self) -> None:
        """Begin writing queued messages to the socket."""
        self.task = asyncio.create_task(self._write(), name="web-client-writer")

    def push(self, message: Json) -> None:
        """Queue a message without waiting (the bot never waits on a slow browser)."""
        if self.closing:
            return
        try:
            self.outbox.put_nowait(message)
        except asyncio.QueueFull:
            # Far behind: drop the backlog and close; the page reconnects and gets a fresh welcome.
            log.warning("a web client fell %d messages behind; closing its socket", OUTBOX_LIMIT)
            self.closing = True
            while not self.outbox.empty():
                self.outbox.get_nowait()
            self.outbox.put_nowait(None)

    async def _write(self) -> None:
        while (message := await self.outbox.get()) is not None:
            try:
                await self.ws.send_text(json.dumps(message))
            except Exception:  # the browser went away; its reader notices the disconnect
                return
        with contextlib.suppress(Exception):
            await self.ws.close(code=1013)  # "try again later"

    async def close(self) -> None:
        """Stop writing."""
        self.closing = True
        await cancel_and_wait(self.task)


@dataclass
class Room:
    """One tab's conversation as the page shows it."""

    key: ConversationKey
    clients: set[Client] = field(default_factory=set)
    transcript: list[Json] = field(default_factory=list)
    events: list[TraceEvent] = field(default_factory=list)
    typing: bool = False
    loaded: bool = False
    svg: str = ""
    render: asyncio.Task[None] | None = None
    idle_since: float = 0.0  # when its last socket closed (on the rooms' clock)
    typing_notice_at: float = float("-inf")  # real seconds: the last typing notice passed on

    def broadcast(self, message: Json) -> None:
        """Send to every open tab of this conversation."""
        for client in list(self.clients):
            client.push(message)

    def has_message(self, message_id: str) -> bool:
        """Whether a message with this id is in the transcript already."""
        return any(item.get("id") == message_id for item in self.transcript)

    def forget(self, message_id: str) -> None:
        """Take a bubble back out of what a reload shows (its message was not received after all)."""
        self.transcript[:] = [item for item in self.transcript if item.get("id") != message_id]

    def show(self, item: Json) -> None:
        """Add a bubble to what a reload shows."""
        self.transcript.append(item)
        del self.transcript[:-TRANSCRIPT_KEPT]

    def change(self, message_id: str, **fields: Any) -> bool:
        """Change a bubble a reload shows (its text, an edited or unsent mark); False if it is not there."""
        for i, item in enumerate(self.transcript):
            if item.get("id") == message_id and item.get("role") == "bot":
                # A copy: the old dict may still sit in a socket's outbox, waiting to be written as it was.
                self.transcript[i] = {**item, **fields}
                return True
        return False


def bubble(role: str, text: str, message_id: str, at: float | None = None) -> Json:
    """A chat bubble as the page draws it (`at` in wall-clock milliseconds, for the time shown)."""
    return {"type": "bubble", "role": role, "text": text, "id": message_id, "at": at or time.time() * 1000}


class Rooms:
    """Every open tab's room, fed by the outlet (bubbles, typing) and the trace (timeline).

    A room with no socket for `idle_seconds` is released, as the engine releases an idle actor: what it
    showed lives on in the store, and comes back when the tab reconnects.
    """

    def __init__(self, clock: Clock | None = None, idle_seconds: float = 300.0) -> None:
        self.rooms: dict[ConversationKey, Room] = {}
        self.clock: Clock = clock or RealClock()
        self.idle_seconds = idle_seconds
        self._reaper: asyncio.Task[None] | None = None

    def room(self, key: ConversationKey) -> Room:
        """The room for `key`, created empty if new."""
        room = self.rooms.get(key)
        if room is None:
            room = self.rooms[key] = Room(key, idle_since=self.clock.now())
            if self._reaper is None:
                self._reaper = asyncio.create_task(self._release_idle(), name="web-rooms:reaper")
        return room

    async def open(self, key: ConversationKey, store: Store) -> Room:
        """The room for `key`, with what the store remembers when it is first opened in this process."""
        room = self.room(key)
        room.idle_since = self.clock.now()  # not released while its first socket joins
        if not room.loaded:
            room.loaded = True
            stored = await store.load(key)
            room.transcript[:0] = [
                bubble("human" if line.role == "human" else "bot", line.text, f"s{i}", line.at * 1000)
                for i, line in enumerate(stored.history)
            ] + [bubble("human", m.text, m.message_id, (m.at or time.time()) * 1000) for m in stored.pending]
            first_live = room.events[0].at if room.events else float("inf")
            room.events[:0] = [e for e in await store.load_trace(key) if e.at < first_live]
            room.svg = render_timeline_svg(room.events)
        return room

    def on_trace(self, key: ConversationKey, event: TraceEvent) -> None:
        """A trace listener: keep the event and redraw this room's timeline shortly (the store keeps it too)."""
        room = self.rooms.get(key)
        if room is None:
            return
        room.events.append(event)
        del room.events[:-EVENTS_KEPT]
        if room.render is None or room.render.done():
            room.render = asyncio.get_running_loop().create_task(self._render(room), name=f"timeline:{key}")

    async def _render(self, room: Room) -> None:
        await asyncio.sleep(RENDER_DELAY)
        room.svg = render_timeline_svg(room.events)
        room.broadcast({"type": "timeline", "svg": room.svg})

    async def _release_idle(self) -> None:
        """Drop rooms that have had no socket for `idle_seconds`."""
        while True:
            await self.clock.sleep(self.idle_seconds / 2)
            now = self.clock.now()
            for key, room in list(self.rooms.items()):
                if not room.clients and now - room.idle_since >= self.idle_seconds:
                    del self.rooms[key]
                    await cancel_and_wait(room.render)

    def left(self, room: Room, client: Client) -> None:
        """A socket of this room closed; the room's idle time starts when its last one has."""
        room.clients.discard(client)
        if not room.clients:
            room.idle_since = self.clock.now()

    async def close(self) -> None:
        """Stop releasing rooms, timeline redraws and every client writer."""
        await cancel_and_wait(self._reaper)
        self._reaper = None
        for room in self.rooms.values():
            await cancel_and_wait(room.render)
            for client in list(room.clients):
                await client.close()
            room.clients.clear()
