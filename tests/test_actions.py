"""The `actions` responder in scenes: the model drafts, checks and pushes, and hears the human after every step."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from bot.llm.action_tools import TOOL_NAMES
from tests.actions_kit import actions, human_writes, notes, tools_offered
from tests.fakes.openai_answers import Answer, call, calls
from tests.fakes.openai_server import FakeOpenAIServer, Messages

Factory = Callable[..., Any]


@pytest.fixture
async def model() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer() as server:
        yield server


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_append_then_push_sends_one_message_after_the_personas_typing_time(
    scene_factory: Factory, model: FakeOpenAIServer, stream: bool,
) -> None:
    model.replies(calls(call("append", text="omg yes"), call("append", text="pizza!!")), calls(call("push")),
                  calls(call("done")))
    chat = await scene_factory(responder=actions(model, stream=stream))
    await chat.says("wanna get pizza tonight?")
    await chat.until_quiet()

    assert chat.bot_texts() == ["omg yes pizza!!"]
    assert model.request_count == 3
    assert all(tools_offered(body) == list(TOOL_NAMES) for body in model.requests)
    assert model.tool_results(1) == [{"draft": "omg yes", "new_messages": []},
                                     {"draft": "omg yes pizza!!", "new_messages": []}]
    assert model.tool_results(2) == [{"draft": "", "new_messages": [], "sent": True}]
    typed = [at for kind, at, _ in chat.trace if kind in ("typing_start", "typing_stop")]
    assert typed[1] - typed[0] >= 0.4, "push typed for the persona's (minimum) typing time"
    assert chat.outlet.sent[0].at >= typed[1]
    assert chat.outlet.typing_at and chat.outlet.typing_at[0] < chat.outlet.sent[0].at
    assert (await chat.store.load(chat.key)).pending == []


async def test_the_human_writes_between_append_and_push_so_the_first_draft_is_never_seen(
    scene_factory: Factory, model: FakeOpenAIServer,
) -> None:
    async def thinking(messages: Messages) -> Answer:
        if model.request_count == 1:
            return calls(call("append", text="sure 7 works"))
        if model.request_count == 2:
            await human_writes(chat, "wait make it 8")  # while the model decides to push
            return calls(call("push"))
        if model.request_count == 3:
            return calls(call("reset"), call("append", text="8 is perfect"), call("push"))
        return calls(call("done"))

    model.reply_with(thinking)
    chat = await scene_factory(responder=actions(model))
    await chat.says("dinner at 7?")
    await chat.until_quiet()

    assert chat.outlet.visible() == ["8 is perfect"]
    assert [s.text for s in chat.outlet.sent] == ["8 is perfect"], "the first draft never reached the wire"
    [refused] = model.tool_results(2)
    assert refused["sent"] is False and refused["draft"] == "sure 7 works"
    assert refused["new_messages"] == [{"from": "Alex", "text": "wait make it 8"}]
    assert [r["new_messages"] for r in model.tool_results(3)] == [[], [], []], "told once, never repeated"
    assert model.tool_results(3)[-1]["sent"] is True
    pushes = [(d["sent"], d["text"]) for kind, d in notes(chat) if kind == "action_push"]
    assert pushes == [(False, "sure 7 works"), (True, "8 is perfect")]
    history = [line.text for line in (await chat.store.load(chat.key)).history]
    assert history == ["dinner at 7?", "wait make it 8", "8 is perfect"]


async def test_the_human_writes_while_a_push_is_typed_so_it_is_withheld_and_the_model_revises(
    scene_factory: Factory, model: FakeOpenAIServer,
) -> None:
    model.replies(calls(call("append", text="yeah i loved it"), call("push")),
                  calls(call("reset"), call("append", text="oh no what happened"), call("push")),
                  calls(call("done")))
    chat = await scene_factory(responder=actions(model))
    await chat.says("did you see the game")
    await chat.clock.run_until(lambda: any(kind == "typing_start" for kind, _, _ in chat.trace))
    await chat.says("ugh my team lost")
    await chat.until_quiet()

    assert [s.text for s in chat.outlet.sent] == ["oh no what happened"]
    [_, withheld] = model.tool_results(1)
    assert withheld["sent"] is False and withheld["reason"] == "the human wrote again"
    assert withheld["new_messages"] == [{"from": "Alex", "text": "ugh my team lost"}]
    assert "yeah i loved it" in chat.cancelled()


async def test_after_a_withheld_push_the_next_push_still_waits_its_typing_time(
    scene_factory: Factory, model: FakeOpenAIServer,
) -> None:
    model.replies(calls(call("append", text="yeah i loved it"), call("push")),
                  calls(call("reset"), call("append", text="oh no what happened"), call("push")),
                  calls(call("done")))
    chat = await scene_factory(responder=actions(model))
    await chat.says("did you see the game")
    await chat.clock.run_until(lambda: any(kind == "typing_start" for kind, _, _ in chat.trace))
    await chat.says("ugh my team lost")
    await chat.until_quiet()

    typed = [at for kind, at, _ in chat.trace if kind in ("typing_start", "typing_stop")]
    assert typed[-1] - typed[-2] >= 0.4


async def test_undo_after_a_push_takes_the_message_back_and_it_leaves_the_history(
    scene_factory: Factory, model: FakeOpenAIServer,
) -> None:
    model.replies(calls(call("append", text="love you"), call("push")),
                  calls(call("undo")),
                  calls(call("append", text="see you at 5"), call("push"), call("done")))
    chat = await scene_factory(responder=actions(model))
    await chat.says("see you later?")
    await chat.until_quiet()

    assert chat.outlet.visible() == ["see you at 5"]
    assert [s.text for s in chat.outlet.sent if s.unsent] == ["love you"]
    assert model.tool_results(2) == [{"draft": "", "new_messages": [], "undid": "message", "text": "love you"}]
    history = [line.text for line in (await chat.store.load(chat.key)).history]
    assert history == ["see you later?", "see you at 5"]


async def test_undo_and_reset_change_only_the_draft(scene_factory: Factory, model: FakeOpenAIServer) -> None:
    model.replies(calls(call("append", text="hmm"), call("append", text="maybe"), call("undo"), call("reset"),
                        call("undo"), call("push")),
                  calls(call("append", text="sure"), call("push"), call("done")))
    chat = await scene_factory(responder=actions(model))
    await chat.says("coming?")
    await chat.until_quiet()

    assert chat.bot_texts() == ["sure"]
    results = model.tool_results(1)
    assert [r["draft"] for r in results] == ["hmm", "hmm maybe", "hmm", "", "", ""]
    assert results[2]["undid"] == "append" and results[2]["text"] == "maybe"
    assert "error" in results[4], "nothing to undo: the draft is empty and nothing was sent"
    assert results[5]["sent"] is False and "empty" in results[5]["error"]


async def test_a_draft_past_the_platform_limit_is_cut_and_the_model_is_told(
    scene_factory: Factory, model: FakeOpenAIServer,
) -> None:
    model.replies(calls(call("append", text="a" * 1990), call("append", text="bcdefghijklmnop"), call("push")),
                  calls(call("done")))
    chat = await scene_factory(responder=actions(model))
    await chat.says("write me an essay")
    await chat.until_quiet()

    assert [len(text) for text in chat.bot_texts()] == [chat.outlet.limit]
    results = model.tool_results(1)
    assert "truncated" not in results[0] and results[1]["truncated"] is True
    assert results[1]["draft"].endswith("a bcdefghij")


async def test_stay_silent_sends_nothing_and_leaves_nothing_unanswered(
    scene_factory: Factory, model: FakeOpenAIServer,
) -> None:
    model.replies(calls(call("stay_silent")))
    chat = await scene_factory(responder=actions(model))
    await chat.says("lol")
    await chat.until_quiet()

    assert chat.bot_texts() == [] and chat.outlet.typing_at == []
    assert (await chat.store.load(chat.key)).pending == []
    assert [kind for kind, _ in notes(chat)] == ["action_silence"]
    assert "silence" in {kind for kind, _, _ in chat.trace}


async def test_stay_silent_while_an_unread_message_waits_is_refused_so_it_gets_an_answer(
    scene_factory: Factory, model: FakeOpenAIServer,
) -> None:
    async def thinking(messages: Messages) -> Answer:
        if model.request_count == 1:
            await human_writes(chat, "wait are you mad at me?")
            return calls(call("stay_silent"))
        if model.request_count == 2:
            return calls(call("append", text="no!! never"), call("push"), call("done"))
        return calls(call("done"))

    model.reply_with(thinking)
    chat = await scene_factory(responder=actions(model))
    await chat.says("k")
    await chat.until_quiet()

    assert chat.bot_texts() == ["no!! never"]
    [refused] = model.tool_results(1)
    assert refused["ended"] is False
    assert refused["new_messages"] == [{"from": "Alex", "text": "wait are you mad at me?"}]
    assert (await chat.store.load(chat.key)).pending == []


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_an_answer_without_tool_calls_is_sent_as_parts_and_ends_the_session(
    scene_factory: Factory, model: FakeOpenAIServer, stream: bool,
) -> None:
    model.replies("omg hi\nyes i saw it\nwbu?")
    chat = await scene_factory(responder=actions(model, stream=stream))
    await chat.says("heyyy")
    await chat.until_quiet()

    assert chat.bot_texts() == ["omg hi", "yes i saw it", "wbu?"]
    assert model.request_count == 1
    assert (await chat.store.load(chat.key)).pending == []


async def test_a_plain_answer_the_human_interrupts_is_withheld_and_the_session_answers_what_they_wrote(
    scene_factory: Factory, model: FakeOpenAIServer,
) -> None:
    model.replies("omg hi\nhow was the trip\ntell me everything", "oh nooo\nwhat happened")
    chat = await scene_factory(responder=actions(model))
    await chat.says("heyyy")
    await chat.clock.run_until(lambda: len(chat.outlet.sent) == 1)
    await chat.says("the trip was a disaster")
    await chat.until_quiet()

    assert chat.bot_texts() == ["omg hi", "oh nooo", "what happened"]
    assert [m["role"] for m in model.last_messages()[-3:]] == ["user", "assistant", "user"]
    assert [m["content"] for m in model.last_messages()[-2:]] == ["omg hi", "the trip was a disaster"]
    assert (await chat.store.load(chat.key)).pending == []


async def test_an_unknown_tool_and_broken_arguments_get_an_error_result_and_the_session_goes_on(
    scene_factory: Factory, model: FakeOpenAIServer,
) -> None:
    from tests.fakes.openai_answers import ToolCall

    model.replies(calls(call("send_message", text="hi"), ToolCall("append", '{"text": "hi'), call("append", text=3),
                        call("check", seconds="soon"), ToolCall("push", "[]")),
                  calls(call("append", text="hi :)"), call("push"), call("done")))
    chat = await scene_factory(responder=actions(model))
    await chat.says("hello?")
    await chat.until_quiet()

    assert chat.bot_texts() == ["hi :)"]
    errors = [r["error"] for r in model.tool_results(1)]
    assert "no tool 'send_message'" in errors[0]
    assert "not valid JSON" in errors[1]
    assert errors[2] == "append needs text, a string"
    assert errors[3].startswith("check needs seconds")
    assert errors[4] == "the arguments must be a JSON object"
    assert all(r["draft"] == "" and r["new_messages"] == [] for r in model.tool_results(1))
    assert [d["tool"] for kind, d in notes(chat) if kind == "action_error"] == [
        "send_message", "append", "append", "check", "push"]


async def test_a_model_that_never_ends_is_stopped_after_sixteen_steps(
    scene_factory: Factory, model: FakeOpenAIServer,
) -> None:
    model.reply_with(lambda messages: calls(call("append", text="la")))
    chat = await scene_factory(responder=actions(model))
    await chat.says("sing me something")
    await chat.until_quiet()

    assert model.request_count == 16
    assert chat.bot_texts() == [], "a draft never pushed is never seen"
    assert notes(chat)[-1] == ("action_end", {"reason": "16 steps", "draft": " ".join(["la"] * 16)})
    assert chat.outlet.typing_stopped_at, "typing stops when the session ends"
    assert (await chat.store.load(chat.key)).pending == []


async def test_check_returns_as_soon_as_the_human_writes_with_what_they_wrote(
    scene_factory: Factory, model: FakeOpenAIServer,
) -> None:
    model.replies(calls(call("check", seconds=30)),
                  calls(call("append", text="haha ok go on"), call("push"), call("done")))
    chat = await scene_factory(responder=actions(model))
    await chat.says("so")
    await chat.clock.run_until(lambda: model.request_count == 1)
    await chat.waits(5)
    await chat.says("two things")
    await chat.until_quiet()

    assert chat.bot_texts() == ["haha ok go on"]
    [checked] = model.tool_results(1)
    assert checked == {"draft": "", "new_messages": [{"from": "Alex", "text": "two things"}], "waited": 5.0,
                       "typing": False}
    assert ("action_check", {"seconds": 30.0, "waited": 5.0, "heard": 1}) in notes(chat)


async def test_check_tells_the_model_the_human_is_still_typing(scene_factory: Factory, model: FakeOpenAIServer) -> None:
    model.replies(calls(call("check", seconds=5)), calls(call("done")))
    chat = await scene_factory(responder=actions(model), typing_signal=True)
    await chat.says("so about tomorrow")
    await chat.clock.run_until(lambda: model.request_count == 1)
    await chat.waits(2)
    await chat.types(ttl=10)
    await chat.clock.run_until(lambda: model.request_count == 2)

    [checked] = model.tool_results(1)
    assert checked["waited"] == 5.0 and checked["typing"] is True and checked["new_messages"] == []


async def test_waiting_past_max_wait_without_a_push_ends_the_session(
    scene_factory: Factory, model: FakeOpenAIServer,
) -> None:
    model.replies(calls(call("append", text="hmm")), calls(call("check", seconds=300)), calls(call("push")))
    chat = await scene_factory(responder=actions(model), overrides={"timing": {"max_wait": 20}})
    await chat.says("you there?")
    await chat.until_quiet()

    assert model.request_count == 2, "no step after max_wait went by without a push"
    assert chat.bot_texts() == []
    assert ("action_check", {"seconds": 300.0, "waited": 20.0, "heard": 0}) in notes(chat)
    assert notes(chat)[-1] == ("action_end", {"reason": "max_wait without a push", "draft": "hmm"})


async def test_a_model_that_stays_down_gets_the_personas_line(scene_factory: Factory, model: FakeOpenAIServer) -> None:
    model.fail_next(500, times=2)
    chat = await scene_factory(responder=actions(model, attempts=2))
    await chat.says("hey")
    await chat.until_quiet()

    assert chat.bot_texts() == ["ugh my phone's being weird, one sec"]
    assert model.request_count == 2


async def test_a_model_that_fails_after_a_push_ends_with_what_it_sent(
    scene_factory: Factory, model: FakeOpenAIServer,
) -> None:
    model.replies(calls(call("append", text="omw"), call("push")))
    chat = await scene_factory(responder=actions(model, attempts=2))
    await chat.says("where r u")
    await chat.clock.run_until(lambda: model.request_count == 1)
    model.fail_next(503, times=2)
    await chat.until_quiet()

    assert chat.bot_texts() == ["omw"], "no failure line after something was said"
    assert model.request_count == 3
    assert (await chat.store.load(chat.key)).pending == []


async def test_silence_after_a_push_counts_what_came_after_it_as_answered(
    scene_factory: Factory, model: FakeOpenAIServer,
) -> None:
    async def thinking(messages: Messages) -> Answer:
        if model.request_count == 1:
            return calls(call("append", text="ok see you then"), call("push"))
        if model.request_count == 2:
            await human_writes(chat, "👍")
            return calls(call("check", seconds=1))
        return calls(call("stay_silent"))

    model.reply_with(thinking)
    chat = await scene_factory(responder=actions(model))
    await chat.says("tomorrow at 5")
    await chat.until_quiet()
    await chat.waits(60)

    assert chat.bot_texts() == ["ok see you then"]
    assert model.request_count == 3


async def test_typing_shows_while_the_draft_is_not_empty_and_reset_stops_it(
    scene_factory: Factory, model: FakeOpenAIServer,
) -> None:
    model.replies(calls(call("append", text="so basically")), calls(call("check", seconds=10)),
                  calls(call("reset")), calls(call("check", seconds=10)), calls(call("stay_silent")))
    chat = await scene_factory(responder=actions(model))
    await chat.says("what happened??")
    await chat.until_quiet()

    composing_from = next(at for kind, at, _ in chat.trace if kind == "action_append")
    reset_at = next(at for kind, at, _ in chat.trace if kind == "action_reset")
    assert reset_at - composing_from == pytest.approx(10.0)
    shown = [at - composing_from for at in chat.outlet.typing_at]
    assert shown == pytest.approx([0.0, 4.0, 8.0]), "refreshed before it lapses while the draft waits"
    assert [at - composing_from for at in chat.outlet.typing_stopped_at] == pytest.approx([10.0]), "nothing after"
    assert chat.bot_texts() == []
