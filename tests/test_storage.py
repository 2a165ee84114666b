"""What SqlStore keeps in its rows, on SQLite and PostgreSQL, beyond the Store contract (test_store_contract.py)."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from bot.core.events import Author, ConversationKey, HumanMessage
from bot.core.ports import HISTORY_LIMIT, TraceEvent
from bot.storage.models import (
    ANSWERED,
    COMMAND,
    DELETED,
    HUMAN,
    SENT,
    UNCONFIRMED,
    UNSENT,
    FollowUp,
    Message,
    Reply,
    RhythmRow,
    TraceRow,
)
from bot.storage.sql_store import SqlStore
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


async def part_row(store: SqlStore, part_id: str) -> Message:
    async with store.session() as s:
        return (await s.exec(select(Message).where(Message.part_id == part_id))).one()


@dataclasses.dataclass
class HeardDeliveries:
    """A store listener that notes the parts it is told were delivered."""

    texts: list[str] = dataclasses.field(default_factory=list)

    async def part_delivered(self, key: ConversationKey, text: str, at: float) -> None:
        self.texts.append(text)

    async def follow_ups_dropped(self, key: ConversationKey, follow_up_ids: list[int]) -> None:
        pass


async def test_edits_change_unanswered_text_and_deletes_wipe_it(store: SqlStore) -> None:
    await store.save_human(msg("1", "meet at 5?"), 10.0)
    await store.save_human(msg("2", "wrong chat sorry"), 11.0)
    await store.edit_human(DM, "1", "meet at 6?")
    await store.edit_human(DM, "2", None)
    assert [m.text for m in (await store.load(DM)).pending] == ["meet at 6?"]
    async with store.session() as s:
        deleted = (await s.exec(select(Message).where(Message.platform_id == "2"))).one()
    assert deleted.state == DELETED and deleted.text == ""


async def test_forget_deletes_the_rows_and_keeps_the_settings(store: SqlStore) -> None:
    await store.save_overrides(DM, {"persona": "sage"})
    await store.save_human(msg("1", "my secret is 42"), 10.0)
    await store.mark_answered(DM, ["1"])
    await say(store, DM, "p1", "noted", 11.0)
    await store.save_human(msg("2", "unanswered"), 12.0)
    await store.save_rhythm(DM, "u1", a_learned_rhythm())
    await store.record_trace(DM, [TraceEvent("human_message", 10.0, {"text": "my secret is 42"})])
    await store.save_human(msg("1", "other chat", GROUP), 10.0)
    await store.reply_started(DM, "r1", ["2"], 13.0)

    await store.forget(DM)

    for table in (Message, Reply, RhythmRow, TraceRow, FollowUp):
        assert await rows(store, table, DM) == 0, table.__name__
    assert await rows(store, Message, GROUP) == 1
    loaded = await store.load(DM)
    assert loaded.history == [] and loaded.pending == [] and loaded.rhythms == {}
    assert loaded.overrides == {"persona": "sage"}


async def test_a_commands_answer_is_kept_as_sent_without_a_history_place_and_tells_no_listener(
    store: SqlStore,
) -> None:
    heard = HeardDeliveries()
    store.listeners.append(heard)
    await store.plan_part(DM, "p1", "debounce 3 s", 10.0, kind="command")
    await store.part_sent(DM, "p1", "m1", 10.5)
    await store.plan_part(DM, "p2", "brb, talk tomorrow", 11.0, kind="line")
    await store.part_sent(DM, "p2", "m2", 11.5)
    command = await part_row(store, "p1")
    assert (command.state, command.kind, command.sent_id, command.history_seq) == (SENT, COMMAND, "m1", None)
    assert heard.texts == ["brb, talk tomorrow"], "an answer to /timing is no promise to come back"


async def test_an_edited_part_keeps_the_text_it_was_first_sent_with(store: SqlStore) -> None:
    await store.plan_part(DM, "p1", "see you at 5", 10.0, reply_id="r1")
    await store.part_sent(DM, "p1", "m1", 10.5)
    await store.part_edited(DM, "p1", "see you at 6", 12.0)
    await store.part_edited(DM, "p1", "see you at 6!", 13.0)
    row = await part_row(store, "p1")
    assert (row.text, row.original_text, row.edited_at, row.reply_id) == ("see you at 6!", "see you at 5", 13.0, "r1")


async def test_an_unsent_part_keeps_its_row_and_place_for_the_timeline(store: SqlStore) -> None:
    await say(store, DM, "p1", "oops wrong chat", 10.0)
    await store.part_unsent(DM, "p1", 12.0)
    row = await part_row(store, "p1")
    assert (row.state, row.dropped_at, row.text, row.history_seq) == (UNSENT, 12.0, "oops wrong chat", 1)
    assert (await store.load(DM)).history == []


async def test_a_reply_session_is_a_row_from_start_to_end(store: SqlStore) -> None:
    await store.reply_started(DM, "r1", ["1", "2"], 10.0)
    await store.reply_ended(DM, "r1", 14.0)
    await store.reply_ended(DM, "r1", 15.0)  # ending twice keeps the first end
    async with store.session() as s:
        reply = (await s.exec(select(Reply))).one()
    assert (reply.reply_id, reply.covers, reply.started_at, reply.ended_at) == ("r1", ["1", "2"], 10.0, 14.0)


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
