"""A reply cut short by a stop (or a crash) is finished after the restart, like a person whose phone died."""

from __future__ import annotations

from bot.core.events import HumanMessage
from bot.core.memory_store import MemoryStore
from bot.core.ports import ReplyRequest
from tests.kit import ChatScene, unanswered_texts


def first_reply(request: ReplyRequest) -> list[str]:
    if "cut off" in request.system:
        return ["and then i fell asleep lol"]
    if unanswered_texts(request) == ["how was the trip?"]:
        return ["sooo good", "we hiked every day", "and then i fell asleep lol"]
    return ["haha ok"]


async def cut_after_first_part(store: MemoryStore) -> ChatScene:
    """The human asks; the bot sends part one of three and the process stops."""
    chat = ChatScene(store=lambda clock: store, script=first_reply, overrides={"timing": {"debounce": 1}})
    await chat.setup()
    await chat.says("how was the trip?")
    await chat.clock.run_until(lambda: len(chat.outlet.sent) == 1)
    await chat.close()  # the reply is cut short: parts two and three were never sent
    return chat


async def test_after_a_restart_the_bot_finishes_the_reply_it_was_cut_off_in_without_repeating_itself() -> None:
    store = MemoryStore()
    before = await cut_after_first_part(store)
    after = ChatScene(store=lambda _: store, script=first_reply)
    for key in await store.recover():
        after.engine.wake(key)
    await after.until_quiet()
    await after.close()

    assert before.bot_texts() == ["sooo good"]
    assert after.bot_texts() == ["and then i fell asleep lol"], "the rest, once"
    continuation = after.responder.requests[0]
    assert "sooo good" in continuation.system, "the model is told what already went out"
    assert [line.text for line in continuation.history] == ["how was the trip?", "sooo good"]
    assert (await store.load(before.key)).cut_short is None, "finished: nothing left to continue"


async def test_when_the_human_wrote_while_the_bot_was_down_one_reply_covers_it_and_nothing_is_continued() -> None:
    store = MemoryStore()
    before = await cut_after_first_part(store)
    await store.save_human(HumanMessage(before.key, "h9", before.human_author, "hello??"), before.clock.now())
    after = ChatScene(store=lambda _: store, script=first_reply)
    for key in await store.recover():
        after.engine.wake(key)
    await after.until_quiet()
    await after.close()

    assert after.bot_texts() == ["haha ok"]
    assert len(after.responder.requests) == 1
    assert unanswered_texts(after.responder.requests[0]) == ["hello??"]
    assert (await store.load(before.key)).cut_short is None


async def test_a_message_soon_after_the_restart_is_answered_instead_of_the_old_thought() -> None:
    store = MemoryStore()
    before = await cut_after_first_part(store)
    after = ChatScene(store=lambda _: store, script=first_reply, overrides={"timing": {"debounce": 1}})
    for key in await store.recover():
        after.engine.wake(key)
    await after.clock.settle()
    after._ids = 100  # the platform's ids go on from where they were
    await after.says("hello??")  # arrives as the bot looks at its phone again
    await after.until_quiet()
    await after.close()

    assert after.bot_texts() == ["haha ok"]
    assert all("cut off" not in r.system for r in after.responder.requests)
    assert before.bot_texts() == ["sooo good"]


async def test_nothing_is_continued_when_the_human_resets_the_chat() -> None:
    store = MemoryStore()
    before = await cut_after_first_part(store)
    after = ChatScene(store=lambda _: store, script=first_reply)
    for key in await store.recover():
        after.engine.wake(key)
    await after.clock.settle()
    answer = await after.command("reset", admin=False)
    await after.until_quiet()
    await after.waits(60)
    await after.close()

    assert answer and after.bot_texts() == [answer], "only the reset's own answer"
    assert after.responder.requests == []
    assert before.bot_texts() == ["sooo good"]
