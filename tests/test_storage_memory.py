"""MemoryStore's own switch: a store made slow on a virtual clock, and, by default, writes that never yield."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from bot.core.clock import VirtualClock
from bot.core.events import Author, ConversationKey, HumanMessage
from bot.core.memory_store import MemoryStore
from bot.core.ports import TraceEvent
from policies.view import Rhythm

DM = ConversationKey("telegram", "42")
OTHER = ConversationKey("telegram", "43")


def msg(mid: str, text: str, key: ConversationKey = DM) -> HumanMessage:
    return HumanMessage(key, mid, Author("u1", "Alex"), text)


def finished_at_once(write: Coroutine[Any, Any, Any]) -> bool:
    """Whether the coroutine ran to its end without once giving the loop a turn."""
    try:
        write.send(None)
    except StopIteration:
        return True
    write.close()
    return False


async def test_a_slow_store_lands_a_write_only_after_its_virtual_seconds() -> None:
    clock = VirtualClock()
    store = MemoryStore(delay=lambda: clock.sleep(2.0))
    saving = asyncio.create_task(store.save_human(msg("1", "hello?"), clock.now()))
    await clock.settle()
    assert not saving.done()
    assert (await store.load(DM)).pending == [], "still being written"

    await clock.advance(1.0)
    other = asyncio.create_task(store.save_human(msg("9", "hi", OTHER), clock.now()))
    await clock.advance(1.0)
    assert saving.done() and saving.result() is True
    assert [m.text for m in (await store.load(DM)).pending] == ["hello?"]
    assert not other.done(), "the second write started a second later, so it lands a second later"
    await clock.advance(1.0)
    assert [m.text for m in (await store.load(OTHER)).pending] == ["hi"]


async def test_every_write_of_a_slow_store_waits_for_the_delay() -> None:
    clock = VirtualClock()
    waits: list[float] = []

    async def slow() -> None:
        waits.append(clock.now())
        await clock.sleep(0.5)

    store = MemoryStore(delay=slow)
    writes = [
        store.save_human(msg("1", "hi"), 1.0), store.edit_human(DM, "1", "hey"), store.mark_answered(DM, ["1"]),
        store.plan_part(DM, "p1", "yo", 2.0), store.part_sent(DM, "p1", "m1", 2.5),
        store.part_edited(DM, "p1", "yo!", 3.0), store.part_unsent(DM, "p1", 3.5),
        store.part_cancelled(DM, "p2", "gone"), store.reply_started(DM, "r1", ["1"], 4.0),
        store.reply_ended(DM, "r1", 5.0), store.save_overrides(DM, {"persona": "sage"}),
        store.save_rhythm(DM, "u1", Rhythm()), store.record_trace(DM, [TraceEvent("x", 6.0)]), store.forget(DM),
    ]
    for write in writes:
        task = asyncio.create_task(write)
        await clock.settle()
        assert not task.done()
        await clock.advance(0.5)
        assert task.done()
    assert len(waits) == len(writes)


async def test_without_a_delay_no_write_gives_the_loop_a_turn() -> None:
    store = MemoryStore()
    writes = [
        store.save_human(msg("1", "hi"), 1.0), store.edit_human(DM, "1", "hey"), store.mark_answered(DM, ["1"]),
        store.reply_started(DM, "r1", ["1"], 1.5), store.plan_part(DM, "p1", "yo", 2.0, reply_id="r1"),
        store.part_sent(DM, "p1", "m1", 2.5), store.part_edited(DM, "p1", "yo!", 3.0),
        store.part_unsent(DM, "p1", 3.5), store.part_cancelled(DM, "p2", "gone"), store.reply_ended(DM, "r1", 5.0),
        store.save_overrides(DM, {"persona": "sage"}), store.save_rhythm(DM, "u1", Rhythm()),
        store.record_trace(DM, [TraceEvent("x", 6.0)]), store.load(DM), store.forget(DM),
    ]
    assert [finished_at_once(w) for w in writes] == [True] * len(writes)
    assert (await store.load(DM)).overrides == {"persona": "sage"}
