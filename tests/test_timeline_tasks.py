"""The timeline shows background tasks as bars: from when the model started one to when it finished."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from bot.core.ports import TraceEvent
from bot.timeline.model import build_lanes
from bot.timeline.svg import render_timeline_svg
from tests.fakes.openai_answers import call, calls
from tests.fakes.openai_server import FakeOpenAIServer
from tests.tasks_kit import TaskRig

Factory = Callable[..., Any]


@pytest.fixture
async def rig() -> AsyncIterator[tuple[FakeOpenAIServer, TaskRig]]:
    async with FakeOpenAIServer() as chat_model, FakeOpenAIServer() as slow:
        made = TaskRig(slow)
        yield chat_model, made
        await made.close()


async def test_a_reminder_is_a_bar_from_the_request_to_when_it_fired_and_the_bot_brings_it_up(
    scene_factory: Factory, rig: tuple[FakeOpenAIServer, TaskRig],
) -> None:
    chat_model, tasks = rig
    chat_model.replies(
        calls(call("create_task", kind="remind", args={"what": "call your mom", "in_minutes": 1}),
              call("append", text="sure, in a minute"), call("push"), call("done")),
        calls(call("append", text="hey!! call your mom"), call("push"), call("done")),
    )
    chat = await scene_factory(responder=tasks.actions(chat_model))
    tasks.attach(chat)
    await chat.says("remind me to call my mom in a minute")
    await chat.until_quiet()
    assert chat.bot_texts() == ["sure, in a minute"]
    await chat.clock.run_until(lambda: len(chat.outlet.sent) == 2, limit=120)
    await chat.until_quiet()

    assert chat.bot_texts() == ["sure, in a minute", "hey!! call your mom"]
    reminded = chat_model.requests[-1]["messages"][0]["content"]
    assert "it is time to remind them: call your mom" in reminded, "the session was started with the reminder"
    events = [TraceEvent(kind, at, data) for kind, at, data in chat.trace]
    [bar] = [s for s in build_lanes(events).spans if s.lane == "tasks"]
    created = next(at for kind, at, _ in chat.trace if kind == "task_start")
    assert (bar.kind, bar.label, bar.open) == ("task", "remind t1", False)
    assert bar.end - bar.start == pytest.approx(60.0) and bar.start == created
    assert 'class="span task"' in render_timeline_svg(events) and "background tasks" in render_timeline_svg(events)


def test_a_task_still_running_is_an_open_bar_to_the_end_of_the_trace() -> None:
    events = [TraceEvent("human_message", 0.0, {"text": "hm?"}),
              TraceEvent("task_start", 1.0, {"task_id": "t4", "task": "think", "due": None}),
              TraceEvent("part_sent", 9.0, {"text": "let me think"})]
    [bar] = [s for s in build_lanes(events).spans if s.lane == "tasks"]
    assert (bar.start, bar.end, bar.open, bar.label) == (1.0, 9.0, True, "think t4")
