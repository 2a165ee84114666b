"""The bot in a Discord server: silent unless addressed, answers mentions, replies, its name; threads apart."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from tests.discord_scene import CHANNEL, HUMAN, OTHER, THREAD, DiscordScene, scenes
from tests.fakes.discord_payloads import make_user
from tests.kit import unanswered_texts

make_scene = pytest.fixture(scenes)
Make = Callable[..., Awaitable[DiscordScene]]


async def test_a_server_message_without_a_mention_gets_silence(make_scene: Make) -> None:
    chat = await make_scene(script=lambda r: ["should never appear"])
    await chat.says("anyone up for pizza tonight?", CHANNEL)
    await chat.types(CHANNEL, OTHER)
    await chat.says("yes!! the usual place", CHANNEL, OTHER)
    await chat.waits(120)
    assert chat.bot_texts(CHANNEL) == [] and chat.typing_at(CHANNEL) == []
    assert chat.scripted.requests == []


async def test_a_mention_gets_a_reply_in_parts_without_quoting_in_a_quiet_channel(make_scene: Make) -> None:
    chat = await make_scene(script=lambda r: ["hiii", "whats up"])
    await chat.says(f"<@{chat.bot_id}> hey you around?", CHANNEL)
    await chat.until_quiet()
    assert chat.bot_texts(CHANNEL) == ["hiii", "whats up"]
    assert [unanswered_texts(r) for r in chat.scripted.requests] == [["@sunny hey you around?"]]
    assert all(m.get("message_reference") is None for m in chat.bot_messages(CHANNEL)), "nothing to quote"


async def test_in_a_busy_channel_the_first_part_quotes_the_older_message_it_answers(make_scene: Make) -> None:
    chat = await make_scene(script=lambda r: ["pasta!", "always pasta"])
    asked = await chat.says(f"<@{chat.bot_id}> what should i cook tonight?", CHANNEL)
    await chat.posts("now playing: lofi beats", CHANNEL, make_user(600, "musicbot", bot=True))
    await chat.until_quiet()
    first, second = chat.bot_messages(CHANNEL)
    assert (first["content"], second["content"]) == ("pasta!", "always pasta")
    assert first["message_reference"]["message_id"] == asked["id"]
    assert second.get("message_reference") is None
    assert len(chat.scripted.requests) == 1, "another bot's message is not part of the conversation"


async def test_the_persona_name_and_a_reply_to_the_bot_address_it(make_scene: Make) -> None:
    chat = await make_scene(script=lambda r: [f"re: {unanswered_texts(r)[-1]}"])
    await chat.says("Sunny what do you think", CHANNEL)
    await chat.until_quiet()
    [answer] = chat.bot_messages(CHANNEL)
    await chat.says("sunnyside eggs are the best", CHANNEL, OTHER)  # the name inside a word is not a call
    await chat.until_quiet()
    await chat.says("wdym", CHANNEL, OTHER, referenced_message_id=int(answer["id"]), mentions=[])
    await chat.until_quiet()
    assert chat.bot_texts(CHANNEL) == ["re: Sunny what do you think", "re: wdym"]


async def test_a_thread_is_its_own_conversation(make_scene: Make) -> None:
    chat = await make_scene(script=lambda r: [f"{len(r.history)} lines before"])
    await chat.says(f"<@{chat.bot_id}> hi in the channel", CHANNEL)
    await chat.until_quiet()
    await chat.says(f"<@{chat.bot_id}> hi in the thread", THREAD, HUMAN)
    await chat.until_quiet()
    assert chat.bot_texts(CHANNEL) == ["0 lines before"]
    assert chat.bot_texts(THREAD) == ["0 lines before"], "the thread does not see the channel's history"
    keys = {str(e.key) for e in chat.inbox.events}
    assert keys == {f"discord:{CHANNEL}", f"discord:{CHANNEL}:{THREAD}"}
