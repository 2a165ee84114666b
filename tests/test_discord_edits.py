"""The bot corrects and takes back its own Discord messages: PATCH and DELETE through discord.py."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import pytest

from bot.core.events import ConversationKey
from bot.core.ports import CannotChange, Edit, Intent, ReplyRequest, Unsend
from tests.discord_scene import CHANNEL, DM, DiscordScene, scenes

make_scene = pytest.fixture(scenes)
Make = Callable[..., Awaitable[DiscordScene]]


def requests(chat: DiscordScene, method: str, channel: int = DM) -> list[str]:
    """The ids of the bot's messages that got a successful `method` request in a channel."""
    prefix = f"/channels/{channel}/messages/"
    return [c.path.removeprefix(prefix) for c in chat.server.calls
            if c.method == method and c.path.startswith(prefix) and c.status < 300]


def visible(chat: DiscordScene, channel: int = DM) -> list[str]:
    """The bot's messages as the human sees them now (edits applied, deleted ones gone)."""
    return [m["content"] for m in chat.server.sent_messages(channel)]


async def test_an_unsent_part_disappears_and_an_edited_one_changes_for_the_human_and_in_the_history(
    make_scene: Make,
) -> None:
    def answer(request: ReplyRequest) -> list[str | Intent]:
        return ["see you at 5", "love you babe", Unsend(1), Edit(0, "see you at 6"), "bring snacks"]

    chat = await make_scene()
    chat.scripted.script = answer
    await chat.says("when r u coming")
    await chat.until_quiet()

    assert visible(chat) == ["see you at 6", "bring snacks"]
    assert chat.bot_texts() == ["see you at 6", "love you babe", "bring snacks"], "deleted ones kept for the test"
    first, second, _ = chat.bot_messages()
    assert requests(chat, "DELETE") == [second["id"]]
    assert requests(chat, "PATCH") == [first["id"]]
    patch = next(c for c in chat.server.calls if c.method == "PATCH")
    assert patch.json["content"] == "see you at 6"
    history = (await chat.store.load(ConversationKey("discord", str(DM)))).history
    assert [line.text for line in history] == ["when r u coming", "see you at 6", "bring snacks"]


async def test_a_message_someone_already_deleted_cannot_be_taken_back_and_stays_in_the_history(
    make_scene: Make, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    chat = await make_scene()
    chat.scripted.script = lambda request: ["hiii", Unsend(0)]
    chat.scripted.per_part = 5.0
    await chat.says("hey")
    await chat.until(lambda: len(chat.bot_messages()) == 1)
    [sent] = chat.bot_messages()
    chat.server.delete_message(int(sent["id"]))  # a moderator (or the human's client) removed it
    await chat.until_quiet()

    assert requests(chat, "DELETE") == []
    assert [c.status for c in chat.server.calls if c.method == "DELETE"] == [404]
    assert any("could not unsend" in r.getMessage() and "Unknown Message" in r.getMessage() for r in caplog.records)
    history = (await chat.store.load(ConversationKey("discord", str(DM)))).history
    assert [line.text for line in history] == ["hey", "hiii"], "what Discord would not take back stays said"


async def test_discord_refusals_become_cannot_change(make_scene: Make) -> None:
    chat = await make_scene()
    key = ConversationKey("discord", str(CHANNEL))
    human = chat.server.send_message(CHANNEL, 502, "not yours to edit")
    with pytest.raises(CannotChange, match="another user"):
        await chat.outlet.edit(key, human["id"], "hacked")
    with pytest.raises(CannotChange, match="Unknown Message"):
        await chat.outlet.delete(key, "123456789")
    with pytest.raises(CannotChange, match="2000"):
        await chat.outlet.edit(key, human["id"], "x" * 2001)
