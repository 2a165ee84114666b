"""The `duplex` turn policy (seed 002): the fast model predicts the rest of the turn and drafts the reply.

The fast model is the real openai client against the local Chat Completions server, scripted by what each
request shows (the burst and its silence ticks); the chat runs in virtual time.
"""

from __future__ import annotations

import pytest

from bot.core.ports import ReplyRequest
from tests.duplex_kit import DuplexModel, duplex_model, more, over, planned_ticks
from tests.kit import ChatScene

fast = pytest.fixture(duplex_model)
START = 1_000.0  # the virtual clock's start
CONGRATS = "omg congrats!!\nwhen do u start"


def scene(fast: DuplexModel, *, own_model: bool = False, typing_signal: bool = False) -> ChatScene:
    """A chat on the duplex policy; with `own_model`, the main model is the same server (every request counted)."""
    return ChatScene(turn="duplex", duplex=fast.duplex, typing_signal=typing_signal, script=normal_reply,
                     responder=fast.responder if own_model else None)


def normal_reply(request: ReplyRequest) -> list[str]:
    """The main model's reply, when the normal reply path answers."""
    return ["a normal reply"]


def traced(chat: ChatScene, kind: str) -> list[dict[str, object]]:
    """The data of every `kind` event on the chat's timeline."""
    return [data for k, _, data in chat.trace if k == kind]


async def test_while_the_model_predicts_more_text_nothing_is_sent_and_it_is_asked_again_at_later_ticks(
        fast: DuplexModel) -> None:
    fast.script = lambda burst, ticks: more("and then we could go to the lake")
    first, second = planned_ticks("hey", 2)
    chat = scene(fast)
    try:
        await chat.says("hey")
        await chat.waits(second * 0.5 - 0.1)
        assert chat.bot_texts() == []
        assert fast.asked() == [("hey", first)], "asked once; again only when more silence says something new"
        await chat.waits(0.2)
        assert fast.asked() == [("hey", first), ("hey", second)]
        assert chat.bot_texts() == [] and chat.responder.requests == [], "no reply while more text is predicted"
        [first, *_] = traced(chat, "duplex_prediction")
        assert first["turn_over"] is False and first["user"] == "and then we could go to the lake"
    finally:
        await chat.close()


async def test_after_enough_silence_the_drafted_reply_is_delivered_with_no_second_request(fast: DuplexModel) -> None:
    fast.script = lambda burst, ticks: over(CONGRATS) if ticks >= 2 else more("and i start monday")
    first, second = planned_ticks("i got the job!!", 2)
    chat = scene(fast, own_model=True)
    try:
        await chat.says("i got the job!!")
        await chat.until_quiet()
        assert chat.bot_texts() == ["omg congrats!!", "when do u start"]
        assert fast.server.request_count == 2, "two duplex requests, and no generation request at all"
        assert fast.asked() == [("i got the job!!", first), ("i got the job!!", second)]
        assert chat.outlet.sent[0].at >= START + second * 0.5, "the draft waited for its silence, then read and typed"
        stored = await chat.store.load(chat.key)
        assert [line.text for line in stored.history] == ["i got the job!!", "omg congrats!!", "when do u start"]
        silence = " <|silence|>" * second
        assert fast.server.requests[-1]["messages"][-1]["content"] == f"i got the job!!{silence}"
        assert traced(chat, "duplex_draft_sent") == [{"ticks": second}]
        await chat.says("thx")
        await chat.until_quiet()
        history = fast.server.requests[-1]["messages"][1:-1]
        assert [m["content"] for m in history] == ["i got the job!!", "omg congrats!!", "when do u start"], \
            "silence tokens are in what the model is sent now, never in the history"
    finally:
        await chat.close()


def answers_what_it_saw(burst: str, ticks: int) -> str:
    """The model drafts a reply to exactly the text it was shown."""
    return over("omg congrats!!\nmonday already??") if "monday" in burst else over("omg congrats")


async def test_a_message_while_the_model_is_asked_cancels_that_request_and_the_reply_answers_both(
        fast: DuplexModel) -> None:
    fast.script, fast.latency = answers_what_it_saw, 0.5
    chat = scene(fast, own_model=True)
    try:
        await chat.says("i got the job!!")
        await chat.waits(0.2)
        await chat.says("and i start monday")
        await chat.until_quiet()
        assert chat.bot_texts() == ["omg congrats!!", "monday already??"]
        assert [burst for burst, _ in fast.asked()] == ["i got the job!!\nand i start monday"], \
            "the first request was called off before it went out"
        assert [d["reason"] for d in traced(chat, "duplex_cancelled")] == ["the human wrote again"]
    finally:
        await chat.close()


async def test_a_draft_held_while_the_human_types_is_dropped_when_they_send_more(fast: DuplexModel) -> None:
    fast.script, fast.latency = answers_what_it_saw, 0.3
    chat = scene(fast, typing_signal=True)
    try:
        await chat.says("i got the job!!")
        await chat.types(ttl=10.0)
        await chat.waits(2.0)
        assert chat.bot_texts() == [], "the human is typing: the draft waits"
        assert traced(chat, "duplex_prediction")[0]["turn_over"] is True
        await chat.says("and i start monday")
        await chat.until_quiet()
        assert chat.bot_texts() == ["omg congrats!!", "monday already??"], "the stale draft never went out"
        assert [d["reason"] for d in traced(chat, "duplex_draft_dropped")] == ["the human wrote again"]
        assert chat.responder.requests == [], "both drafts came from the fast model"
    finally:
        await chat.close()


@pytest.mark.parametrize("answer", [
    "omg congrats",
    "<user_preemptive></user_preemptive>omg congrats",
    "<assistant_preemptive>omg congrats</assistant_preemptive><user_preemptive></user_preemptive>",
    "<user_preemptive></user_preemptive><assistant_preemptive> </assistant_preemptive>",
    "<user_preemptive></user_preemptive><assistant_preemptive>omg congrats",
], ids=["no tags", "no assistant tag", "tags in the wrong order", "an empty draft", "an unclosed tag"])
async def test_malformed_tags_count_as_not_done_and_the_normal_reply_answers(fast: DuplexModel, answer: str) -> None:
    fast.script = lambda burst, ticks: answer
    chat = scene(fast)
    try:
        await chat.says("i got the job!!")
        await chat.until_quiet()
        assert chat.bot_texts() == ["a normal reply"], "the malformed text never reached the human"
        assert [ticks for _, ticks in fast.asked()] == planned_ticks("i got the job!!", 3), \
            "asked again as after a 'not done', until the next request would be past max_wait"
        assert len(chat.responder.requests) == 1
        failures = [str(d["failure"]) for d in traced(chat, "duplex_prediction")]
        assert len(failures) == 3 and all(f.startswith("malformed answer") for f in failures)
    finally:
        await chat.close()


async def test_duplex_max_calls_caps_the_requests_in_a_turn(fast: DuplexModel) -> None:
    fast.script = lambda burst, ticks: more("and then")
    chat = scene(fast)
    try:
        assert await chat.command("timing", "set", "duplex_max_calls", "2") == "duplex_max_calls set to 2"
        await chat.says("hey")
        await chat.until_quiet()
        assert fast.asked() == list(zip(["hey", "hey"], planned_ticks("hey", 2), strict=True))
        assert chat.bot_texts()[1:] == ["a normal reply"], "after the command's answer"
        await chat.says("u there?")
        await chat.until_quiet()
        assert len(fast.asked()) == 4, "a new turn gets its own requests"
    finally:
        await chat.close()


async def test_max_wait_caps_everything_and_then_the_normal_reply_answers(fast: DuplexModel) -> None:
    fast.script = lambda burst, ticks: more("and then")
    chat = scene(fast)
    try:
        await chat.command("timing", "set", "duplex_max_calls", "20")
        await chat.command("timing", "set", "max_wait", "3")
        await chat.says("hey")
        await chat.until_quiet()
        assert fast.asked() == [("hey", planned_ticks("hey", 1)[0])], "the next tick worth asking is past max_wait"
        [started] = [at for kind, at, _ in chat.trace if kind == "generation_start"]
        assert started == pytest.approx(START + 3.0)
        assert chat.bot_texts()[2:] == ["a normal reply"], "after the two commands' answers"
    finally:
        await chat.close()


async def test_without_a_fast_model_duplex_decides_as_adaptive() -> None:
    chat = ChatScene(turn="duplex", script=lambda request: ["hi"])
    try:
        await chat.says("hey")
        await chat.until_quiet()
        assert chat.bot_texts() == ["hi"]
        assert not traced(chat, "duplex_ask")
    finally:
        await chat.close()


async def test_in_a_group_duplex_decides_as_adaptive_and_asks_no_fast_model(fast: DuplexModel) -> None:
    chat = scene(fast)
    try:
        await chat.says("@sunny hey", is_group=True, addressed=True)
        await chat.until_quiet()
        assert chat.bot_texts() == ["a normal reply"]
        assert fast.asked() == []
    finally:
        await chat.close()
