"""The conversation scenarios of test_conversation.py, on SqlStore, plus restarts and privacy between chats."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import col, select

from bot.core.events import ConversationKey
from bot.core.ports import ReplyRequest
from bot.storage.models import Message
from bot.storage.sql_store import SqlStore
from tests.kit import ChatScene, unanswered_texts

pytest_plugins = ("tests.storage_kit",)

Scenes = Callable[..., Awaitable[ChatScene]]
THREE_PARTS = ["ugh i wish", "like i could just disappear for a bit", "wbu?"]
GROUP = ConversationKey("test", "group1")


@pytest.fixture
async def scenes(database_url: str) -> AsyncIterator[Scenes]:
    """Chat scenes (virtual time) whose store is a SqlStore on this test's database."""
    made: list[ChatScene] = []

    async def make(**kwargs: Any) -> ChatScene:
        scene = ChatScene(store=lambda clock: SqlStore.open(database_url, clock=clock), **kwargs)
        await scene.setup()
        made.append(scene)
        return scene

    yield make
    for scene in made:
        await scene.close()
        await scene.store.close()  # type: ignore[attr-defined]


def sql(scene: ChatScene) -> SqlStore:
    store = scene.store
    assert isinstance(store, SqlStore)
    return store


async def restart(scene: ChatScene, scenes: Scenes, **kwargs: Any) -> ChatScene:
    """The bot process ends and a new one starts on the same database, resuming unanswered chats."""
    await scene.close()
    again = await scenes(**kwargs)
    return again


async def resume(scene: ChatScene) -> None:
    """What the bot does at start: settle the crash's leftovers, then answer unanswered chats once."""
    for key in await sql(scene).recover():
        scene.engine.wake(key)
    await scene.clock.settle()


async def test_burst_of_three_gets_one_reply_in_parts(scenes: Scenes) -> None:
    chat = await scenes(script=lambda r: list(THREE_PARTS), overrides={"timing": {"debounce": 3}})
    await chat.says("heyyy")
    await chat.waits(2)
    await chat.says("saw your story?")
    await chat.waits(2)
    await chat.says("what's up???")
    last_at = chat.clock.now()
    await chat.until_quiet()

    assert chat.bot_texts() == THREE_PARTS
    assert len(chat.responder.requests) == 1
    assert unanswered_texts(chat.responder.requests[0]) == ["heyyy", "saw your story?", "what's up???"]
    assert all(s.at > last_at + 3 for s in chat.outlet.sent), "nothing before the burst ended"
    stored = await sql(chat).load(chat.key)
    assert [line.text for line in stored.history] == ["heyyy", "saw your story?", "what's up???", *THREE_PARTS]
    assert stored.pending == []


async def test_history_holds_only_delivered_text(scenes: Scenes) -> None:
    def answer(request: ReplyRequest) -> list[str]:
        return ["first", "second", "third"] if unanswered_texts(request) == ["hi"] else ["ok then"]

    chat = await scenes(script=answer, overrides={"timing": {"debounce": 1, "wpm": 15}})
    await chat.says("hi")
    await chat.clock.run_until(lambda: len(chat.outlet.sent) == 1)
    await chat.says("nvm")
    await chat.until_quiet()
    await chat.says("still there?")
    await chat.until_quiet()

    history = [line.text for line in chat.responder.requests[-1].history]
    assert history == ["hi", "first", "nvm", "ok then"]
    stored = await sql(chat).load(chat.key)
    assert [line.text for line in stored.history if line.role == "bot"] == chat.bot_texts()
    assert "second" not in [line.text for line in stored.history]


async def test_reset_forgets_the_history_for_real(scenes: Scenes) -> None:
    chat = await scenes(script=lambda r: ["hey"], overrides={"timing": {"debounce": 1}})
    await chat.says("my secret is 42")
    await chat.until_quiet()
    assert await chat.command("reset") == "ok clean slate ✨"
    async with sql(chat).session() as s:
        left = (await s.exec(select(func.count()).select_from(Message).where(col(Message.text).contains("42")))).one()
    assert left == 0
    await chat.says("what was my secret?")
    await chat.until_quiet()
    assert [line.text for line in chat.responder.requests[-1].history] == []


async def test_a_dm_never_reaches_a_groups_prompt(scenes: Scenes) -> None:
    chat = await scenes(script=lambda r: ["got it"], overrides={"timing": {"debounce": 1}})
    await chat.says("my secret is 42")
    await chat.until_quiet()
    await chat.says("sunny say hi to everyone", key=GROUP, is_group=True, addressed=True)
    await chat.until_quiet()

    group_request = chat.responder.requests[-1]
    assert group_request.is_group
    prompt = [line.text for line in (*group_request.history, *group_request.unanswered)]
    assert prompt == ["sunny say hi to everyone"]
    assert [line.text for line in (await sql(chat).load(GROUP)).history] == ["sunny say hi to everyone", "got it"]


async def test_what_the_actor_learns_of_a_persons_rhythm_comes_back_from_the_database(scenes: Scenes) -> None:
    chat = await scenes(script=lambda r: ["hey"], overrides={"timing": {"debounce": 3}})
    await chat.says("so")
    await chat.waits(1)
    await chat.says("guess what")
    await chat.until_quiet()
    learned = chat.engine.actors[chat.key].state.rhythms
    assert learned, "the finished burst taught the actor something"
    assert (await sql(chat).load(chat.key)).rhythms == learned


async def test_an_idle_conversation_is_rebuilt_from_the_database(scenes: Scenes) -> None:
    chat = await scenes(script=lambda r: ["hey"], idle_seconds=60)
    await chat.says("hi")
    await chat.until_quiet()
    await chat.waits(90)
    assert chat.engine.actors == {}
    await chat.says("remember me?")
    await chat.until_quiet()
    assert [line.text for line in chat.responder.requests[-1].history] == ["hi", "hey"]


async def test_a_burst_left_unanswered_by_a_restart_is_answered_once(scenes: Scenes) -> None:
    first = await scenes(script=lambda r: ["sorry!!"], overrides={"timing": {"debounce": 3}})
    await first.says("heyyy")
    await first.waits(1)
    await first.says("saw your story?")
    await first.says("what's up???")
    second = await restart(first, scenes, script=lambda r: list(THREE_PARTS))
    assert first.bot_texts() == []

    await resume(second)
    await second.until_quiet()

    assert second.bot_texts() == THREE_PARTS
    assert [unanswered_texts(r) for r in second.responder.requests] == [["heyyy", "saw your story?", "what's up???"]]
    assert await sql(second).recover() == [], "nothing is left to answer"


async def test_messages_older_than_the_freshness_window_get_the_late_line(scenes: Scenes) -> None:
    first = await scenes(overrides={"timing": {"debounce": 3}})
    await first.says("are you coming tonight?")
    second = await restart(first, scenes, script=lambda r: ["should not be asked"])
    await second.waits(2 * 3600)  # the bot was down for two hours

    await resume(second)
    await second.until_quiet()

    assert second.bot_texts() == ["omg sorry just saw this"]
    assert second.responder.requests == []
    history = (await sql(second).load(second.key)).history
    assert [line.text for line in history] == ["are you coming tonight?", "omg sorry just saw this"]


async def test_stale_messages_can_be_let_go_silently(scenes: Scenes) -> None:
    first = await scenes(overrides={"timing": {"debounce": 3}})
    await first.says("are you coming tonight?")
    second = await restart(first, scenes, late_reply="silent")
    await second.waits(2 * 3600)

    await resume(second)
    await second.until_quiet()

    assert second.bot_texts() == [] and second.responder.requests == []
    assert await sql(second).recover() == []
