"""Kit for the several-workers tests: real `textbot run` processes on one PostgreSQL, the fakes they talk to.

Each worker gets its own fake OpenAI server whose reply names the worker ("w1 here" / "all good"),
so what the human sees says which worker answered. Telegram and Discord are one fake each, shared by
all workers, as the real services are; Discord's gateway gives each worker its shard.
"""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.storage.url import create_sync_engine
from tests.fakes.discord_server import FakeDiscordServer
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.telegram_server import FakeTelegramServer
from tests.process_kit import LoggedProcess, until
from tests.storage_kit import PostgresServer, _skip_without, migrated_database

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123456:TEST-token"
WORKERS = 3
LEASE_SECONDS = 5.0  # short, so a dead worker's chats move on soon; no test asserts a real-clock figure
GUILD_OF_SHARD = {shard: (shard << 22) + 7 for shard in range(WORKERS)}  # Discord: shard = (guild >> 22) % count
CHANNEL_OF_SHARD = {shard: 7000 + shard for shard in range(WORKERS)}
START_TIMEOUT = 120.0  # seconds three workers may take to start on a busy two-core machine


def reply_of(worker: int) -> list[str]:
    """The two parts worker `worker` answers with."""
    return [f"w{worker} here", "all good"]


def _reply(worker: int, messages: object) -> str:
    return "\n".join(reply_of(worker))


class Worker(LoggedProcess):
    """One `textbot run` process: its slot and what it logged."""

    poll_every = 0.05
    patience = 60.0

    def __init__(self, slot: int, proc: asyncio.subprocess.Process) -> None:
        super().__init__(proc)
        self.slot = slot

    @property
    def name(self) -> str:  # type: ignore[override]
        """How failure messages call it."""
        return f"worker {self.slot}"


@dataclass
class World:
    """The database, the fakes and the workers started on them."""

    database_url: str
    telegram: FakeTelegramServer
    discord: FakeDiscordServer
    llms: list[FakeOpenAIServer]
    cwd: Path
    env: dict[str, str]
    workers: list[Worker] = field(default_factory=list)

    async def start(self, slot: int, count: int = WORKERS, args: tuple[str, ...] = ()) -> Worker:
        """Start `textbot run` as worker `slot` of `count` (as a host that starts processes itself would)."""
        env = dict(self.env, WORKER_ID=str(slot), WORKER_COUNT=str(count), OPENAI_BASE_URL=self.llms[slot].url)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", *args, cwd=self.cwd, env=env,  # cwd: no .env is read
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        worker = Worker(slot, proc)
        self.workers.append(worker)
        return worker

    async def start_all(self) -> list[Worker]:
        """Every worker, once each has connected its Discord shard and one of them polls Telegram."""
        workers = [await self.start(slot) for slot in range(WORKERS)]
        for worker in workers:  # start-up is slow on a busy machine: the bound is generous, not a figure
            await until(functools.partial(worker.logged, "discord: connected as"), "its Discord shard", worker,
                        timeout=START_TIMEOUT)
        await until(lambda: any(w.logged("took the duty telegram-polling") for w in workers), "a poller", workers[0],
                    timeout=START_TIMEOUT)
        return workers

    def rows(self, sql: str) -> list[tuple[object, ...]]:
        """Rows of a query on the shared database."""
        engine = create_sync_engine(self.database_url)
        try:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.execute(text(sql)).all()]
        finally:
            engine.dispose()

    def discord_texts(self, channel: int) -> list[str]:
        """What the bot posted in a Discord channel, in order."""
        return [m["content"] for m in self.discord.sent_messages(channel)]


@pytest.fixture
def pg_database(postgres_server: PostgresServer, migrated_templates: dict[str, str],
                tmp_path: Path) -> Iterator[str]:
    """A migrated PostgreSQL database of this test's own."""
    _skip_without("postgresql", postgres_server)
    with migrated_database("postgresql", postgres_server, migrated_templates, tmp_path) as url:
        yield url


@pytest.fixture
async def world(pg_database: str, tmp_path: Path) -> AsyncIterator[World]:
    """Fakes up, nothing started; every worker started in the test is killed at the end."""
    async with AsyncExitStack() as stack:
        llms = [await stack.enter_async_context(FakeOpenAIServer()) for _ in range(WORKERS)]
        for slot, llm in enumerate(llms):
            llm.reply_with(functools.partial(_reply, slot))
        telegram = await stack.enter_async_context(FakeTelegramServer(token=TOKEN))
        discord = await stack.enter_async_context(FakeDiscordServer(token="discord-token"))
        for shard in range(WORKERS):
            discord.add_guild(GUILD_OF_SHARD[shard], f"server {shard}", [CHANNEL_OF_SHARD[shard]],
                              members=[900 + shard])
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LLM_", "TELEGRAM_", "DISCORD_",
                                                                            "WEB_", "WORKER_"))}
        env.update(DATABASE_URL=pg_database, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=telegram.root,
                   DISCORD_BOT_TOKEN="discord-token", DISCORD_API_BASE_URL=discord.api_base,
                   DISCORD_GATEWAY_URL=discord.gateway_url, OPENAI_API_KEY="sk-test", LLM_MODEL="m",
                   PERSONA="sunny", TIMING_SCALE="0.01", TURN_POLICY="fixed:10", PYTHONPATH=str(ROOT),
                   LOG_LEVEL="INFO", WORKER_LEASE_SECONDS=str(LEASE_SECONDS))
        found = World(pg_database, telegram, discord, llms, tmp_path, env)
        try:
            yield found
        finally:
            for worker in found.workers:  # every process gets its SIGKILL before any wait can fail
                if worker.proc.returncode is None:
                    worker.proc.send_signal(signal.SIGKILL)
            for worker in found.workers:
                await worker.kill()
