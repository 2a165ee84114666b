"""SqlStore keeps the Store port's promises on SQLite and PostgreSQL, as MemoryStore does in memory."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from bot.core.events import Author, ConversationKey, HumanMessage
from bot.core.ports import TraceEvent
from bot.storage.models import ANSWERED, DELETED, HUMAN, UNCONFIRMED, FollowUp, Message, RhythmRow, TraceRow
from bot.storage.sql_store import HISTORY_LIMIT, SqlStore
from policies.view import Rhythm

pytest_plugins = ("tests.storage_kit",)

DM = ConversationKey("telegram", "42")
GROUP = ConversationKey("telegram", "-100", "7")
ALEX = Author("u1", "Alex")


def msg(mid: str, text: str, key: ConversationKey = DM, **kw: object) -> HumanMessage:
    return HumanMessage(key, mid, ALEX, text, **kw)  # type: ignore[arg-type]


async def say(store: SqlStore, key: ConversationKey, part_id: str, text: str, at: float) -> None:
    """The bot plans, sends and records one part."""
    await store.plan_part(key, part_id, text, at)
    await store.part_sent(key, part_id, f"sent-{part_id}", at + 0.5)


def a_learned_rhythm() -> Rhythm:
    """A rhythm with every whole-number field off its default, whatever fields the turn policy keeps."""
    counts: dict[str, Any] = {f.name: 3 for f in dataclasses.fields(Rhythm) if type(getattr(Rhythm(), f.name)) is int}
    return dataclasses.replace(Rhythm(), **counts)


async def rows(store: SqlStore, table: type, key: ConversationKey) -> int:
    cid = await store.conversation_id(key)
    async with store.session() as s:
        return int((await s.exec(select(func.count()).select_from(table).where(
            col(table.conversation_id) == cid))).one())  # type: ignore[attr-defined]


async def test_a_redelivered_message_is_stored_once_even_after_it_was_answered(store: SqlStore) -> None:
    assert await store.save_human(msg("1", "hi"), 10.0) is True
    assert await store.save_human(msg("1", "hi"), 11.0) is False
    await store.mark_answered(DM, ["1"])
    assert await store.save_human(msg("1", "hi"), 12.0) is False
    assert [line.text for line in (await store.load(DM)).history] == ["hi"]


async def test_unanswered_messages_come_back_in_arrival_order_with_everything_the_actor_needs(
    store: SqlStore,
) -> None:
    await store.save_human(msg("1", "look", attachments=("photo",)), 10.0)
    await store.save_human(msg("2", "@sunny thoughts?", is_group=True, addressed=True), 11.0)
    pending = (await store.load(DM)).pending
    assert [(m.message_id, m.text, m.at) for m in pending] == [("1", "look", 10.0), ("2", "@sunny thoughts?", 11.0)]
    assert pending[0].attachments == ("photo",) and pending[0].author == ALEX
    assert pending[1].is_group and pending[1].addressed and pending[1].key == DM


async def test_history_is_answered_messages_and_sent_parts_in_the_order_they_happened(store: SqlStore) -> None:
    await store.save_human(msg("1", "going hiking"), 10.0)
    await store.plan_part(DM, "p1", "nice", 12.0)
    await store.mark_answered(DM, ["1"])  # the actor marks what a part answers before recording it sent
    await store.part_sent(DM, "p1", "m1", 12.5)
    await store.save_human(msg("2", "tomorrow"), 13.0)  # arrives while part two is typed (finish policy)
    await say(store, DM, "p2", "sounds fun", 14.0)
    await store.mark_answered(DM, ["2"])
    await say(store, DM, "p3", "with who?", 16.0)

    history = (await store.load(DM)).history
    assert [(line.role, line.text) for line in history] == [
        ("human", "going hiking"), ("bot", "nice"), ("bot", "sounds fun"), ("human", "tomorrow"), ("bot", "with who?"),
    ]
    assert history[0].author == "Alex" and history[1].at == 12.5


async def test_cancelled_and_merely_planned_parts_were_never_said(store: SqlStore) -> None:
    await store.save_human(msg("1", "hi"), 10.0)
    await store.plan_part(DM, "p1", "first", 11.0)
    await store.part_sent(DM, "p1", "m1", 11.5)
    await store.plan_part(DM, "p2", "second", 12.0)
    await store.part_cancelled(DM, "p2", "revised: the human wrote again")
    await store.plan_part(DM, "p3", "third", 13.0)  # still on its way
    assert [line.text for line in (await store.load(DM)).history] == ["first"]


async def test_edits_change_unanswered_text_and_deletes_wipe_it(store: SqlStore) -> None:
    await store.save_human(msg("1", "meet at 5?"), 10.0)
    await store.save_human(msg("2", "wrong chat sorry"), 11.0)
    await store.edit_human(DM, "1", "meet at 6?")
    await store.edit_human(DM, "2", None)
    assert [m.text for m in (await store.load(DM)).pending] == ["meet at 6?"]
    async with store.session() as s:
        deleted = (await s.exec(select(Message).where(Message.platform_id == "2"))).one()
    assert deleted.state == DELETED and deleted.text == ""


async def test_an_edit_of_an_answered_message_changes_nothing(store: SqlStore) -> None:
    await store.save_human(msg("1", "hi"), 10.0)
    await store.mark_answered(DM, ["1"])
    await store.edit_human(DM, "1", "hello")
    assert [line.text for line in (await store.load(DM)).history] == ["hi"]


async def test_settings_and_rhythms_round_trip(store: SqlStore) -> None:
    overrides = {"timing": {"debounce": 7.0}, "persona": "sage", "turn": "fixed"}
    await store.save_overrides(DM, overrides)
    await store.save_overrides(DM, {**overrides, "interrupt": "finish"})
    await store.save_rhythm(DM, "u1", Rhythm())
    await store.save_rhythm(DM, "u1", a_learned_rhythm())
    loaded = await store.load(DM)
    assert loaded.overrides == {**overrides, "interrupt": "finish"}
    assert loaded.rhythms == {"u1": a_learned_rhythm()}


async def test_trace_events_come_back_in_order_from_a_given_instant(store: SqlStore) -> None:
    events = [TraceEvent("human_message", 10.0, {"text": "hi"}), TraceEvent("decision", 10.0, {"until": None}),
              TraceEvent("part_sent", 14.0, {"text": "hey", "covers": ["1"]})]
    await store.record_trace(DM, events[:2])
    await store.record_trace(DM, events[2:])
    assert await store.load_trace(DM) == events
    assert await store.load_trace(DM, since=11.0) == events[2:]
    assert await store.load_trace(GROUP) == []


async def test_a_dm_and_a_group_never_share_history(store: SqlStore) -> None:
    await store.save_human(msg("1", "my secret is 42"), 10.0)
    await store.mark_answered(DM, ["1"])
    await say(store, DM, "p1", "safe with me", 11.0)
    await store.save_human(msg("1", "hey all", GROUP, is_group=True), 12.0)  # same platform id, other chat
    await store.mark_answered(GROUP, ["1"])
    group = await store.load(GROUP)
    assert [line.text for line in group.history] == ["hey all"]
    assert all("42" not in line.text and line.text != "safe with me" for line in group.history)
    assert [line.text for line in (await store.load(DM)).history] == ["my secret is 42", "safe with me"]


async def test_forget_deletes_the_rows_and_keeps_the_settings(store: SqlStore) -> None:
    await store.save_overrides(DM, {"persona": "sage"})
    await store.save_human(msg("1", "my secret is 42"), 10.0)
    await store.mark_answered(DM, ["1"])
    await say(store, DM, "p1", "noted", 11.0)
    await store.save_human(msg("2", "unanswered"), 12.0)
    await store.save_rhythm(DM, "u1", a_learned_rhythm())
    await store.record_trace(DM, [TraceEvent("human_message", 10.0, {"text": "my secret is 42"})])
    await store.save_human(msg("1", "other chat", GROUP), 10.0)

    await store.forget(DM)

    for table in (Message, RhythmRow, TraceRow, FollowUp):
        assert await rows(store, table, DM) == 0, table.__name__
    assert await rows(store, Message, GROUP) == 1
    loaded = await store.load(DM)
    assert loaded.history == [] and loaded.pending == [] and loaded.rhythms == {}
    assert loaded.overrides == {"persona": "sage"}


async def test_history_keeps_the_newest_lines(store: SqlStore) -> None:
    cid = await store.conversation_id(DM)
    async with store.session() as s:  # a long chat, written in one go to keep the test fast
        s.add_all([Message(conversation_id=cid, direction=HUMAN, state=ANSWERED, platform_id=str(i), text=f"line {i}",
                           created_at=float(i), history_seq=i + 1) for i in range(HISTORY_LIMIT + 5)])
    history = (await store.load(DM)).history
    assert len(history) == HISTORY_LIMIT
    assert history[0].text == "line 5" and history[-1].text == f"line {HISTORY_LIMIT + 4}"


async def test_everything_survives_a_new_process(database_url: str) -> None:
    first = SqlStore.open(database_url)
    await first.save_human(msg("1", "hi"), 10.0)
    await first.save_human(msg("2", "you there?"), 11.0)
    await first.plan_part(DM, "p1", "hey!", 12.0)  # the process dies before it is marked sent
    await first.close()

    second = SqlStore.open(database_url)
    try:
        assert await second.recover() == [DM]
        loaded = await second.load(DM)
        assert [m.text for m in loaded.pending] == ["hi", "you there?"] and loaded.history == []
        async with second.session() as s:
            part = (await s.exec(select(Message).where(Message.part_id == "p1"))).one()
        assert part.state == UNCONFIRMED
        await second.plan_part(DM, "p1", "hey!", 20.0)  # part ids restart with the process: no clash
        await second.part_sent(DM, "p1", "m9", 20.5)
        assert [line.text for line in (await second.load(DM)).history] == ["hey!"]
    finally:
        await second.close()
