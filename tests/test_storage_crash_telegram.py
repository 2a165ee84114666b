"""On Telegram, the real `textbot run` killed with SIGKILL at the worst moments answers once and never repeats a part.

The bot runs as a subprocess against a fake Telegram Bot API server and a fake OpenAI server, both in
this test process: they outlive every run of the bot, so an update Telegram was not told is handled
waits for the next run, and every message the bot delivered is on record.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from bot.storage.models import BOT, HUMAN
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.telegram_server import FakeTelegramServer
from tests.process_kit import LoggedProcess, until
from tests.storage_kit import stored_messages as messages

pytest_plugins = ("tests.storage_kit",)

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123456:TEST-token"
DM = 42  # a private chat with user 42
BURST = ["heyyy", "saw your story?", "what's up???"]


Bot = LoggedProcess
StartBot = Callable[[], Awaitable[Bot]]


@pytest.fixture
async def llm() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(token=TOKEN) as server:
        yield server


@pytest.fixture
async def start_bot(database_url: str, llm: FakeOpenAIServer, telegram: FakeTelegramServer,
                    tmp_path: Path) -> AsyncIterator[StartBot]:
    """Start `textbot run` on this test's database (each call is a fresh process); all are killed at the end."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI_", "LLM_", "TELEGRAM_", "DISCORD_", "WEB_"))}
    env.update(DATABASE_URL=database_url, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=telegram.root,
               OPENAI_BASE_URL=llm.url, OPENAI_API_KEY="sk-test", LLM_MODEL="m", PERSONA="sunny",
               TIMING_SCALE="0.01", TURN_POLICY="fixed", PYTHONPATH=str(ROOT), LOG_LEVEL="INFO")
    bots: list[Bot] = []

    async def start() -> Bot:
        polls = len(telegram.calls_of("getUpdates"))
        proc = await asyncio.create_subprocess_exec(  # cwd: no developer's .env is read
            sys.executable, "-m", "bot.cli", "run", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        bot = Bot(proc)
        bots.append(bot)
        await until(lambda: len(telegram.calls_of("getUpdates")) > polls, "the bot to poll Telegram", bot)
        return bot

    yield start
    for bot in bots:  # every process gets its SIGKILL before any wait can fail
        bot.signal_kill()
    for bot in bots:
        await bot.kill()


async def states(database_url: str, direction: str) -> list[tuple[str, str]]:
    """(text, state) of the stored messages in one direction, in order."""
    return [(m.text, m.state) for m in await messages(database_url) if m.direction == direction]


def updates_redelivered(telegram: FakeTelegramServer, since: int) -> list[int]:
    """update_ids that getUpdates handed out in calls from index `since` on."""
    calls = telegram.calls_of("getUpdates")[since:]
    return [u["update_id"] for c in calls if c.ok for u in c.result or []]


async def test_killed_after_the_burst_is_stored_the_restarted_bot_replies_exactly_once(
    start_bot: StartBot, llm: FakeOpenAIServer, telegram: FakeTelegramServer, database_url: str,
) -> None:
    llm.reply_with(lambda messages: "omg hi\nyes i saw it\nwbu?")
    first = await start_bot()
    for text in BURST:
        telegram.push_message(DM, text)
    newest = telegram.pending_updates[-1]["update_id"]

    async def burst_stored() -> bool:  # the fixed turn policy waits 2.5 s (unscaled) after the last message
        return len(await states(database_url, HUMAN)) == 3 and telegram.offset_confirmed > newest

    await until(burst_stored, "the burst to be stored and confirmed", first)
    await first.kill()
    assert telegram.pending_updates == [], "every update of the burst confirmed"
    assert telegram.calls_of("sendMessage") == [] and llm.request_count == 0, "killed before any reply"

    polls = len(telegram.calls_of("getUpdates"))
    second = await start_bot()

    async def all_sent() -> bool:
        return len(telegram.sent_texts(DM)) >= 3 and {s for _, s in await states(database_url, BOT)} == {"sent"}

    await until(all_sent, "the reply", second)

    assert telegram.sent_texts() == ["omg hi", "yes i saw it", "wbu?"], "one reply, each part once"
    assert llm.request_count == 1, "one reply to the whole burst"
    assert [m["content"] for m in llm.requests[0]["messages"][1:]] == BURST
    assert updates_redelivered(telegram, polls) == [], "Telegram forgot the confirmed updates"
    assert await states(database_url, HUMAN) == [(text, "answered") for text in BURST]
    assert await states(database_url, BOT) == [("omg hi", "sent"), ("yes i saw it", "sent"), ("wbu?", "sent")]


async def kill_after_part_one(start_bot: StartBot, telegram: FakeTelegramServer, database_url: str) -> None:
    """The human asks; part one goes out and is recorded; part two is held off by a 429; SIGKILL."""
    first = await start_bot()
    telegram.push_message(DM, "you around?")
    await until(lambda: telegram.sent_texts() == ["first part"], "part one", first)
    # At once (the bot leaves >= 1 s between two messages to a chat): Telegram holds part two off for a minute.
    telegram.fail_next("sendMessage", status=429, retry_after=60)

    async def part_two_held() -> bool:
        return len(telegram.calls_of("sendMessage")) == 2 and ("first part", "sent") in await states(database_url, BOT)

    await until(part_two_held, "part one recorded as sent, part two held off", first)
    await first.kill()
    assert await states(database_url, HUMAN) == [("you around?", "answered")], "part one answered the message"


async def test_killed_between_two_parts_the_restarted_bot_finishes_the_reply_and_never_repeats_a_part(
    start_bot: StartBot, llm: FakeOpenAIServer, telegram: FakeTelegramServer, database_url: str,
) -> None:
    llm.replies("first part\nsecond part, maybe sent", "and that's the rest")
    await kill_after_part_one(start_bot, telegram, database_url)

    second = await start_bot()

    async def rest_sent() -> bool:
        return ("and that's the rest", "sent") in await states(database_url, BOT)

    await until(rest_sent, "the rest of the reply", second)

    assert telegram.sent_texts() == ["first part", "and that's the rest"], "no part repeated"
    assert llm.request_count == 2
    continuation = llm.requests[-1]["messages"]
    assert "first part" in continuation[0]["content"], "the model is told what already went out"
    assert [m["content"] for m in continuation[1:]] == ["you around?", "first part"], "only what was delivered"
    assert await states(database_url, BOT) == [
        ("first part", "sent"), ("second part, maybe sent", "unconfirmed"), ("and that's the rest", "sent")]


async def test_a_message_sent_while_the_bot_was_down_gets_one_reply_instead_of_the_old_thought(
    start_bot: StartBot, llm: FakeOpenAIServer, telegram: FakeTelegramServer, database_url: str,
) -> None:
    llm.replies("first part\nsecond part, maybe sent", "yep still here")
    await kill_after_part_one(start_bot, telegram, database_url)

    telegram.push_message(DM, "hello??")  # while the bot is down
    second = await start_bot()

    async def next_reply_sent() -> bool:
        return ("yep still here", "sent") in await states(database_url, BOT)

    await until(next_reply_sent, "the next reply", second)

    assert telegram.sent_texts() == ["first part", "yep still here"], "no part repeated, the cut one never sent"
    assert llm.request_count == 2
    history = [m["content"] for m in llm.requests[-1]["messages"][1:]]
    assert history == ["you around?", "first part", "hello??"], "the prompt holds only what was delivered"
    assert "cut off" not in llm.requests[-1]["messages"][0]["content"]
