"""Telegram webhook mode with two workers: each accepts on its own port, and hands on what another worker owns.

Both workers run in this process (each its own cluster membership, store connection and engine) on the
real PostgreSQL, so the hand-over between them goes through the database as between two processes.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import aiohttp
import pytest
from pydantic import SecretStr

from bot.adapters.telegram import run_telegram
from bot.app import Parts, engine_factory
from bot.core.clock import RealClock
from bot.settings import Settings
from bot.storage.sql_store import SqlStore
from bot.testing import ScriptedResponder
from bot.workers.join import joined
from tests.fakes.telegram_server import FakeTelegramServer
from tests.workers_kit import TOKEN

pytest_plugins = ("tests.storage_kit", "tests.workers_kit")

CHATS = list(range(401, 413))
# Long enough that no heartbeat (every third of it) falls inside a test: a worker knows of one that joined after
# it only by asking the database, as it must when it places a new chat.
LEASE = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def a_worker(slot: int, port: int, database_url: str, telegram: FakeTelegramServer, stop: asyncio.Event) -> None:
    """Worker `slot` of two in webhook mode, accepting on `port`; its replies say who it is."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, telegram_bot_token=SecretStr(TOKEN), telegram_api_base_url=telegram.root,
        telegram_webhook_url="https://bot.example/tg/hook", database_url=database_url, worker_id=slot,
        worker_count=2, worker_lease_seconds=LEASE, turn_policy="immediate", timing_scale=0.0)
    clock = RealClock()
    responder = ScriptedResponder(clock, latency=0.0, per_part=0.0)
    responder.script = lambda request: [f"w{slot} here"]
    store = SqlStore.open(database_url)
    try:
        async with joined(settings, store) as workers:
            parts = Parts(settings, clock, responder, store, workers=workers)
            # run_telegram listens on webhook_port + WORKER_ID: ask for `port` exactly
            await run_telegram(settings, engine_factory(parts), stop, webhook_listen="127.0.0.1",
                               webhook_port=port - slot)
    finally:
        await store.close()


@pytest.fixture(params=[0, 1], ids=["worker 0 joins first", "worker 1 joins first"])
async def two_workers(
    pg_database: str, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[FakeTelegramServer, list[int]]]:
    async with AsyncExitStack() as stack:
        telegram = await stack.enter_async_context(FakeTelegramServer(token=TOKEN))
        ports, stop = [free_port(), free_port()], asyncio.Event()
        tasks: list[asyncio.Task[None]] = []
        try:
            for joined_before, slot in enumerate((request.param, 1 - request.param)):
                tasks.append(asyncio.create_task(a_worker(slot, ports[slot], pg_database, telegram, stop)))
                async with asyncio.timeout(60):  # it is serving once it has set its webhook
                    while len(telegram.calls_of("setWebhook")) <= joined_before:
                        await asyncio.sleep(0.05)
            yield telegram, ports
        finally:
            stop.set()
            await asyncio.wait_for(asyncio.gather(*tasks), 30)


async def test_each_worker_accepts_webhook_calls_and_hands_on_the_chats_it_does_not_own(
    two_workers: tuple[FakeTelegramServer, list[int]],
) -> None:
    telegram, ports = two_workers
    secret = {"X-Telegram-Bot-Api-Secret-Token": telegram.calls_of("setWebhook")[-1].params["secret_token"]}
    assert len({c.params["secret_token"] for c in telegram.calls_of("setWebhook")}) == 1, "one secret for both"
    async with aiohttp.ClientSession() as http:
        for chat in CHATS:  # the load balancer happens to send every call to worker 1
            telegram.push_message(chat, "hello hook")
            async with http.post(f"http://127.0.0.1:{ports[1]}/tg/hook", json=telegram.pending_updates[-1],
                                 headers=secret) as resp:
                assert resp.status == 200
    async with asyncio.timeout(60):
        while not all(telegram.sent_texts(chat) for chat in CHATS):
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # a second answer would show up by now

    answers = {chat: telegram.sent_texts(chat) for chat in CHATS}
    assert all(sent in (["w0 here"], ["w1 here"]) for sent in answers.values()), answers
    assert ["w0 here"] in answers.values(), "worker 0 answers the chats it owns, though worker 1 accepted them"
    assert not telegram.calls_of("getUpdates"), "webhook mode never polls"
