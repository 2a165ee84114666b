"""Runs the Discord bot: points discord.py at the configured endpoints, connects, shuts down cleanly.

With several workers, worker i connects as shard i of WORKER_COUNT (Discord sends a server's events
to one shard and every DM to shard 0); each event goes to the `Inbound`, which hands it to its owner.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.adapters.discord.client import TextbotClient
from bot.adapters.discord.outlet import DiscordOutlet
from bot.core.engine import Engine, EngineFactory
from bot.core.tasks import cancel_and_wait
from bot.settings import ConfigError, Settings
from persona import load_persona

CLOSE_TIMEOUT = 5.0
INTENTS_HELP = (
    "Discord refused the privileged intents: enable MESSAGE CONTENT INTENT under Bot → Privileged "
    "Gateway Intents in the developer portal (https://discord.com/developers/applications)"
)


@contextlib.contextmanager
def pointed_at(api_base: str, gateway_url: str) -> Iterator[None]:
    """Send discord.py's REST and first gateway connection to these URLs while inside.

    discord.py has no per-client setting for either: REST routes are built on `Route.BASE` and
    `Client.connect` opens `DiscordWebSocket.DEFAULT_GATEWAY` without asking /gateway/bot.
    """
    old_base, old_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = api_base.rstrip("/")
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    try:
        yield
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = old_base, old_gateway


async def run_discord(settings: Settings, engines: EngineFactory, stop: asyncio.Event | None = None) -> None:
    """Run the Discord bot until `stop` is set (or this task is cancelled), then close it cleanly."""
    if settings.discord_bot_token is None:
        raise ConfigError("DISCORD_BOT_TOKEN is not set")
    shard = (settings.worker_id, settings.worker_count) if settings.worker_count > 1 else None
    client = TextbotClient(load_persona(settings.persona).name, settings.admins(), shard=shard)
    outlet = DiscordOutlet(client, engines.clock)
    engine = engines(outlet)
    client.attach(engines.inbound(engine), outlet)
    with pointed_at(settings.discord_api_base_url, settings.discord_gateway_url):
        gateway: asyncio.Task[None] | None = None
        try:
            await _login(client, settings.discord_bot_token.get_secret_value())
            gateway = asyncio.create_task(client.connect(reconnect=True), name="discord:gateway")
            await _until_stopped(gateway, stop or asyncio.Event())
        finally:
            await _shut_down(client, engine, gateway)


async def _login(client: TextbotClient, token: str) -> None:
    try:
        await client.login(token)
    except discord.LoginFailure:
        raise ConfigError("Discord rejected DISCORD_BOT_TOKEN: copy the token from Bot → Reset Token") from None


async def _until_stopped(gateway: asyncio.Task[None], stop: asyncio.Event) -> None:
    """Return once `stop` is set; if the gateway gives up first, raise why."""
    stopped = asyncio.create_task(stop.wait(), name="discord:stop")
    try:
        await asyncio.wait({gateway, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        await cancel_and_wait(stopped)
    if gateway.done():
        if isinstance(gateway.exception(), discord.PrivilegedIntentsRequired):
            raise ConfigError(INTENTS_HELP)
        gateway.result()


async def _shut_down(client: TextbotClient, engine: Engine, gateway: asyncio.Task[None] | None) -> None:
    client.detach()
    await engine.close()  # before the client: a part already on the wire may still finish
    await client.close()  # connect() returns once its socket is closed
    if gateway is not None:
        await asyncio.wait({gateway}, timeout=CLOSE_TIMEOUT)
        await cancel_and_wait(gateway)
