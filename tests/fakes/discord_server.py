"""A local fake Discord (gateway websocket + REST) for end-to-end tests through real discord.py.

Point a client at it with ``tests.fakes.discord_connect``. The gateway speaks v10 JSON, with
``zlib-stream`` transport compression when the URL asks for it (discord.py 2.7 does unless
zstandard is installed; a ``zstd-stream`` request is answered with plain text frames, which
discord.py also accepts). One bot, one session per shard: IDENTIFY's ``shard: [id, count]`` picks the
shard, and as on Discord a server's events go to shard ``(guild_id >> 22) % count`` and everything
else (DMs) to shard 0. Events dispatched while a shard is disconnected stay in its session log and
are replayed on RESUME. REST routes live in ``discord_rest``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.discord_payloads import (
    JSON,
    UserLike,
    iso_now,
    make_channel,
    make_guild,
    make_member,
)
from tests.fakes.discord_rest import Call, FakeDiscordRest

__all__ = ["Call", "FakeDiscordServer"]


@dataclass(eq=False)
class _Conn:
    """One gateway websocket; a writer task drains ``queue`` (str frame, int close code, None)."""

    ws: web.WebSocketResponse
    zlib_stream: bool
    queue: asyncio.Queue[str | int | None] = field(default_factory=asyncio.Queue)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    compressor: Any = field(default_factory=zlib.compressobj)


@dataclass
class _Session:
    id: str
    conn: _Conn | None
    shard: int = 0
    seq: int = 0
    log: list[tuple[int, str]] = field(default_factory=list)


class FakeDiscordServer(FakeDiscordRest):
    """A fake Discord gateway and REST API on 127.0.0.1 for one bot."""

    def __init__(
        self, now: Callable[[], float] | None = None, *, token: str = "fake-token",
        bot_id: int = 900_000_000_000_000_001, bot_name: str = "textbot",
        heartbeat_interval_ms: int = 41_250, echo_own_messages: bool = True,
    ) -> None:
        super().__init__(now, token, bot_id, bot_name, echo_own_messages)
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.gateway_received: list[JSON] = []  # every payload the client sent on the gateway
        self.gateway_queries: list[dict[str, str]] = []  # query string of each connection
        self.port = 0
        self._sessions: dict[int, _Session] = {}  # by shard id
        self.shard_count = 1  # as the client's IDENTIFY said
        self._pending: list[tuple[str, JSON | None]] = []  # dispatched before their shard's first IDENTIFY
        self._conns: set[_Conn] = set()
        self._runner: web.AppRunner | None = None
        self._stopping = False

    # ----------------------------------------------------------------- lifecycle
    @property
    def api_base(self) -> str:
        """REST root, e.g. ``http://127.0.0.1:PORT/api/v10``."""
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        """Gateway websocket URL, e.g. ``ws://127.0.0.1:PORT/gateway``."""
        return f"ws://127.0.0.1:{self.port}/gateway"

    async def start(self) -> None:
        """Bind to a free port on 127.0.0.1 and serve."""
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Close every gateway connection (code 1001) and stop serving."""
        self._stopping = True
        for conn in list(self._conns):
            conn.queue.put_nowait(1001)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(3):
                for conn in list(self._conns):
                    await conn.done.wait()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscordServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ----------------------------------------------------------------- world setup
    def add_guild(
        self, guild_id: int, name: str = "guild", channels: Sequence[int | JSON] = (), *,
        owner_id: int | None = None, members: Iterable[UserLike] = (),
        roles: Sequence[JSON] = (),
    ) -> JSON:
        """Add a guild the bot is in (sent after READY; dispatched now if already connected).

        ``channels``: text channel ids or channel dicts (types 10-12 become threads).
        ``members``: users besides the bot; the owner defaults to the first of them.
        """
        users = [self.user(m) for m in members]
        owner = owner_id if owner_id is not None else int(users[0]["id"]) if users else 1
        member_list = [make_member(self.bot_user)] + [make_member(u) for u in users]
        chans = [make_channel(c, i, guild_id) for i, c in enumerate(channels)]
        guild = make_guild(guild_id, name, chans, member_list, owner, roles)
        self.guilds[guild_id] = guild
        if self._sessions.get(self.shard_of("GUILD_CREATE", guild)) is not None:
            self.dispatch("GUILD_CREATE", guild)
        return guild

    def add_member(self, guild_id: int, user: UserLike, roles: Iterable[int] = ()) -> JSON:
        """Add a member with role ids to a guild (no event: that needs the members intent)."""
        member = make_member(self.user(user), roles)
        self.guilds[guild_id]["members"].append(member)
        self.guilds[guild_id]["member_count"] += 1
        return member

    def _guild_of(self, channel_id: int, guild_id: int | None) -> int | None:
        found = self.channel(channel_id)
        return guild_id if guild_id is not None else found[1] if found else None

    # ----------------------------------------------------------------- human side
    def send_message(
        self, channel_id: int, author: UserLike, content: str, *, guild_id: int | None = None,
        mentions: Iterable[UserLike] | None = None, referenced_message_id: int | None = None,
        attachments: Iterable[JSON] | None = None,
    ) -> JSON:
        """A human posts: dispatch MESSAGE_CREATE and return the message.

        An unknown channel without ``guild_id`` becomes a DM with ``author``; ``mentions``
        default to the ``<@id>`` in ``content``.
        """
        user = self.user(author)
        if self.channel(channel_id) is None and guild_id is None:
            self.add_dm_channel(channel_id, user)
        ref = self.messages[referenced_message_id] if referenced_message_id else None
        files = [
            {"id": str(self._ids.next()), "filename": "file.bin", "size": 1,
             "url": "https://cdn.invalid/f", "proxy_url": "https://cdn.invalid/f", **a}
            for a in attachments or ()
        ]
        msg = self._new_message(channel_id, self._guild_of(channel_id, guild_id), user, content,
                                mentions=mentions, ref=ref, attachments=files)
        self._dispatch_message("MESSAGE_CREATE", msg)
        return msg

    def edit_message(self, message_id: int, content: str) -> JSON:
        """Edit a stored message and dispatch MESSAGE_UPDATE."""
        msg = self.messages[message_id]
        msg.update(content=content, edited_timestamp=iso_now(),
                   mentions=self._mentions(content))
        self._dispatch_message("MESSAGE_UPDATE", msg)
        return msg

    def delete_message(self, message_id: int) -> None:
        """Delete a stored message and dispatch MESSAGE_DELETE."""
        self._delete(self.messages[message_id])

    def start_typing(self, channel_id: int, user_id: int, guild_id: int | None = None) -> None:
        """A human starts typing: dispatch TYPING_START (with ``member`` in guilds)."""
        gid = self._guild_of(channel_id, guild_id)
        data: JSON = {"channel_id": str(channel_id), "user_id": str(user_id),
                      "timestamp": int(time.time())}
        if gid is not None:
            data |= {"guild_id": str(gid), "member": self._member_of(gid, self.user(user_id))}
        self.dispatch("TYPING_START", data)

    def send_interaction(
        self, name: str, user: UserLike, channel_id: int, *, guild_id: int | None = None,
        options: list[JSON] | None = None, permissions: str = "0",
    ) -> JSON:
        """A human runs slash command ``name``: dispatch INTERACTION_CREATE and return it.

        In a guild the invoker is a member with ``permissions`` (e.g. ``ADMINISTRATOR``);
        in a DM a plain user.
        """
        who, gid = self.user(user), self._guild_of(channel_id, guild_id)
        registered = [*self.commands.get(gid, []), *self.commands.get(None, [])]
        cmd_id = next((c["id"] for c in registered if c["name"] == name), str(self._ids.next()))
        iid = self._ids.next()
        data: JSON = {
            "id": str(iid), "application_id": str(self.application_id), "type": 2,
            "token": f"token-{iid}", "version": 1, "channel_id": str(channel_id),
            "data": {"id": cmd_id, "name": name, "type": 1, "options": options or []},
            "locale": "en-US", "app_permissions": "2248473465835073", "entitlements": [],
            "attachment_size_limit": 10_485_760,
        }
        if gid is not None:
            found = self.channel(channel_id)
            data |= {
                "guild_id": str(gid), "context": 0, "guild_locale": "en-US",
                "member": self._member_of(gid, who) | {"permissions": permissions},
                "channel": {"id": str(channel_id), "type": found[0]["type"] if found else 0},
                "authorizing_integration_owners": {"0": str(gid)},
            }
        else:
            data |= {"user": who, "context": 1, "authorizing_integration_owners": {"1": who["id"]},
                     "channel": {"id": str(channel_id), "type": 1, "recipients": [who]}}
        self.interactions[iid] = data
        self.dispatch("INTERACTION_CREATE", data)
        return data

    # ----------------------------------------------------------------- gateway
    @property
    def _session(self) -> _Session | None:
        return self._sessions.get(0)

    def shard_of(self, event: str, data: JSON | None) -> int:
        """The shard Discord sends this event on: its server's, or 0 for DMs and the like."""
        guild = (data or {}).get("id") if event == "GUILD_CREATE" else (data or {}).get("guild_id")
        return (int(guild) >> 22) % self.shard_count if guild is not None else 0

    @property
    def identified_shards(self) -> list[list[int]]:
        """The ``shard`` of each IDENTIFY, in order ([0, 1] when the client sent none)."""
        return [list(p.get("d", {}).get("shard") or [0, 1]) for p in self.gateway_received if p.get("op") == 2]

    def dispatch(self, event: str, data: JSON | None) -> None:
        """Send a DISPATCH event on its shard now, or keep it for replay while that shard is disconnected."""
        session = self._sessions.get(self.shard_of(event, data))
        if session is None:
            self._pending.append((event, data))
            return
        self._send_on(session, event, data)

    @staticmethod
    def _send_on(session: _Session, event: str, data: JSON | None) -> None:
        session.seq += 1
        frame = json.dumps({"op": 0, "t": event, "s": session.seq, "d": data})
        session.log.append((session.seq, frame))
        if session.conn is not None:
            session.conn.queue.put_nowait(frame)

    def send_raw_frame(self, frame: str, *, replayed: bool = False) -> None:
        """Send ``frame`` exactly as given (not JSON, say) on the bot's socket.

        With ``replayed`` it takes the next sequence number (not written in the frame) and is sent
        again on every RESUME from before it, like a dispatch Discord garbles every time.
        """
        session = self._session
        if session is None:
            return
        if replayed:
            session.seq += 1
            session.log.append((session.seq, frame))
        if session.conn is not None:
            session.conn.queue.put_nowait(frame)

    async def force_close(self, code: int = 4000) -> None:
        """Close the bot's gateway socket with a resumable code; later events wait for RESUME."""
        session = self._session
        conn = session.conn if session is not None else None
        if session is None or conn is None:
            return
        session.conn = None
        conn.queue.put_nowait(code)
        async with asyncio.timeout(5):
            await conn.done.wait()

    @property
    def identify_count(self) -> int:
        """How many IDENTIFY payloads the client sent."""
        return sum(1 for p in self.gateway_received if p.get("op") == 2)

    @property
    def resume_count(self) -> int:
        """How many RESUME payloads the client sent."""
        return sum(1 for p in self.gateway_received if p.get("op") == 6)

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        if self._stopping:
            return web.Response(status=503)
        self.gateway_queries.append(dict(request.query))
        ws = web.WebSocketResponse(compress=False, max_msg_size=0, timeout=2.0)
        await ws.prepare(request)
        conn = _Conn(ws, request.query.get("compress") == "zlib-stream")
        self._conns.add(conn)
        writer = asyncio.create_task(self._writer(conn))
        self._send(conn, {"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    self._on_payload(conn, json.loads(msg.data))
        finally:
            for session in self._sessions.values():
                if session.conn is conn:
                    session.conn = None
            conn.queue.put_nowait(None)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(writer, 3)
            self._conns.discard(conn)
            conn.done.set()
        return ws

    async def _writer(self, conn: _Conn) -> None:
        while (item := await conn.queue.get()) is not None:
            if isinstance(item, int):
                await conn.ws.close(code=item)
                return
            try:
                if conn.zlib_stream:  # one zlib stream per connection, Z_SYNC_FLUSH per message
                    data = conn.compressor.compress(item.encode())
                    await conn.ws.send_bytes(data + conn.compressor.flush(zlib.Z_SYNC_FLUSH))
                else:
                    await conn.ws.send_str(item)
            except ConnectionError:
                return

    @staticmethod
    def _send(conn: _Conn, payload: JSON) -> None:
        conn.queue.put_nowait(json.dumps(payload))

    def _on_payload(self, conn: _Conn, payload: JSON) -> None:
        self.gateway_received.append(payload)
        op, data = payload.get("op"), payload.get("d") or {}
        if op == 1:  # HEARTBEAT
            self._send(conn, {"op": 11})
        elif op == 2:  # IDENTIFY
            self._identify(conn, data)
        elif op == 6:  # RESUME
            session = next((s for s in self._sessions.values() if s.id == data.get("session_id")), None)
            if session is None or data.get("token") != self.token:
                self._send(conn, {"op": 9, "d": False})  # INVALID_SESSION, not resumable
                return
            if session.conn is not None and session.conn is not conn:
                session.conn.queue.put_nowait(4009)
            session.conn = conn
            for seq, frame in session.log:
                if seq > (data.get("seq") or 0):
                    conn.queue.put_nowait(frame)
            self._send_on(session, "RESUMED", {})

    def _identify(self, conn: _Conn, data: JSON) -> None:
        if data.get("token") != self.token:
            conn.queue.put_nowait(4004)  # Authentication failed
            return
        shard, self.shard_count = data.get("shard") or [0, 1]
        session = self._sessions[shard] = _Session(uuid.uuid4().hex, conn, shard)
        mine = [g for g in self.guilds.values() if self.shard_of("GUILD_CREATE", g) == shard]
        self._send_on(session, "READY", {
            "v": 10, "user": self.bot_user, "session_id": session.id, "shard": [shard, self.shard_count],
            "resume_gateway_url": self.gateway_url, "session_type": "normal",
            "guilds": [{"id": str(g["id"]), "unavailable": True} for g in mine],
            "application": {"id": str(self.application_id), "flags": 0},
            "private_channels": [], "relationships": [], "user_settings": {},
            "geo_ordered_rtc_regions": [],
        })
        for guild in mine:
            self.dispatch("GUILD_CREATE", guild)
        pending = self._pending
        self._pending = [(e, d) for e, d in pending if self.shard_of(e, d) != shard]
        for event, event_data in pending:
            if self.shard_of(event, event_data) == shard:
                self.dispatch(event, event_data)
