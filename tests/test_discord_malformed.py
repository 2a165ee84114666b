"""Gateway events the bot cannot read: skipped (or resumed past) in one log line, the messages around them answered."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from pydantic import SecretStr

from bot.adapters.discord import gateway, run_discord
from bot.app import Parts, build_responder, engine_factory
from bot.core.clock import VirtualClock
from bot.core.memory_store import MemoryStore
from bot.core.ports import ReplyRequest
from bot.settings import Settings
from tests.discord_scene import DM, HUMAN, DiscordScene, scenes
from tests.fakes.discord_server import FakeDiscordServer
from tests.fakes.openai_server import FakeOpenAIServer
from tests.kit import unanswered_texts

make_scene = pytest.fixture(scenes)
Make = Callable[..., Awaitable[DiscordScene]]
SECRET = "my bank pin is 4321"
Send = Callable[[FakeDiscordServer], None]


def echo(request: ReplyRequest) -> list[str]:
    return [f"re: {unanswered_texts(request)[-1]}"]


def message(server: FakeDiscordServer, **changes: Any) -> dict[str, Any]:
    """A well-formed MESSAGE_CREATE payload from the human (text SECRET); a change to None removes the field."""
    data: dict[str, Any] = {
        "id": "777000000000000001", "channel_id": str(DM), "author": server.user(HUMAN), "content": SECRET,
        "timestamp": "2024-05-01T12:00:00+00:00", "edited_timestamp": None, "tts": False,
        "mention_everyone": False, "mention_roles": [], "mentions": [], "attachments": [], "embeds": [],
        "components": [], "pinned": False, "type": 0, "flags": 0,
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


FRAMES: dict[str, tuple[Send, str]] = {  # what the gateway sends, and what the one log line names
    "message without channel_id": (
        lambda s: s.dispatch("MESSAGE_CREATE", message(s, channel_id=None)), "malformed MESSAGE_CREATE"),
    "message without id": (lambda s: s.dispatch("MESSAGE_CREATE", message(s, id=None)), "malformed MESSAGE_CREATE"),
    "message with d null": (lambda s: s.dispatch("MESSAGE_CREATE", None), "malformed MESSAGE_CREATE"),
    "message with a non-numeric id": (
        lambda s: s.dispatch("MESSAGE_CREATE", message(s, id=SECRET)), "malformed MESSAGE_CREATE"),
    "message with content null": (
        lambda s: s.dispatch("MESSAGE_CREATE", message(s, content=None) | {"content": None}),
        "message that could not be translated"),
    "typing without a user": (
        lambda s: s.dispatch("TYPING_START", {"channel_id": str(DM), "timestamp": 0}), "malformed TYPING_START"),
    "typing without a channel": (
        lambda s: s.dispatch("TYPING_START", {"user_id": str(HUMAN), "timestamp": 0}), "malformed TYPING_START"),
    "edit without an id": (
        lambda s: s.dispatch("MESSAGE_UPDATE", {"channel_id": str(DM), "content": SECRET}), "malformed MESSAGE_UPDATE"),
    "edit with d null": (lambda s: s.dispatch("MESSAGE_UPDATE", None), "malformed MESSAGE_UPDATE"),
    "delete without a channel": (lambda s: s.dispatch("MESSAGE_DELETE", {"id": "5"}), "malformed MESSAGE_DELETE"),
    "delete with a non-numeric id": (
        lambda s: s.dispatch("MESSAGE_DELETE", {"id": SECRET, "channel_id": str(DM)}), "malformed MESSAGE_DELETE"),
    "a frame that is not JSON": (lambda s: s.send_raw_frame(f"{{oops {SECRET}"), "could not read a gateway frame"),
}


def warnings_about(caplog: pytest.LogCaptureFixture, words: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if words in r.getMessage()]


@pytest.mark.parametrize("frame", FRAMES, ids=list(FRAMES))
async def test_an_unreadable_gateway_event_between_two_messages_is_skipped_and_both_are_answered(
    frame: str, make_scene: Make, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    send_bad, named = FRAMES[frame]
    chat = await make_scene(script=echo)
    await chat.says("first")
    await chat.until(lambda: len(chat.bot_texts()) == 1)
    send_bad(chat.server)
    await chat.says("second")
    await chat.until(lambda: len(chat.bot_texts()) == 2)

    assert chat.bot_texts() == ["re: first", "re: second"]
    assert chat._gateway is not None and not chat._gateway.done(), "the gateway connection lives on"
    assert len(warnings_about(caplog, named)) == 1
    assert SECRET not in caplog.text, "no log line quotes the payload"
    assert chat.server.identify_count == 1, "the session was kept (resumed, if anything)"


async def test_a_frame_garbled_on_every_resume_ends_in_a_new_session_after_backing_off(
    make_scene: Make, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.INFO)
    monkeypatch.setattr(gateway, "FIRST_FRAME_BACKOFF", 0.01)
    chat = await make_scene(script=echo)

    async def identify_at_once(shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py waits 5 s before a new session's IDENTIFY; nothing here depends on that wait."""

    monkeypatch.setattr(chat.client, "before_identify_hook", identify_at_once)
    await chat.says("first")
    await chat.until(lambda: len(chat.bot_texts()) == 1)
    chat.server.send_raw_frame(f"{{oops {SECRET}", replayed=True)
    await chat.real_wait(lambda: chat.server.identify_count == 2)
    await chat.real_wait(chat.client.is_ready)
    await chat.says("second")
    await chat.until(lambda: len(chat.bot_texts()) == 2)

    assert chat.bot_texts() == ["re: first", "re: second"]
    assert chat.server.resume_count == gateway.RESUMES_BEFORE_NEW_SESSION - 1
    lines = [r.getMessage() for r in warnings_about(caplog, "could not read a gateway frame")]
    assert len(lines) == gateway.RESUMES_BEFORE_NEW_SESSION and "new session" in lines[-1]
    assert SECRET not in caplog.text


async def test_run_discord_stays_up_through_a_malformed_event_and_answers_the_next_message() -> None:
    clock = VirtualClock()
    async with FakeOpenAIServer() as llm, FakeDiscordServer(now=clock.now) as discord:
        llm.replies("hey!")
        discord.add_dm_channel(DM, HUMAN)
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, discord_bot_token=SecretStr(discord.token), discord_api_base_url=discord.api_base,
            discord_gateway_url=discord.gateway_url, openai_base_url=llm.url, openai_api_key=SecretStr("sk-test"),
            llm_model="test-model", llm_attempts=1, persona="sunny",
        )
        parts = Parts(settings, clock, build_responder(settings, clock), MemoryStore())
        stop = asyncio.Event()
        running = asyncio.create_task(run_discord(settings, engine_factory(parts), stop))
        async with asyncio.timeout(10):
            while not discord.commands.get(None):  # on_ready
                await asyncio.sleep(0.01)
        discord.dispatch("MESSAGE_CREATE", message(discord, channel_id=None))
        discord.send_message(DM, HUMAN, "you there?")
        await clock.run_until(lambda: len(discord.sent_messages(DM)) == 1 or running.done(), limit=120)
        assert not running.done(), "run_discord is still running"
        stop.set()
        await asyncio.wait_for(running, 5)
    assert [m["content"] for m in discord.sent_messages(DM)] == ["hey!"]
