"""A gateway event discord.py cannot parse costs only that event, never the connection.

discord.py runs an event's parser inside its websocket reader (`DiscordWebSocket.received_message`),
and `Client.connect` lets anything but network errors out: one MESSAGE_CREATE without a
`channel_id`, or one frame that is not JSON, ends `connect()` and with it the bot. There is no public
hook; `Client._get_state` is the seam discord.py's own `AutoShardedClient` overrides, so:

- every parser is wrapped: a failing one is logged in one line (the event's name and the exception's
  type, never the payload or the exception's text, which can quote a value) and the event skipped.
  The gateway counted its sequence number before parsing, so a later RESUME does not replay it.
- a frame the reader cannot read at all (not JSON, broken compression, a HELLO without its interval)
  closes the socket as resumable and asks discord.py to reconnect and RESUME, which replays what
  followed it. The same failure again and again backs off and then starts a new session instead.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar

import aiohttp
import discord
from discord.gateway import DiscordWebSocket, ReconnectWebSocket
from discord.state import ConnectionState

log = logging.getLogger(__name__)
ClientT = TypeVar("ClientT", bound=discord.Client)
RESUMES_BEFORE_NEW_SESSION = 3
FIRST_FRAME_BACKOFF = 1.0  # seconds before the second reconnect in a row, doubling up to the max
MAX_FRAME_BACKOFF = 60.0
# discord.py's own ways out of the reader: reconnect requests, closes and network failures it handles.
_GATEWAY_CONTROL = (ReconnectWebSocket, discord.ConnectionClosed, OSError, aiohttp.ClientError, asyncio.TimeoutError)


def _parse_or_skip(event: str, parse: Callable[[Any], None], data: Any) -> None:
    try:
        parse(data)
    except Exception as exc:
        log.warning("discord: skipped a malformed %s event (%s)", event, type(exc).__name__)


class TolerantState(ConnectionState[ClientT], Generic[ClientT]):
    """discord.py's connection state with parsers that skip what they cannot parse, and a reader that resumes."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        for event, parse in list(self.parsers.items()):
            self.parsers[event] = functools.partial(_parse_or_skip, event, parse)
        self.unreadable_frames = 0  # in a row: reset once the gateway's sequence moves past the last one
        self._failed_at = 0

    def _update_references(self, ws: DiscordWebSocket) -> None:
        super()._update_references(ws)
        ws.received_message = functools.partial(self._read_or_resume, ws, ws.received_message)  # type: ignore[method-assign]

    async def _read_or_resume(self, ws: DiscordWebSocket, read: Callable[[Any], Coroutine[Any, Any, None]],
                              frame: Any) -> None:
        try:
            await read(frame)
        except _GATEWAY_CONTROL:
            raise
        except Exception as exc:
            if self._get_websocket() is None:  # the first connection: nothing to resume yet
                raise
            await self._reconnect(ws, exc)
        if self.unreadable_frames and (ws.sequence or 0) > self._failed_at:
            self.unreadable_frames = 0

    async def _reconnect(self, ws: DiscordWebSocket, exc: Exception) -> None:
        # A RESUME replays from the last sequence read: a frame that is bad every time comes back.
        self.unreadable_frames += 1
        self._failed_at = ws.sequence or 0
        resume = self.unreadable_frames < RESUMES_BEFORE_NEW_SESSION
        log.warning("discord: could not read a gateway frame (%s); reconnecting to %s", type(exc).__name__,
                    "resume the session" if resume else "start a new session")
        await ws.close(code=4000)  # 4000 keeps the session resumable
        if self.unreadable_frames > 1:  # the same trouble again: do not hammer the gateway
            await asyncio.sleep(min(MAX_FRAME_BACKOFF, FIRST_FRAME_BACKOFF * 2.0 ** (self.unreadable_frames - 2)))
        raise ReconnectWebSocket(ws.shard_id, resume=resume) from None
