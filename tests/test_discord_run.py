"""`run_discord` as `textbot run` starts it: settings in, the real openai client answering, a clean stop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from discord.http import Route
from pydantic import SecretStr

from bot.adapters.discord import run_discord
from bot.app import Parts, build_responder, engine_factory
from bot.core.clock import VirtualClock
from bot.core.memory_store import MemoryStore
from bot.settings import ConfigError, Settings
from tests.fakes.discord_server import FakeDiscordServer
from tests.fakes.openai_server import FakeOpenAIServer

DM, HUMAN = 20, 501


@pytest.fixture
async def openai_server() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer() as server:
        yield server


def settings_for(discord: FakeDiscordServer, openai: FakeOpenAIServer, token: str) -> Settings:
    """What the environment would say, pointing at the two local fakes."""
    return Settings(  # type: ignore[call-arg]
        _env_file=None, discord_bot_token=SecretStr(token), discord_api_base_url=discord.api_base,
        discord_gateway_url=discord.gateway_url, openai_base_url=openai.url, openai_api_key=SecretStr("sk-test"),
        llm_model="test-model", llm_attempts=1, persona="sunny",
    )


async def test_run_discord_answers_a_dm_through_the_real_openai_client_and_stops_cleanly(
    openai_server: FakeOpenAIServer,
) -> None:
    clock = VirtualClock()
    openai_server.replies("omg hi\nnot much tbh\nwbu?")
    base = Route.BASE
    async with FakeDiscordServer(now=clock.now) as discord:
        discord.add_dm_channel(DM, HUMAN)
        settings = settings_for(discord, openai_server, discord.token)
        parts = Parts(settings, clock, build_responder(settings, clock), MemoryStore())
        stop = asyncio.Event()
        running = asyncio.create_task(run_discord(settings, engine_factory(parts), stop))
        async with asyncio.timeout(10):
            while not discord.commands.get(None):  # on_ready (after discord.py's 2 s guild wait)
                await asyncio.sleep(0.01)
        discord.send_message(DM, HUMAN, "hey whats up")
        await clock.run_until(lambda: len(discord.sent_messages(DM)) == 3, limit=120)
        stop.set()
        await asyncio.wait_for(running, 5)

    assert [m["content"] for m in discord.sent_messages(DM)] == ["omg hi", "not much tbh", "wbu?"]
    assert openai_server.last_messages()[-1] == {"role": "user", "content": "hey whats up"}
    assert discord.identify_count == 1
    assert base == Route.BASE, "the REST root is restored after the bot stops"


async def test_a_rejected_token_is_a_configuration_error(openai_server: FakeOpenAIServer) -> None:
    async with FakeDiscordServer() as discord:
        settings = settings_for(discord, openai_server, "not-the-token")
        parts = Parts(settings, VirtualClock(), build_responder(settings, VirtualClock()), MemoryStore())
        with pytest.raises(ConfigError, match="DISCORD_BOT_TOKEN"):
            await asyncio.wait_for(run_discord(settings, engine_factory(parts), None), 5)
