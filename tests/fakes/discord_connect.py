"""Point a real ``discord.Client`` at a fake (or proxied) Discord, and run it in a test.

discord.py 2.7 has no per-client option for either endpoint, so two class attributes are set:

- ``discord.http.Route.BASE``: every REST route (and interaction/webhook route) is built as
  ``Route.BASE + path`` when the request is made. Set it to the REST root (``.../api/v10``).
- ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``: ``Client.connect`` does *not* ask
  ``GET /gateway/bot`` (only ``AutoShardedClient`` does); the first connection goes to
  ``DEFAULT_GATEWAY`` and an INVALID_SESSION resets the socket's gateway to it. RESUMEs go to
  READY's ``resume_gateway_url``, which the fake points back at itself.

Both are process-wide, so ``point_discord_at`` returns an undo function (the ``pointed_at``
context manager restores them on exit). The production adapter can make the same two
assignments from ``DISCORD_API_BASE_URL`` / ``DISCORD_GATEWAY_URL``. Nothing else is patched:
discord.py appends ``?v=10&encoding=json&compress=zlib-stream`` to the gateway URL itself.

Timing a test should know: discord.py waits ``guild_ready_timeout`` (default 2 s; pass e.g.
0.05) after the last GUILD_CREATE before ``on_ready``, and sleeps 5 s before any IDENTIFY that
is not the first (``Client.before_identify_hook``), so a test should RESUME, not re-IDENTIFY.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route


def point_discord_at(api_base: str, gateway_url: str) -> Callable[[], None]:
    """Send every discord.py client's REST and gateway traffic to these URLs; returns an undo."""
    old_base, old_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = api_base.rstrip("/")
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)

    def restore() -> None:
        Route.BASE = old_base
        DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    return restore


@contextlib.contextmanager
def pointed_at(api_base: str, gateway_url: str) -> Iterator[None]:
    """Context manager form of ``point_discord_at``."""
    restore = point_discord_at(api_base, gateway_url)
    try:
        yield
    finally:
        restore()


def bot_intents() -> discord.Intents:
    """The intents textbot asks for: guilds, messages, message content, guild and DM typing."""
    return discord.Intents(
        guilds=True, guild_messages=True, dm_messages=True, message_content=True,
        guild_typing=True, dm_typing=True,
    )


async def run_client(
    client: discord.Client, token: str, timeout: float = 5.0
) -> asyncio.Task[None]:
    """Log in, start ``client.connect()`` in a task and wait for on_ready; returns the task.

    Stop with ``await client.close()`` then ``await task``.
    """
    await client.login(token)
    task = asyncio.create_task(client.connect(reconnect=True))
    ready = asyncio.create_task(client.wait_until_ready())
    done, _ = await asyncio.wait({ready, task}, timeout=timeout, return_when="FIRST_COMPLETED")
    if ready not in done:
        ready.cancel()
        await client.close()
        if task.done():
            task.result()  # re-raise why the connection failed
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        raise TimeoutError("discord client did not become ready")
    return task
