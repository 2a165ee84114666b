"""Conversations with the engine in virtual time, asserting on what the human sees."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from bot.core.ports import ReplyRequest
from tests.kit import unanswered_texts

Factory = Callable[..., Any]
THREE_PARTS = ["ugh i wish", "like i could just disappear for a bit", "wbu?"]


def three_parts(request: ReplyRequest) -> list[str]:
    return list(THREE_PARTS)


async def test_burst_of_three_gets_one_reply_in_parts(scene_factory: Factory) -> None:
    chat = await scene_factory(script=three_parts, overrides={"timing": {"debounce": 3}})
    await chat.says("heyyy")
    await chat.waits(2)
    await chat.says("saw your story?")
    await chat.waits(2)
    last = await chat.says("what's up???")
    last_at = chat.clock.now()
    await chat.until_quiet()

    assert chat.bot_texts() == THREE_PARTS
    assert len(chat.responder.requests) == 1
    assert unanswered_texts(chat.responder.requests[0]) == ["heyyy", "saw your story?", "what's up???"]
    assert all(s.at > last_at + 3 for s in chat.outlet.sent), "nothing before the burst ended"
    assert last
    # each part was preceded by "typing…", and parts came at believable intervals
    for sent in chat.outlet.sent:
        assert any(sent.at - 15 < t < sent.at for t in chat.outlet.typing_at)
    gaps = [b.at - a.at for a, b in zip(chat.outlet.sent, chat.outlet.sent[1:], strict=False)]
    assert all(g >= 0.4 for g in gaps)


async def test_pause_longer_than_debounce_mid_burst_revises_and_sends_nothing_stale(scene_factory: Factory) -> None:
    def answer(request: ReplyRequest) -> list[str]:
        said = unanswered_texts(request)
        return ["about work?", "it's fine honestly"] if "what about work?" in said else ["cool!", "same here"]

    chat = await scene_factory(script=answer, latency=2.0, overrides={"timing": {"debounce": 3}})
    await chat.says("hm ok I get that")
    await chat.waits(3.5)  # the debounce passed: the bot starts generating
    assert len(chat.responder.requests) == 1
    await chat.says("but")
    await chat.waits(1)
    await chat.says("like")
    await chat.waits(1)
    await chat.says("what about work?")
    await chat.until_quiet()

    assert "cool!" not in chat.bot_texts() and "same here" not in chat.bot_texts()
    assert chat.bot_texts() == ["about work?", "it's fine honestly"]
    final = chat.responder.requests[-1]
    assert unanswered_texts(final) == ["hm ok I get that", "but", "like", "what about work?"]


async def test_human_texts_while_part_two_is_typed_so_part_two_never_appears(scene_factory: Factory) -> None:
    def answer(request: ReplyRequest) -> list[str]:
        if "wait actually i got the job" in unanswered_texts(request):
            return ["WAIT what", "congrats!!"]
        return ["oh no", "that sucks", "want to talk about it?"]

    chat = await scene_factory(script=answer, overrides={"timing": {"debounce": 2, "wpm": 20}})
    await chat.says("didn't get the job")
    await chat.clock.run_until(lambda: len(chat.outlet.sent) == 1)
    await chat.waits(1.5)  # part two ("that sucks") is being typed now
    assert chat.outlet.typing_at[-1] > chat.outlet.sent[0].at
    await chat.says("wait actually i got the job")
    await chat.until_quiet()

    assert chat.bot_texts() == ["oh no", "WAIT what", "congrats!!"]
    assert "that sucks" in chat.cancelled()
    retry = chat.responder.requests[-1]
    assert [line.text for line in retry.history] == ["didn't get the job", "oh no"]
    assert unanswered_texts(retry) == ["wait actually i got the job"]


async def test_typing_indicator_is_refreshed_during_a_long_part(scene_factory: Factory) -> None:
    long_part = "so basically " + "this is a really long message that takes a while to type " * 3
    chat = await scene_factory(script=lambda r: [long_part], overrides={"timing": {"debounce": 1, "wpm": 30}})
    await chat.says("tell me everything")
    await chat.until_quiet()

    sent_at = chat.outlet.sent[0].at
    refreshes = [t for t in chat.outlet.typing_at if t < sent_at]
    assert len(refreshes) >= 2
    gaps = [b - a for a, b in itertools.pairwise(refreshes)]
    assert all(g < chat.outlet.typing_ttl for g in gaps), "the indicator never lapses while typing"
    assert chat.outlet.typing_stopped_at and chat.outlet.typing_stopped_at[-1] <= sent_at


async def test_history_holds_only_delivered_text(scene_factory: Factory) -> None:
    def answer(request: ReplyRequest) -> list[str]:
        return ["first", "second", "third"] if unanswered_texts(request) == ["hi"] else ["ok then"]

    chat = await scene_factory(script=answer, overrides={"timing": {"debounce": 1, "wpm": 15}})
    await chat.says("hi")
    await chat.clock.run_until(lambda: len(chat.outlet.sent) == 1)
    await chat.says("nvm")
    await chat.until_quiet()
    await chat.says("still there?")
    await chat.until_quiet()

    history = [line.text for line in chat.responder.requests[-1].history]
    assert "second" not in history and "third" not in history
    assert history == ["hi", "first", "nvm", "ok then"]
    stored = await chat.store.load(chat.key)
    assert [line.text for line in stored.history if line.role == "bot"] == chat.bot_texts()


async def test_llm_failure_gets_a_short_persona_line_and_the_chat_recovers(scene_factory: Factory) -> None:
    chat = await scene_factory(script=lambda r: ["all good now"], overrides={"timing": {"debounce": 1}})
    chat.responder.failures = 1
    await chat.says("you there?")
    await chat.until_quiet()
    assert chat.bot_texts() == ["ugh my phone's being weird, one sec"]

    await chat.says("hello??")
    await chat.until_quiet()
    assert chat.bot_texts()[-1] == "all good now"


async def test_llm_failure_can_stay_silent(scene_factory: Factory) -> None:
    chat = await scene_factory(failure_reply="silent", overrides={"timing": {"debounce": 1}})
    chat.responder.failures = 1
    await chat.says("you there?")
    await chat.until_quiet()
    assert chat.bot_texts() == []


async def test_finish_policy_sends_what_was_queued_then_answers_the_rest(scene_factory: Factory) -> None:
    def answer(request: ReplyRequest) -> list[str]:
        return ["nice", "sounds fun"] if "going hiking" in unanswered_texts(request) else ["with who?"]

    chat = await scene_factory(script=answer, interrupt="finish", overrides={"timing": {"debounce": 1}})
    await chat.says("going hiking")
    await chat.clock.run_until(lambda: len(chat.outlet.sent) == 1)
    await chat.says("tomorrow")
    await chat.until_quiet()
    assert chat.bot_texts() == ["nice", "sounds fun", "with who?"]


async def test_defer_policy_keeps_the_reply_after_a_mere_reaction(scene_factory: Factory) -> None:
    chat = await scene_factory(script=lambda r: ["so anyway", "how was it?"], interrupt="defer",
                               overrides={"timing": {"debounce": 1, "wpm": 20}})
    await chat.says("back from the trip")
    await chat.clock.run_until(lambda: len(chat.outlet.sent) == 1)
    await chat.says("lol")
    await chat.until_quiet()
    assert chat.bot_texts()[:2] == ["so anyway", "how was it?"]
    assert chat.cancelled() == []


async def test_defer_policy_revises_after_real_news(scene_factory: Factory) -> None:
    def answer(request: ReplyRequest) -> list[str]:
        return ["oh no!!"] if "i broke my leg" in unanswered_texts(request) else ["so anyway", "how was it?"]

    chat = await scene_factory(script=answer, interrupt="defer", overrides={"timing": {"debounce": 1, "wpm": 20}})
    await chat.says("back from the trip")
    await chat.clock.run_until(lambda: len(chat.outlet.sent) == 1)
    await chat.says("i broke my leg")
    await chat.until_quiet()
    assert chat.bot_texts() == ["so anyway", "oh no!!"]
    assert "how was it?" in chat.cancelled()


async def test_typing_signal_holds_the_reply_until_the_human_is_done(scene_factory: Factory) -> None:
    chat = await scene_factory(turn=None, typing_signal=True, script=lambda r: ["hey!"])
    await chat.says("so")
    await chat.types(ttl=10)
    await chat.waits(8)
    assert chat.bot_texts() == [], "no reply while the human is typing"
    await chat.says("guess what happened today")
    await chat.until_quiet()
    assert chat.bot_texts() == ["hey!"]
    assert unanswered_texts(chat.responder.requests[0]) == ["so", "guess what happened today"]


async def test_human_typing_while_bot_types_holds_the_part_and_keeps_it_if_they_stop(
    scene_factory: Factory,
) -> None:
    chat = await scene_factory(turn=None, typing_signal=True, script=lambda r: ["one", "two"],
                               overrides={"timing": {"wpm": 10}})
    await chat.says("hi there")
    await chat.clock.run_until(lambda: len(chat.outlet.sent) == 1)
    await chat.types(ttl=10)
    await chat.waits(9)
    assert chat.bot_texts() == ["one"], "part two is held while the human types"
    await chat.until_quiet()
    assert chat.bot_texts() == ["one", "two"], "they stopped without sending: the part is kept"


async def test_no_reply_waits_past_max_wait(scene_factory: Factory) -> None:
    chat = await scene_factory(turn=None, typing_signal=True, script=lambda r: ["finally"],
                               overrides={"timing": {"max_wait": 20}})
    await chat.says("ok so")
    start = chat.clock.now()
    for _ in range(10):  # the human seems to type forever
        await chat.types(ttl=10)
        await chat.waits(5)
    await chat.until_quiet()
    assert chat.bot_texts() == ["finally"]
    assert chat.responder.requests and chat.trace
    started = next(at for kind, at, _ in chat.trace if kind == "generation_start")
    assert started - start <= 20.01


async def test_chats_never_block_each_other(scene_factory: Factory) -> None:
    from bot.core.events import ConversationKey

    chat = await scene_factory(script=lambda r: [f"re: {unanswered_texts(r)[0]}"], overrides=None)
    other = ConversationKey("test", "chat2")
    chat.responder.latency = 1.0
    await chat.says("first chat")
    await chat.says("second chat", key=other)
    await chat.until_quiet()
    by_chat = {s.key.chat: s.text for s in chat.outlet.sent}
    assert by_chat == {"chat1": "re: first chat", "chat2": "re: second chat"}


async def test_idle_conversations_are_released_and_rebuilt_from_the_store(scene_factory: Factory) -> None:
    chat = await scene_factory(script=lambda r: ["hey"], idle_seconds=60)
    await chat.says("hi")
    await chat.until_quiet()
    await chat.waits(90)
    assert chat.engine.actors == {}
    await chat.says("remember me?")
    await chat.until_quiet()
    assert [line.text for line in chat.responder.requests[-1].history] == ["hi", "hey"]


async def test_empty_messages_are_ignored_and_attachments_described(scene_factory: Factory) -> None:
    chat = await scene_factory(script=lambda r: ["cute"])
    await chat.says("   ")
    await chat.says("", attachments=("photo",))
    await chat.until_quiet()
    assert len(chat.responder.requests) == 1
    assert unanswered_texts(chat.responder.requests[0]) == ["[sent a photo]"]


async def test_an_edit_mid_burst_changes_what_the_bot_answers(scene_factory: Factory) -> None:
    chat = await scene_factory(script=lambda r: ["ok"], overrides={"timing": {"debounce": 3}})
    mid = await chat.says("meet at 5?")
    await chat.waits(1)
    await chat.edits(mid, "meet at 6?")
    await chat.until_quiet()
    assert unanswered_texts(chat.responder.requests[0]) == ["meet at 6?"]


async def test_a_deleted_message_is_not_answered(scene_factory: Factory) -> None:
    chat = await scene_factory(script=lambda r: ["ok"], overrides={"timing": {"debounce": 3}})
    await chat.says("hey")
    oops = await chat.says("wrong chat sorry")
    await chat.deletes(oops)
    await chat.until_quiet()
    assert unanswered_texts(chat.responder.requests[0]) == ["hey"]


async def test_group_messages_not_for_the_bot_get_silence_but_mentions_get_a_reply(scene_factory: Factory) -> None:
    chat = await scene_factory(script=lambda r: ["hi!"], overrides={"timing": {"debounce": 1}})
    await chat.says("anyone up for pizza", is_group=True)
    await chat.until_quiet()
    assert chat.bot_texts() == []
    mid = await chat.says("sunny what do you think?", is_group=True, addressed=True)
    await chat.until_quiet()
    assert chat.bot_texts() == ["hi!"]
    assert chat.outlet.sent[0].reply_to == mid
    assert [line.text for line in chat.responder.requests[0].history] == ["anyone up for pizza"]


async def test_admin_tunes_timing_and_the_next_burst_uses_it(scene_factory: Factory) -> None:
    chat = await scene_factory(script=lambda r: ["yo"])
    assert "debounce must be between 0 and 120 seconds" in await chat.command("timing", "set", "debounce", "500")
    assert await chat.command("timing", "set", "debounce", "7") == "debounce set to 7"
    shown = await chat.command("timing", "show")
    assert "debounce = 7 (override)" in shown and "wpm = 75 (persona sunny)" in shown
    assert await chat.command("timing", "set", "wpm", "300", admin=False) == "sorry, only admins can do that here"
    await chat.says("hey")
    start = chat.clock.now()
    await chat.until_quiet()
    started = next(at for kind, at, _ in chat.trace if kind == "generation_start")
    assert 7 <= started - start < 7.5


async def test_reset_forgets_the_history(scene_factory: Factory) -> None:
    chat = await scene_factory(script=lambda r: ["hey"], overrides={"timing": {"debounce": 1}})
    await chat.says("my secret is 42")
    await chat.until_quiet()
    assert await chat.command("reset") == "ok clean slate ✨"
    await chat.says("what was my secret?")
    await chat.until_quiet()
    assert [line.text for line in chat.responder.requests[-1].history] == []


async def test_in_a_busy_group_the_reply_quotes_the_message_that_called_the_bot(scene_factory: Factory) -> None:
    chat = await scene_factory(script=lambda r: ["pepperoni obviously"], overrides={"timing": {"debounce": 2}})
    called = await chat.says("sunny which pizza?", is_group=True, addressed=True)
    await chat.says("lol", is_group=True)
    await chat.until_quiet()
    assert chat.bot_texts() == ["pepperoni obviously"]
    assert chat.outlet.sent[0].reply_to == called


async def test_a_part_queued_by_the_platform_is_withdrawn_when_the_human_writes(scene_factory: Factory) -> None:
    import asyncio

    from bot.core.ports import PartWithdrawn

    chat = await scene_factory(script=lambda r: ["one", "two"] if unanswered_texts(r) == ["hi"] else ["new answer"],
                               overrides={"timing": {"debounce": 1}})
    outlet = chat.outlet
    plain_send = outlet.send
    gate = asyncio.Event()

    async def slow_platform(key, text, reply_to, still_wanted=lambda: True):  # type: ignore[no-untyped-def]
        if text == "two":
            await gate.wait()  # the platform's rate limit makes this part wait its turn
            if not still_wanted():
                raise PartWithdrawn(text)
        return await plain_send(key, text, reply_to)

    outlet.send = slow_platform  # type: ignore[method-assign]
    await chat.says("hi")
    await chat.clock.run_until(lambda: len(outlet.sent) == 1)
    await chat.waits(3)  # "two" is typed and waiting in the platform's queue
    says = asyncio.create_task(chat.says("wait, new topic"))
    await asyncio.sleep(0)
    gate.set()
    await says
    await chat.until_quiet()
    assert chat.bot_texts() == ["one", "new answer"]
    assert "two" in chat.cancelled()
