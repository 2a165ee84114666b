"""The web chat as a platform: each tab is a conversation; its socket's messages become engine events."""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.core.commands import COMMAND_NAMES
from bot.core.engine import Engine
from bot.core.events import Author, Command, ConversationKey, HumanMessage, HumanTyping
from bot.core.ports import Outlet
from bot.core.trace import TraceRecorder
from bot.web.controls import ControlError, choices, control_command, field_specs, settings_snapshot
from bot.web.limits import SendRate, UnreadableFrame, read_frame
from bot.web.outlet import CONTROL_REPLY, WebOutlet
from bot.web.rooms import Client, Room, Rooms, bubble

if TYPE_CHECKING:
    from starlette.websockets import WebSocket

log = logging.getLogger(__name__)
EngineFactory = Callable[[Outlet], Engine]
Json = dict[str, Any]
PLATFORM = "web"
TAB_ID = re.compile(r"[A-Za-z0-9_-]{6,64}")
MESSAGE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
HUMAN_TYPING_TTL = 4.0  # the page repeats its typing notice every ~2.5 s while keys are pressed
TYPING_MIN_GAP = 1.0  # real seconds: a tab's typing notices closer than this add nothing
COMMANDS = frozenset(COMMAND_NAMES)  # the registry's, as every platform
NOT_SAVED = "not sent: the bot could not save it; try again"


def conversation_key(tab: str) -> ConversationKey:
    """The conversation of one browser tab."""
    return ConversationKey(PLATFORM, tab)


def slash_command(text: str) -> tuple[str, tuple[str, ...]] | None:
    """`/timing set wpm 80` typed in the chat → ("timing", ("set", "wpm", "80")); None for ordinary text."""
    words = text[1:].split() if text.startswith("/") else []
    if not words or words[0].lower() not in COMMANDS:
        return None
    return words[0].lower(), tuple(words[1:])


class WebChat:
    """The web platform: per-tab rooms, the outlet into them, the engine they feed, and the live trace."""

    def __init__(self, engine_factory: EngineFactory, model: str | None = None) -> None:
        self.model = model  # the LLM's name, shown on the page
        self.rooms = Rooms()
        self.outlet = WebOutlet(self.rooms)
        self.engine = engine_factory(self.outlet)
        # Rooms are released on the engine's clock after the engine's idle time, as its actors are.
        self.rooms.clock, self.rooms.idle_seconds = self.engine.deps.clock, self.engine.deps.idle_seconds
        self.recorder = self._attach_trace()

    def _attach_trace(self) -> TraceRecorder:
        deps = self.engine.deps
        previous = deps.trace
        if isinstance(previous, TraceRecorder):
            recorder = previous
        else:
            recorder = TraceRecorder(deps.store)
            recorder.listeners.append(lambda key, e: previous(key, e.kind, e.at, **e.data))
        recorder.listeners.append(self.rooms.on_trace)
        deps.trace = recorder
        return recorder

    def client(self, ws: WebSocket) -> Client:
        """A newly opened socket, with its own rate on the engine's clock."""
        return Client(ws, SendRate(self.engine.deps.clock))

    async def join(self, tab: str, client: Client) -> Room:
        """Open the tab's room for a new socket and send it everything the page needs to draw."""
        room = await self.rooms.open(conversation_key(tab), self.engine.deps.store)
        room.clients.add(client)
        client.start()
        settings = await settings_snapshot(self.engine, room.key)
        client.push({
            "type": "welcome", "tab": tab, "persona": settings["persona"], "transcript": room.transcript,
            "typing": room.typing, "svg": room.svg, "fields": field_specs(), "choices": choices(),
            "settings": settings, "limit": self.outlet.limit, "model": self.model,
        })
        return room

    async def leave(self, room: Room, client: Client) -> None:
        """A socket closed."""
        self.rooms.left(room, client)
        with contextlib.suppress(Exception):
            await client.close()

    async def handle(self, room: Room, client: Client, raw: str) -> None:
        """One message from a tab: a chat message, a typing notice, or a control change.

        Typing notices are thinned out by time; everything else counts against the socket's rate, and what
        is over it is refused by name (a message by its id), so the page can show it as not sent.
        """
        try:
            message = read_frame(raw)
        except UnreadableFrame as exc:
            if client.rate.take():  # a page gone wrong is told; a flood of garbage is not answered in kind
                client.push(_notice(str(exc)))
            return
        kind = message.get("type")
        if kind == "typing":
            await self._typing(room)
        elif not client.rate.take():
            _refuse(client, message, client.rate.refusal())
        elif kind == "message":
            await self._message(room, client, message)
        else:
            await self._control(room, client, message)

    async def _message(self, room: Room, client: Client, message: Json) -> None:
        message_id, text = str(message.get("id", "")), str(message.get("text", "")).strip()
        if not MESSAGE_ID.fullmatch(message_id) or not text or len(text) > self.outlet.limit:
            _refuse(client, message, "not sent: empty or too long")
            return
        shown = not room.has_message(message_id)
        if shown:
            item = bubble("human", text, message_id)
            room.show(item)
            for other in room.clients - {client}:
                other.push(item)
        try:
            await self._receive_text(room, message_id, text)
        except Exception as exc:  # not stored, so not received: the tab is told, and may send it again
            log.warning("a message from web tab %s was not received: %s", room.key.chat, type(exc).__name__)
            not_sent = {"type": "not_sent", "id": message_id, "text": NOT_SAVED}
            if shown:
                room.forget(message_id)
                room.broadcast(not_sent)
            else:
                client.push(not_sent)
            return
        room.typing_notice_at = float("-inf")
        client.push({"type": "ack", "id": message_id})

    async def _receive_text(self, room: Room, message_id: str, text: str) -> None:
        """Hand a chat message (or a slash command typed in the chat) to the engine; raises if not received."""
        author = Author(room.key.chat, "you")
        command = slash_command(text)
        if command is None:
            await self.engine.receive(HumanMessage(room.key, message_id, author, text))
            return
        await self.engine.receive(Command(room.key, author, command[0], command[1], is_admin=True))
        room.broadcast(await settings_snapshot(self.engine, room.key))  # the controls show what it changed

    async def _typing(self, room: Room) -> None:
        now = time.monotonic()
        if now - room.typing_notice_at < TYPING_MIN_GAP:
            return
        room.typing_notice_at = now
        try:
            await self.engine.receive(HumanTyping(room.key, Author(room.key.chat, "you"), HUMAN_TYPING_TTL))
        except Exception as exc:  # a lost typing notice only makes the bot a little less patient
            log.warning("a typing notice from web tab %s was not received: %s", room.key.chat, type(exc).__name__)

    async def _control(self, room: Room, client: Client, message: Json) -> None:
        try:
            command = control_command(message, room.key, Author(room.key.chat, "you"))
        except ControlError as exc:
            client.push({"type": "notice", "ok": False, "field": exc.field, "text": str(exc)})
            return
        try:
            await self.engine.receive(command)
        except Exception as exc:
            log.warning("a control change from web tab %s was not applied: %s", room.key.chat, type(exc).__name__)
            field = (command.reply_to or "").removeprefix(CONTROL_REPLY)
            client.push(_notice("not changed: the bot could not save it; try again", field))
            return
        room.broadcast(await settings_snapshot(self.engine, room.key))

    async def close(self) -> None:
        """Stop the engine, the rooms' writers and redraws, and save the trace still buffered."""
        await self.engine.close()
        await self.rooms.close()
        if self.recorder.persist:
            await self.recorder.flush()


def _notice(text: str, field: str = "") -> Json:
    return {"type": "notice", "ok": False, "field": field, "text": text}


def _refuse(client: Client, message: Json, why: str) -> None:
    """Tell the tab a message (by its id, when it has a usable one) or a control change was not taken."""
    message_id = str(message.get("id", ""))
    if message.get("type") == "message" and MESSAGE_ID.fullmatch(message_id):
        client.push({"type": "not_sent", "id": message_id, "text": why})
    else:
        client.push(_notice(why))
