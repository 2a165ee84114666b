"""Background tasks in scenes: the bot goes off to think while the chat goes on and comes back to it, once."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from bot.core.background import DONE
from bot.core.events import ConversationKey, TaskResult
from bot.core.task_memory import MemoryTaskStore
from bot.llm.openai_responder import OpenAIResponder
from bot.workers import wire
from tests.fakes.openai_answers import Answer, call, calls
from tests.fakes.openai_server import FakeOpenAIServer, Messages
from tests.kit import unanswered_texts
from tests.tasks_kit import TaskRig, client, told

Factory = Callable[..., Any]
QUESTION = "should i pay off my student loan or invest the money?"
ANSWER = "Pay off the loan first: its 7% is a sure return, higher than what investing reliably gives."


@pytest.fixture
async def chat_model() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
async def rig() -> AsyncIterator[TaskRig]:
    async with FakeOpenAIServer() as slow:
        made = TaskRig(slow)
        yield made
        await made.close()


async def test_a_think_result_arriving_while_they_chat_about_something_else_is_woven_in_once(
    scene_factory: Factory, chat_model: FakeOpenAIServer, rig: TaskRig,
) -> None:
    rig.slow_answers(25.0, ANSWER)

    def script(messages: Messages) -> Answer:
        step = chat_model.request_count
        if step == 1:
            return calls(call("create_task", kind="think", args={"question": QUESTION}),
                         call("append", text="ooh let me think"), call("push"))
        if step == 2:
            return calls(call("done"))
        if step == 3:
            return calls(call("append", text="YES that last minute goal"), call("push"))
        if step == 4:
            return calls(call("check", seconds=30))
        if step == 5:
            return calls(call("append", text="ok so about your loan question: pay it off first, 7% is a sure thing"),
                         call("push"))
        return calls(call("done"))

    chat_model.reply_with(script)
    chat = await scene_factory(responder=rig.actions(chat_model))
    board = rig.attach(chat)
    await chat.says(QUESTION)
    await chat.waits(12)
    await chat.says("anyway did you see the game last night??")
    await chat.until_quiet()

    assert chat.bot_texts() == ["ooh let me think", "YES that last minute goal",
                                "ok so about your loan question: pay it off first, 7% is a sure thing"]
    assert rig.slow.request_count == 1
    assert QUESTION in rig.slow.last_messages()[-1]["content"]
    [created] = chat_model.tool_results(1)[:1]
    assert created == {"draft": "", "new_messages": [], "task_id": "t1", "status": "running"}
    told_per_step = [told(chat_model.tool_results(i)) for i in range(chat_model.request_count)]
    assert told_per_step[4] == [f"[think task t1 finished] {ANSWER}"], "the check heard the result"
    assert [line for step in told_per_step for line in step] == told_per_step[4], "told once"
    assert all(ANSWER not in body["messages"][0]["content"] for body in chat_model.requests), "never as a note too"
    [task] = _tasks(board)
    assert task.status == DONE and task.result == ANSWER and task.delivered_at is not None
    assert task.finished_at is not None and task.finished_at - task.created_at == pytest.approx(25.0, abs=0.5)


def _tasks(board: Any) -> list[Any]:
    store = board.store
    assert isinstance(store, MemoryTaskStore)
    return list(store.tasks.values())


async def test_a_result_arriving_when_nothing_is_going_on_makes_the_bot_text_first_with_it(
    scene_factory: Factory, chat_model: FakeOpenAIServer, rig: TaskRig,
) -> None:
    rig.slow_answers(120.0, ANSWER)
    chat = await scene_factory(responder=lambda clock: OpenAIResponder(client(chat_model), "m", clock))
    rig.attach(chat)
    # The stream responder calls no tools: the task is started as an actions session would start it.
    await rig.build(chat.clock).create(chat.key, "think", {"question": QUESTION})
    chat_model.replies("ok so about your loan question\npay it off first honestly")
    await chat.clock.run_until(lambda: bool(chat.outlet.sent), limit=400)
    await chat.until_quiet()

    assert chat.bot_texts() == ["ok so about your loan question", "pay it off first honestly"]
    system = chat_model.last_messages()[0]["content"]
    assert ANSWER in system and "once" in system
    assert chat.outlet.sent[0].at - 1_000.0 >= 120.0, "only after the slow model answered"
    [task] = _tasks(rig.board)
    assert task.delivered_at is not None


async def test_a_result_arriving_while_a_stream_reply_is_typed_waits_for_it_and_is_told_next(
    scene_factory: Factory,
) -> None:
    chat = await scene_factory(script=lambda r: ["ok so about that", "pay the loan"] if "ready" in r.system
                               else ["haha yes", "the goal was unreal"])
    await chat.says("did you see the game")
    await chat.clock.run_until(lambda: any(kind == "typing_start" for kind, _, _ in chat.trace))
    chat.engine.submit(TaskResult(chat.key, "t9", "think", ANSWER))
    chat.engine.submit(TaskResult(chat.key, "t9", "think", ANSWER))  # the same result again (a re-send): told once
    await chat.until_quiet()

    assert chat.bot_texts() == ["haha yes", "the goal was unreal", "ok so about that", "pay the loan"]
    first, second = chat.responder.requests
    assert ANSWER not in first.system and ANSWER in second.system
    assert unanswered_texts(second) == [] and [line.text for line in second.history][-2:] == chat.bot_texts()[:2]


async def test_check_task_tells_the_model_how_a_task_stands_and_its_result_once_done(
    scene_factory: Factory, chat_model: FakeOpenAIServer, rig: TaskRig,
) -> None:
    rig.slow_answers(20.0, ANSWER)
    chat_model.replies(
        calls(call("create_task", kind="think", args={"question": QUESTION}), call("check_task", task_id="t1"),
              call("check_task", task_id="t77"), call("append", text="thinking about it!"), call("push")),
        calls(call("done")),
    )
    chat = await scene_factory(responder=rig.actions(chat_model))
    board = rig.attach(chat)
    await chat.says(QUESTION)
    await chat.until_quiet()
    _, running, unknown, *_ = chat_model.tool_results(1)
    assert running == {"draft": "", "new_messages": [], "task_id": "t1", "kind": "think", "status": "running"}
    assert unknown["error"] == "no task 't77' in this chat"
    assert (await board.check(chat.key, "t1")) is not None

    await chat.clock.run_until(lambda: len(chat.outlet.sent) == 2, limit=60)
    await chat.until_quiet()
    task = await board.check(chat.key, "t1")
    assert task is not None and task.view() == {"task_id": "t1", "kind": "think", "status": "done", "result": ANSWER}


async def test_a_kind_that_does_not_exist_or_bad_arguments_are_the_models_to_read_about(
    scene_factory: Factory, chat_model: FakeOpenAIServer, rig: TaskRig,
) -> None:
    chat_model.replies(
        calls(call("create_task", kind="weather", args={}), call("create_task", kind="remind", args={"what": "x"}),
              call("create_task", kind="think", args={"question": ""})),
        calls(call("done")),
    )
    chat = await scene_factory(responder=rig.actions(chat_model))
    rig.attach(chat)
    await chat.says("hm")
    await chat.until_quiet()
    errors = [r.get("error", "") for r in chat_model.tool_results(1)[:3]]
    assert errors[0].startswith("kind must be one of think, remind")
    assert errors[1].startswith("remind needs in_minutes") and errors[2].startswith("think needs question")
    assert rig.slow.request_count == 0 and _tasks(rig.board) == []
    enum = chat_model.requests[0]["tools"][-2]["function"]["parameters"]["properties"]["kind"]["enum"]
    assert enum == ["think", "remind"]


def test_a_task_result_crosses_the_workers_hand_over_as_itself() -> None:
    result = TaskResult(ConversationKey("telegram", "42"), "t3", "remind", "call your mom", is_group=True, at=5.0)
    assert wire.load(json.loads(json.dumps(wire.dump(result)))) == result
