"""A message whose store write fails is not confirmed to Telegram: it comes again and is answered once."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from bot.core.events import HumanMessage
from bot.core.memory_store import MemoryStore
from bot.core.ports import ReplyRequest
from tests.kit import unanswered_texts
from tests.telegram_kit import DM, TelegramScene

OTHER_DM = 43


class LockedOnce(MemoryStore):
    """A store whose first write of a human message raises, as a locked database does."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 0
        self.confirmed_when_stored: list[int] = []  # Telegram's offset at each successful write
        self.offset: Callable[[], int] = lambda: 0

    async def save_human(self, msg: HumanMessage, at: float) -> bool:
        if not self.failures:
            self.failures += 1
            raise RuntimeError("database is locked")
        self.confirmed_when_stored.append(self.offset())
        return await super().save_human(msg, at)


def echo(request: ReplyRequest) -> list[str]:
    return [f"re: {' / '.join(unanswered_texts(request))}"]


def deliveries(tg: TelegramScene, update_id: int) -> int:
    """How many getUpdates answers carried the update."""
    return sum(1 for c in tg.server.calls_of("getUpdates")
               if c.ok and any(u.get("update_id") == update_id for u in c.result or ()))


async def test_a_message_the_store_failed_to_write_is_not_confirmed_comes_again_and_is_answered_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    store = LockedOnce()
    async with TelegramScene(script=echo, store=store) as tg:
        store.offset = lambda: tg.server.offset_confirmed
        tg.server.push_message(DM, "are you there?")
        update_id = tg.server.pending_updates[-1]["update_id"]
        await tg.handled()
        assert await tg.until_sent(DM, 1) == ["re: are you there?"]
        await tg.clock.advance(120)
        assert tg.server.sent_texts(DM) == ["re: are you there?"], "answered once"

    assert store.failures == 1
    assert store.confirmed_when_stored == [update_id], "not confirmed before the write that worked"
    assert deliveries(tg, update_id) >= 2, "Telegram sent it again"
    assert len([r for r in caplog.records if "was not stored" in r.getMessage()]) == 1
    assert "are you there?" not in caplog.text


async def test_a_chats_next_message_waits_behind_the_one_being_retried_while_other_chats_go_on() -> None:
    store = LockedOnce()
    async with TelegramScene(script=echo, store=store) as tg:
        tg.server.push_message(DM, "so")
        await tg.server.wait_until(lambda: store.failures == 1)
        tg.server.push_message(DM, "guess what")
        tg.server.push_message(OTHER_DM, "hi")
        await tg.handled()
        assert await tg.until_sent(DM, 1) == ["re: so / guess what"], "in the order they were sent"
        assert await tg.until_sent(OTHER_DM, 1) == ["re: hi"]
