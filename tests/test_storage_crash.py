"""The bot killed with SIGKILL at the worst moments answers once and never repeats a part.

The bot runs as a subprocess (`textbot chat`: the terminal chat on the durable store) against
the local fake OpenAI server; each stdin line is one human message, each "sunny: …" line one part.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.storage.models import BOT, HUMAN, Message
from tests.fakes.openai_server import FakeOpenAIServer
from tests.storage_kit import stored_messages as messages

pytest_plugins = ("tests.storage_kit",)

ROOT = Path(__file__).resolve().parents[1]
ESCAPES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
BURST = ["heyyy", "saw your story?", "what's up???"]


class Bot:
    """One run of the bot process: its stdin, and the parts it has shown so far."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self.log: list[str] = []
        self.reader = asyncio.gather(self._read(), self._read_log())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            shown = raw.decode().rstrip("\n").split("\r")[-1]  # what the terminal shows after "typing…" is erased
            self.lines.append(ESCAPES.sub("", shown).strip())

    async def _read_log(self) -> None:
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            self.log.append(raw.decode().rstrip())

    def parts(self) -> list[str]:
        """What the bot has said, in order."""
        return [line.split(": ", 1)[1] for line in self.lines if line.startswith("sunny: ")]

    async def says(self, *texts: str) -> None:
        """The human types these lines."""
        assert self.proc.stdin is not None
        self.proc.stdin.write("".join(f"{t}\n" for t in texts).encode())
        await self.proc.stdin.drain()

    async def kill(self) -> None:
        """SIGKILL: no cleanup of any kind."""
        self.proc.send_signal(signal.SIGKILL)
        await asyncio.wait_for(self.proc.wait(), timeout=10)
        await asyncio.wait_for(self.reader, timeout=10)

    async def quit(self) -> None:
        """End of input; the bot finishes what it is doing and exits."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        assert await asyncio.wait_for(self.proc.wait(), timeout=30) == 0, "\n".join(self.log)
        await self.reader


@pytest.fixture
async def llm() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
async def start_bot(database_url: str, llm: FakeOpenAIServer) -> AsyncIterator[Callable[[], asyncio.Future[Bot]]]:
    """Start the bot process on this test's database (each call is a fresh process)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LLM_", "TELEGRAM_", "DISCORD_"))}
    env.update(DATABASE_URL=database_url, OPENAI_BASE_URL=llm.url, OPENAI_API_KEY="sk-test", LLM_MODEL="m",
               TIMING_SCALE="0.01", TURN_POLICY="fixed", PYTHONPATH=str(ROOT), LOG_LEVEL="INFO")
    bots: list[Bot] = []

    async def start() -> Bot:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "chat", cwd=ROOT, env=env, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        bot = Bot(proc)
        bots.append(bot)
        await until(lambda: any(line.startswith("texting ") for line in bot.lines), what="the bot to start", bot=bot)
        return bot

    yield start  # type: ignore[misc]
    for bot in bots:
        if bot.proc.returncode is None:
            await bot.kill()


async def until(done: Callable[[], bool], what: str, bot: Bot | None = None, timeout: float = 20.0) -> None:
    """Poll (in real time) until `done()`."""
    for _ in range(int(timeout / 0.02)):
        if done():
            return
        if bot is not None and bot.proc.returncode is not None:
            raise AssertionError(f"the bot exited while waiting for {what}:\n" + "\n".join(bot.log))
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}:\n" + "\n".join(bot.log if bot else []))


async def test_killed_after_the_burst_is_stored_the_restarted_bot_replies_exactly_once(
    start_bot: Callable[[], asyncio.Future[Bot]], llm: FakeOpenAIServer, database_url: str,
) -> None:
    llm.reply_with(lambda messages: "omg hi\nyes i saw it\nwbu?")
    first = await start_bot()
    await first.says(*BURST)
    stored: list[Message] = []
    for _ in range(500):  # the fixed turn policy waits 2.5 s after the last message: kill well before
        stored = [m for m in await messages(database_url) if m.direction == HUMAN]
        if len(stored) == 3:
            break
        await asyncio.sleep(0.01)
    await first.kill()
    assert [m.text for m in stored] == BURST and first.parts() == []

    second = await start_bot()
    await until(lambda: len(second.parts()) >= 3, "the reply", second)
    await second.quit()

    assert second.parts() == ["omg hi", "yes i saw it", "wbu?"]
    assert llm.request_count == 1, "one reply to the whole burst"
    assert [m["content"] for m in llm.requests[0]["messages"][1:]] == BURST
    rows = await messages(database_url)
    assert [(m.text, m.state) for m in rows if m.direction == BOT] == [
        ("omg hi", "sent"), ("yes i saw it", "sent"), ("wbu?", "sent")]
    assert {m.state for m in rows if m.direction == HUMAN} == {"answered"}


async def test_killed_between_two_parts_the_restarted_bot_finishes_the_reply_and_never_repeats_a_part(
    start_bot: Callable[[], asyncio.Future[Bot]], llm: FakeOpenAIServer, database_url: str,
) -> None:
    llm.chunk_delay = 0.3  # part two streams in well after part one has gone out
    llm.replies("first part\nsecond part, never sent", "and the rest of it")
    first = await start_bot()
    await first.says("you around?")
    await until(lambda: first.parts() == ["first part"], "part one", first)
    for _ in range(500):  # part one is recorded as sent just after it shows
        if any(m.state == "sent" for m in await messages(database_url)):
            break
        await asyncio.sleep(0.01)
    await first.kill()
    assert {m.state for m in await messages(database_url)} == {"answered", "sent"}, "part one answered the message"

    llm.chunk_delay = 0.0
    second = await start_bot()  # nothing new from the human: the bot picks up where it was cut off
    await until(lambda: len(second.parts()) >= 1, "the rest of the reply", second)
    await second.quit()

    assert first.parts() + second.parts() == ["first part", "and the rest of it"], "no part repeated"
    rows = await messages(database_url)
    assert [(m.text, m.state) for m in rows if m.direction == BOT] == [
        ("first part", "sent"), ("and the rest of it", "sent")]
    continuation = llm.requests[-1]["messages"]
    assert "first part" in continuation[0]["content"], "the model is told what already went out"
    assert [m["content"] for m in continuation[1:]] == ["you around?", "first part"], "only what was delivered"
