"""The bot corrects and takes back its own Telegram messages: editMessageText, deleteMessage and the 48 h window."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TypeVar

import pytest
from telegram import Bot

from bot.adapters.telegram.outlet import TelegramOutlet
from bot.core.clock import VirtualClock
from bot.core.ports import CannotChange, Edit, Intent, Line, ReplyRequest, Unsend
from tests.fakes.telegram_server import FakeTelegramServer
from tests.telegram_kit import DM, TOKEN, TelegramScene, dm_key

DAY = 24 * 3600.0
T = TypeVar("T")


async def paced(clock: VirtualClock, call: Awaitable[T]) -> T:
    """Run one outlet call, letting virtual time pass while it waits its chat's turn."""
    task = asyncio.ensure_future(call)
    await clock.run_until(task.done)
    return task.result()


def history_texts(lines: list[Line]) -> list[str]:
    return [line.text for line in lines]


def ok_calls(tg: TelegramScene, method: str) -> list[dict[str, object]]:
    return [c.params for c in tg.server.calls_of(method) if c.ok]


async def test_an_unsent_part_disappears_and_an_edited_one_changes_for_the_human_and_in_the_history() -> None:
    def answer(request: ReplyRequest) -> list[str | Intent]:
        return ["see you at 5", "love you babe", Unsend(1), Edit(0, "see you at 6"), "bring snacks"]

    async with TelegramScene() as tg:
        tg.scripted.script = answer
        await tg.says(DM, "when r u coming")
        await tg.clock.run_until(lambda: len(tg.server.sent_texts(DM)) == 3, limit=120)
        await tg.clock.advance(10)

        assert tg.server.visible_texts(DM) == ["see you at 6", "bring snacks"]
        assert tg.server.sent_texts(DM) == ["see you at 5", "love you babe", "bring snacks"]
        first, second, _ = tg.sends(DM)
        [deleted] = ok_calls(tg, "deleteMessage")
        assert (deleted["chat_id"], deleted["message_id"]) == (DM, second.result["message_id"])
        [edited] = ok_calls(tg, "editMessageText")
        assert (edited["message_id"], edited["text"]) == (first.result["message_id"], "see you at 6")
        history = (await tg.store.load(dm_key())).history
        assert history_texts(history) == ["when r u coming", "see you at 6", "bring snacks"]


async def test_an_unsend_right_after_a_send_waits_for_the_chats_pace() -> None:
    async with TelegramScene() as tg:
        tg.scripted.script = lambda request: ["oops wrong chat", Unsend(0)]
        await tg.says(DM, "hey")
        await tg.clock.run_until(lambda: bool(tg.server.calls_of("deleteMessage")), limit=120)

    [sent] = tg.sends(DM)
    [deleted] = tg.server.calls_of("deleteMessage")
    assert deleted.ok and tg.server.visible_texts(DM) == []
    assert deleted.at - sent.at == pytest.approx(1.0), "one request a second per chat, deletes included"


async def test_a_message_older_than_48_hours_is_not_deleted_and_stays_in_the_history(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with TelegramScene() as tg:
        tg.scripted.script = lambda request: ["call me tomorrow", Unsend(0)]
        tg.scripted.per_part = 2 * DAY + 60  # the session thinks it over for two days
        await tg.says(DM, "ok bye")
        await tg.clock.run_until(lambda: any("could not unsend" in r.getMessage() for r in caplog.records),
                                 limit=3 * DAY)

        assert tg.server.calls_of("deleteMessage") == [], "refused without asking Telegram"
        assert tg.server.visible_texts(DM) == ["call me tomorrow"]
        history = (await tg.store.load(dm_key())).history
        assert history_texts(history) == ["ok bye", "call me tomorrow"]
    assert any("48 hours" in r.getMessage() for r in caplog.records)


async def test_telegram_refusals_become_cannot_change() -> None:
    clock = VirtualClock()
    async with FakeTelegramServer(now=clock.now, token=TOKEN) as server, \
            Bot(TOKEN, base_url=f"{server.root}/bot") as bot:
        outlet = TelegramOutlet(bot, clock)
        sent = await paced(clock, outlet.send(dm_key(), "hi", None))
        with pytest.raises(CannotChange, match="not modified"):
            await paced(clock, outlet.edit(dm_key(), sent, "hi"))
        with pytest.raises(CannotChange, match=r"(?i)message to edit not found"):
            await paced(clock, outlet.edit(dm_key(), "999", "hello"))
        with pytest.raises(CannotChange, match=r"(?i)message to delete not found"):
            await paced(clock, outlet.delete(dm_key(), "999"))
        await clock.advance(2 * DAY)
        await paced(clock, outlet.edit(dm_key(), sent, "hello"))  # editing has no window
        with pytest.raises(CannotChange, match="48 hours"):
            await paced(clock, outlet.delete(dm_key(), sent))
        await outlet.close()
    assert server.visible_texts(DM) == ["hello"]


async def test_after_a_restart_telegram_itself_refuses_to_delete_an_old_message() -> None:
    clock = VirtualClock()
    async with FakeTelegramServer(now=clock.now, token=TOKEN) as server, \
            Bot(TOKEN, base_url=f"{server.root}/bot") as bot:
        sent = await paced(clock, TelegramOutlet(bot, clock).send(dm_key(), "hi", None))
        await clock.advance(2 * DAY)
        restarted = TelegramOutlet(bot, clock)  # knows nothing of when "hi" went out
        with pytest.raises(CannotChange, match="can't be deleted"):
            await paced(clock, restarted.delete(dm_key(), sent))
    assert server.visible_texts(DM) == ["hi"]
