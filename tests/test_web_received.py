"""A message counts as received only once stored: the web chat acks it then, and otherwise says not sent."""

from __future__ import annotations

import logging

import pytest

from bot.core.events import HumanMessage
from bot.core.memory_store import MemoryStore
from bot.web.chat import NOT_SAVED
from tests.web_kit import web_chat


class FullDiskStore(MemoryStore):
    """The in-memory store, whose writes of human messages fail while `full` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.full = True

    async def save_human(self, msg: HumanMessage, at: float) -> bool:
        """Fail like a full disk, or store."""
        if self.full:
            raise OSError("No space left on device")
        return await super().save_human(msg, at)


async def test_a_message_the_store_could_not_save_is_shown_as_not_sent_and_goes_through_on_retry() -> None:
    store = FullDiskStore()
    async with web_chat(store=store) as site, site.tab("disk-full") as tab, site.tab("disk-full") as other:
        assert await tab.says("m1", "hey") == {"type": "not_sent", "id": "m1", "text": NOT_SAVED}
        assert (await other.next("bubble"))["text"] == "hey", "the other window saw it arrive…"
        assert await other.next("not_sent") == {"type": "not_sent", "id": "m1", "text": NOT_SAVED}, "…and fail"
        assert site.transcript("disk-full") == [], "a reload does not show it as sent"
        store.full = False
        assert await tab.says("m1", "hey") == {"type": "ack", "id": "m1"}, "the retry goes through"
        await site.clock.run_until(lambda: site.transcript("disk-full") == ["hey", "ok"])
    async with web_chat(store=store) as restarted:
        welcome = await restarted.welcome("disk-full")
        assert [b["text"] for b in welcome["transcript"]] == ["hey", "ok"]


async def test_a_failed_message_is_logged_without_its_text(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bot.web.chat")
    async with web_chat(store=FullDiskStore()) as site, site.tab("quiet-fail") as tab:
        assert (await tab.says("m1", "my secret plans"))["type"] == "not_sent"
    web_lines = [r.getMessage() for r in caplog.records if r.name == "bot.web.chat"]
    assert web_lines == ["a message from web tab quiet-fail was not received: OSError"]
