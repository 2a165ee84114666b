"""The Store port's promises, kept alike by MemoryStore and by SqlStore on SQLite and PostgreSQL.

Every test runs once per implementation (`any_store` in tests/storage_kit.py), so a fake that breaks the
contract fails here instead of hiding bugs from the suites that use it.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from bot.core.events import Author, ConversationKey, HumanMessage
from bot.core.memory_store import MemoryStore
from bot.core.ports import HISTORY_LIMIT, CutShortReply, TraceEvent
from bot.storage.sql_store import SqlStore
from policies.view import Rhythm

if TYPE_CHECKING:
    from tests.storage_kit import StoreUnderTest

pytest_plugins = ("tests.storage_kit",)

Store = MemoryStore | SqlStore
DM = ConversationKey("telegram", "42")
GROUP = ConversationKey("telegram", "-100", "7")
ALEX = Author("u1", "Alex")


def msg(mid: str, text: str, key: ConversationKey = DM, **kw: Any) -> HumanMessage:
    return HumanMessage(key, mid, ALEX, text, **kw)


async def say(store: Store, key: ConversationKey, part_id: str, text: str, at: float, **kw: Any) -> None:
    """The bot plans, sends and records one part."""
    await store.plan_part(key, part_id, text, at, **kw)
    await store.part_sent(key, part_id, f"sent-{part_id}", at + 0.5)


async def history(store: Store, key: ConversationKey = DM) -> list[str]:
    return [line.text for line in (await store.load(key)).history]


async def pending(store: Store, key: ConversationKey = DM) -> list[str]:
    return [m.text for m in (await store.load(key)).pending]


def a_learned_rhythm() -> Rhythm:
    """A rhythm with every whole-number field off its default, whatever fields the turn policy keeps."""
    counts: dict[str, Any] = {f.name: 3 for f in dataclasses.fields(Rhythm) if type(getattr(Rhythm(), f.name)) is int}
    return dataclasses.replace(Rhythm(), **counts)


# Human messages


async def test_a_redelivered_message_is_stored_once_even_after_it_was_answered(any_store: StoreUnderTest) -> None:
    store = any_store.store
    assert await store.save_human(msg("1", "hi"), 10.0) is True
    assert await store.save_human(msg("1", "hi"), 11.0) is False
    await store.mark_answered(DM, ["1"])
    assert await store.save_human(msg("1", "hi"), 12.0) is False
    assert await history(store) == ["hi"]
    assert await pending(store) == []


async def test_a_deleted_message_that_is_redelivered_stays_deleted(any_store: StoreUnderTest) -> None:
    store = any_store.store
    await store.save_human(msg("1", "wrong chat sorry"), 10.0)
    await store.edit_human(DM, "1", None)
    assert await store.save_human(msg("1", "wrong chat sorry"), 11.0) is False
    assert await pending(store) == []


async def test_unanswered_messages_come_back_in_arrival_order_with_everything_the_actor_needs(
    any_store: StoreUnderTest,
) -> None:
    store = any_store.store
    await store.save_human(msg("1", "look", attachments=("photo",)), 10.0)
    await store.save_human(msg("2", "@sunny thoughts?", is_group=True, addressed=True), 11.0)
    got = (await store.load(DM)).pending
    assert [(m.message_id, m.text, m.at) for m in got] == [("1", "look", 10.0), ("2", "@sunny thoughts?", 11.0)]
    assert got[0].attachments == ("photo",) and got[0].author == ALEX
    assert got[1].is_group and got[1].addressed and got[1].key == DM


async def test_an_unanswered_message_can_be_edited_or_deleted(any_store: StoreUnderTest) -> None:
    store = any_store.store
    await store.save_human(msg("1", "meet at 5?"), 10.0)
    await store.save_human(msg("2", "wrong chat sorry"), 11.0)
    await store.save_human(msg("3", "ok?"), 12.0)
    await store.edit_human(DM, "1", "meet at 6?")
    await store.edit_human(DM, "2", None)
    await store.edit_human(DM, "nope", "never stored")
    assert await pending(store) == ["meet at 6?", "ok?"]
    await store.mark_answered(DM, ["1", "3"])
    assert await history(store) == ["meet at 6?", "ok?"]


async def test_an_edit_of_an_answered_message_changes_nothing(any_store: StoreUnderTest) -> None:
    store = any_store.store
    await store.save_human(msg("1", "hi"), 10.0)
    await store.mark_answered(DM, ["1"])
    await store.edit_human(DM, "1", "hello")
    await store.edit_human(DM, "1", None)
    assert await history(store) == ["hi"]


async def test_answered_messages_join_the_history_in_the_order_given(any_store: StoreUnderTest) -> None:
    store = any_store.store
    for i, text in enumerate(["a", "b", "c"]):
        await store.save_human(msg(str(i), text), 10.0 + i)
    await store.mark_answered(DM, ["2", "0"])
    assert await history(store) == ["c", "a"]
    assert await pending(store) == ["b"]
    line = (await store.load(DM)).history[0]
    assert (line.role, line.at, line.author) == ("human", 12.0, "Alex")


# Bot parts


async def test_history_is_answered_messages_and_sent_parts_in_the_order_they_happened(
    any_store: StoreUnderTest,
) -> None:
    store = any_store.store
    await store.save_human(msg("1", "going hiking"), 10.0)
    await store.plan_part(DM, "p1", "nice", 12.0)
    await store.mark_answered(DM, ["1"])  # the actor marks what a part answers before recording it sent
    await store.part_sent(DM, "p1", "m1", 12.5)
    await store.save_human(msg("2", "tomorrow"), 13.0)  # arrives while part two is typed (finish policy)
    await say(store, DM, "p2", "sounds fun", 14.0)
    await store.mark_answered(DM, ["2"])
    await say(store, DM, "p3", "with who?", 16.0)

    lines = (await store.load(DM)).history
    assert [(line.role, line.text) for line in lines] == [
        ("human", "going hiking"), ("bot", "nice"), ("bot", "sounds fun"), ("human", "tomorrow"), ("bot", "with who?"),
    ]
    assert lines[0].author == "Alex" and lines[1].at == 12.5


async def test_cancelled_and_merely_planned_parts_were_never_said(any_store: StoreUnderTest) -> None:
    store = any_store.store
    await store.save_human(msg("1", "hi"), 10.0)
    await store.plan_part(DM, "p1", "first", 11.0)
    await store.part_sent(DM, "p1", "m1", 11.5)
    await store.plan_part(DM, "p2", "second", 12.0)
    await store.part_cancelled(DM, "p2", "revised: the human wrote again")
    await store.plan_part(DM, "p3", "third", 13.0)  # still on its way
    assert await history(store) == ["first"]


async def test_a_commands_answer_is_sent_but_never_joins_the_history(any_store: StoreUnderTest) -> None:
    store = any_store.store
    await store.save_human(msg("1", "hey"), 10.0)
    await store.mark_answered(DM, ["1"])
    await say(store, DM, "p1", "typing speed 52 wpm, debounce 3 s", 11.0, kind="command")
    await say(store, DM, "p2", "sorry, my brain is slow today", 12.0, kind="line")
    await say(store, DM, "p3", "hey you", 13.0, kind="reply")
    assert await history(store) == ["hey", "sorry, my brain is slow today", "hey you"]


async def test_an_edited_part_reads_its_new_text_in_the_history(any_store: StoreUnderTest) -> None:
    store = any_store.store
    await say(store, DM, "p1", "see you at 5", 10.0)
    await say(store, DM, "p2", "bring snacks", 11.0)
    await store.part_edited(DM, "p1", "see you at 6", 12.0)
    await store.part_edited(DM, "p1", "see you at 6!", 13.0)
    lines = (await store.load(DM)).history
    assert [line.text for line in lines] == ["see you at 6!", "bring snacks"]
    assert lines[0].at == 10.5, "an edit does not move the part"


async def test_an_unsent_part_leaves_the_history(any_store: StoreUnderTest) -> None:
    store = any_store.store
    await store.save_human(msg("1", "hi"), 9.0)
    await store.mark_answered(DM, ["1"])
    await say(store, DM, "p1", "hey", 10.0)
    await say(store, DM, "p2", "oops wrong chat", 11.0)
    await say(store, DM, "p3", "how are you?", 12.0)
    await store.part_unsent(DM, "p2", 13.0)
    await store.part_edited(DM, "p2", "too late to edit", 14.0)  # what was taken back stays gone
    assert await history(store) == ["hi", "hey", "how are you?"]


async def test_only_a_sent_part_can_be_edited_or_unsent(any_store: StoreUnderTest) -> None:
    store = any_store.store
    await store.plan_part(DM, "p1", "on its way", 10.0)
    await store.part_edited(DM, "p1", "changed early", 10.1)
    await store.part_unsent(DM, "p1", 10.2)
    await store.part_sent(DM, "p1", "m1", 10.5)
    assert await history(store) == ["on its way"]


# Reply sessions and what a crash cuts short


async def test_a_reply_that_never_ended_after_delivering_a_part_is_cut_short(any_store: StoreUnderTest) -> None:
    store = any_store.store
    await store.save_human(msg("1", "how was the trip?"), 10.0)
    await store.save_human(msg("2", "tell me everything"), 11.0)
    await store.reply_started(DM, "r1", ["1", "2"], 14.0)
    await store.plan_part(DM, "p1", "it was amazing", 15.0, reply_id="r1")
    await store.mark_answered(DM, ["1", "2"])
    await store.part_sent(DM, "p1", "m1", 15.5)
    await store.plan_part(DM, "p2", "we hiked every day", 16.0, reply_id="r1")
    await store.part_cancelled(DM, "p2", "send failed")
    assert (await store.load(DM)).cut_short == CutShortReply("r1", ("it was amazing",), ("1", "2"))


async def test_a_reply_with_nothing_delivered_is_not_cut_short_its_messages_wait(any_store: StoreUnderTest) -> None:
    store = any_store.store
    await store.save_human(msg("1", "you up?"), 10.0)
    await store.reply_started(DM, "r1", ["1"], 12.0)
    await store.plan_part(DM, "p1", "yeah", 13.0, reply_id="r1")
    await store.part_cancelled(DM, "p1", "withdrawn while queued")
    loaded = await store.load(DM)
    assert loaded.cut_short is None
    assert [m.text for m in loaded.pending] == ["you up?"]


async def test_an_ended_reply_is_not_cut_short(any_store: StoreUnderTest) -> None:
    store = any_store.store
    await store.reply_started(DM, "r1", ["1"], 12.0)
    await say(store, DM, "p1", "yeah", 13.0, reply_id="r1")
    await store.reply_ended(DM, "r1", 14.0)
    assert (await store.load(DM)).cut_short is None


async def test_only_the_newest_reply_can_be_cut_short(any_store: StoreUnderTest) -> None:
    store = any_store.store
    await store.reply_started(DM, "r1", ["1"], 10.0)
    await say(store, DM, "p1", "first", 11.0, reply_id="r1")  # r1 never ended
    await store.reply_started(DM, "r2", ["2"], 12.0)
    await say(store, DM, "p2", "second", 13.0, reply_id="r2")
    await store.reply_ended(DM, "r2", 14.0)
    assert (await store.load(DM)).cut_short is None
    await store.reply_started(DM, "r3", ["3"], 15.0)
    await say(store, DM, "p3", "third", 16.0, reply_id="r3")
    assert (await store.load(DM)).cut_short == CutShortReply("r3", ("third",), ("3",))


async def test_a_cut_short_reply_lists_its_parts_as_they_now_read(any_store: StoreUnderTest) -> None:
    store = any_store.store
    await store.reply_started(DM, "r1", ["1"], 10.0)
    await say(store, DM, "p1", "so", 11.0, reply_id="r1")
    await say(store, DM, "p2", "the trip was fine", 12.0, reply_id="r1")
    await say(store, DM, "p3", "wrong chat", 13.0, reply_id="r1")
    await say(store, DM, "p4", "/timing: 52 wpm", 13.5, reply_id="r1", kind="command")
    await say(store, DM, "p5", "another reply's part", 13.7, reply_id="r0")
    await store.part_edited(DM, "p2", "the trip was great", 14.0)
    await store.part_unsent(DM, "p3", 15.0)
    assert (await store.load(DM)).cut_short == CutShortReply("r1", ("so", "the trip was great"), ("1",))


async def test_a_reset_forgets_the_reply_that_was_cut_short(any_store: StoreUnderTest) -> None:
    store = any_store.store
    await store.reply_started(DM, "r1", ["1"], 10.0)
    await say(store, DM, "p1", "first of four", 11.0, reply_id="r1")
    await store.forget(DM)
    assert (await store.load(DM)).cut_short is None
    assert DM not in await (await any_store.restarted()).recover()


async def test_after_a_crash_a_part_that_may_have_gone_out_counts_as_delivered(any_store: StoreUnderTest) -> None:
    store = any_store.store
    await store.save_human(msg("1", "how was the trip?"), 10.0)
    await store.reply_started(DM, "r1", ["1"], 12.0)
    await store.plan_part(DM, "p1", "it was amazing", 13.0, reply_id="r1")
    await store.mark_answered(DM, ["1"])  # the process dies before the part is recorded sent
    await store.save_human(msg("1", "hi", GROUP), 14.0)  # another chat, with a message still unanswered

    again = await any_store.restarted()
    assert await again.recover() == [DM, GROUP]
    loaded = await again.load(DM)
    assert loaded.cut_short == CutShortReply("r1", ("it was amazing",), ("1",))
    assert loaded.pending == [] and [line.text for line in loaded.history] == ["how was the trip?"]


async def test_after_a_crash_a_reply_with_nothing_planned_wakes_its_chat_for_a_normal_reply(
    any_store: StoreUnderTest,
) -> None:
    store = any_store.store
    await store.save_human(msg("1", "you up?"), 10.0)
    await store.reply_started(DM, "r1", ["1"], 12.0)

    again = await any_store.restarted()
    assert await again.recover() == [DM]
    loaded = await again.load(DM)
    assert loaded.cut_short is None and [m.text for m in loaded.pending] == ["you up?"]


async def test_a_new_reply_with_a_reused_id_after_a_restart_inherits_nothing(any_store: StoreUnderTest) -> None:
    store = any_store.store
    await store.reply_started(DM, "r1", ["1"], 10.0)
    await say(store, DM, "p1", "old part", 11.0, reply_id="r1")

    again = await any_store.restarted()
    assert await again.recover() == [DM]
    await again.reply_started(DM, "r1", ["2"], 20.0)  # reply and part ids restart with the process
    assert (await again.load(DM)).cut_short is None
    await again.plan_part(DM, "p1", "new part", 21.0, reply_id="r1")
    await again.part_sent(DM, "p1", "m9", 21.5)
    assert (await again.load(DM)).cut_short == CutShortReply("r1", ("new part",), ("2",))
    await again.reply_ended(DM, "r1", 22.0)
    assert (await again.load(DM)).cut_short is None
    assert [line.text for line in (await again.load(DM)).history] == ["old part", "new part"]


# Settings, rhythms, timeline, privacy, forgetting


async def test_settings_and_rhythms_round_trip(any_store: StoreUnderTest) -> None:
    store = any_store.store
    overrides = {"timing": {"debounce": 7.0}, "persona": "sage", "turn": "fixed"}
    await store.save_overrides(DM, overrides)
    await store.save_overrides(DM, {**overrides, "interrupt": "finish"})
    await store.save_rhythm(DM, "u1", Rhythm())
    await store.save_rhythm(DM, "u1", a_learned_rhythm())
    loaded = await store.load(DM)
    assert loaded.overrides == {**overrides, "interrupt": "finish"}
    assert loaded.rhythms == {"u1": a_learned_rhythm()}


async def test_trace_events_come_back_in_order_from_a_given_instant(any_store: StoreUnderTest) -> None:
    store = any_store.store
    events = [TraceEvent("human_message", 10.0, {"text": "hi"}), TraceEvent("decision", 10.0, {"until": None}),
              TraceEvent("part_sent", 14.0, {"text": "hey", "covers": ["1"]})]
    await store.record_trace(DM, events[:2])
    await store.record_trace(DM, events[2:])
    assert await store.load_trace(DM) == events
    assert await store.load_trace(DM, since=11.0) == events[2:]
    assert await store.load_trace(GROUP) == []


async def test_a_dm_and_a_group_never_share_history(any_store: StoreUnderTest) -> None:
    store = any_store.store
    await store.save_human(msg("1", "my secret is 42"), 10.0)
    await store.mark_answered(DM, ["1"])
    await say(store, DM, "p1", "safe with me", 11.0)
    await store.save_human(msg("1", "hey all", GROUP, is_group=True), 12.0)  # same platform id, other chat
    await store.mark_answered(GROUP, ["1"])
    group = await store.load(GROUP)
    assert [line.text for line in group.history] == ["hey all"]
    assert all("42" not in line.text and line.text != "safe with me" for line in group.history)
    assert await history(store) == ["my secret is 42", "safe with me"]


async def test_forget_keeps_the_settings_and_nothing_else(any_store: StoreUnderTest) -> None:
    store = any_store.store
    await store.save_overrides(DM, {"persona": "sage"})
    await store.save_human(msg("1", "my secret is 42"), 10.0)
    await store.mark_answered(DM, ["1"])
    await say(store, DM, "p1", "noted", 11.0)
    await store.save_human(msg("2", "unanswered"), 12.0)
    await store.save_rhythm(DM, "u1", a_learned_rhythm())
    await store.record_trace(DM, [TraceEvent("human_message", 10.0, {"text": "my secret is 42"})])
    await store.save_human(msg("1", "other chat", GROUP), 10.0)

    await store.forget(DM)

    loaded = await store.load(DM)
    assert loaded.history == [] and loaded.pending == [] and loaded.rhythms == {} and loaded.cut_short is None
    assert loaded.overrides == {"persona": "sage"}
    assert await store.load_trace(DM) == []
    assert await pending(store, GROUP) == ["other chat"]
    assert await store.save_human(msg("1", "hi again"), 20.0) is True, "after a reset an id is new again"


async def test_history_keeps_the_newest_lines(any_store: StoreUnderTest) -> None:
    store = any_store.store
    ids = [str(i) for i in range(HISTORY_LIMIT + 5)]
    for i in ids:
        await store.save_human(msg(i, f"line {i}"), float(i))
    await store.mark_answered(DM, ids)
    lines = await history(store)
    assert len(lines) == HISTORY_LIMIT
    assert lines[0] == "line 5" and lines[-1] == f"line {HISTORY_LIMIT + 4}"
    await say(store, DM, "p1", "the newest", 1000.0)
    assert (await history(store))[-2:] == [f"line {HISTORY_LIMIT + 4}", "the newest"]
