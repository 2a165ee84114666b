"""Fast and slow: while the slow model says nothing, the fast model sends one short holding line, then the reply."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from bot.core.clock import VirtualClock
from bot.core.ports import Line, ReplyRequest
from bot.llm.actions import ActionResponder
from bot.llm.holding import HoldingLines, HoldingResponder
from bot.llm.model_errors import RetryPolicy
from bot.llm.openai_responder import OpenAIResponder
from bot.llm.tool_model import ToolModel
from tests.fakes.openai_answers import Answer, call, calls
from tests.fakes.openai_server import FakeOpenAIServer, Messages
from tests.kit import ChatScene
from tests.tasks_kit import client

Factory = Callable[..., Any]
HOLD = "hmm good question, one sec"


@pytest.fixture
async def models() -> AsyncIterator[tuple[FakeOpenAIServer, FakeOpenAIServer]]:
    """The slow model (the reply) and the fast one (the holding line)."""
    async with FakeOpenAIServer() as slow, FakeOpenAIServer(default_reply=HOLD) as fast:
        yield slow, fast


def holding(slow: FakeOpenAIServer, fast: FakeOpenAIServer, *, actions: bool = False) -> Callable[[VirtualClock], Any]:
    """The stream (or actions) responder on `slow`, wrapped so that `fast` writes a holding line."""

    def make(clock: VirtualClock) -> HoldingResponder:
        inner: Any = (ActionResponder(ToolModel(client(slow), "slow", clock, RetryPolicy(2, backoff=1.0)))
                      if actions else OpenAIResponder(client(slow), "slow", clock))
        return HoldingResponder(inner, HoldingLines(client(fast), "fast", clock), clock, after=2.0)

    return make


def takes(server: FakeOpenAIServer, scene: list[ChatScene], *answers: tuple[float, str | Answer]) -> None:
    """The server answers each request after the given virtual seconds, with the given answer."""
    queue = list(answers)

    async def answer(messages: Messages) -> str | Answer:
        seconds, text = queue.pop(0) if queue else (0.0, "ok")
        if seconds:
            await scene[0].clock.elapse(seconds)
        return text

    server.reply_with(answer)


def held_lines(chat: ChatScene) -> list[str]:
    return [d["text"] for kind, _, d in chat.trace if kind == "holding_line"]


async def test_a_slow_answer_in_a_dm_gets_one_holding_line_first_then_the_reply(
    scene_factory: Factory, models: tuple[FakeOpenAIServer, FakeOpenAIServer],
) -> None:
    slow, fast = models
    scene: list[ChatScene] = []
    takes(slow, scene, (6.0, "ok so honestly\nthe second one, it ages better"))
    chat = await scene_factory(responder=holding(slow, fast))
    scene.append(chat)
    await chat.says("which of the two jackets should i get?")
    await chat.until_quiet()

    assert chat.bot_texts() == [HOLD, "ok so honestly", "the second one, it ages better"]
    assert fast.request_count == 1 and slow.request_count == 1
    started = next(at for kind, at, _ in chat.trace if kind == "generation_start")
    [held_at] = [at for kind, at, _ in chat.trace if kind == "holding_line"]
    [typed_at, *_] = [at for kind, at, _ in chat.trace if kind == "typing_start"]
    assert held_at == started + 2.0, "two seconds of nothing from the slow model"
    assert typed_at < started + 6.0, "they see it typed while the slow model is still thinking"
    system = fast.last_messages()[0]["content"]
    assert "very short text" in system
    assert fast.last_messages()[-1]["content"] == "which of the two jackets should i get?"


async def test_a_quick_answer_gets_no_holding_line_and_costs_no_fast_request(
    scene_factory: Factory, models: tuple[FakeOpenAIServer, FakeOpenAIServer],
) -> None:
    slow, fast = models
    scene: list[ChatScene] = []
    takes(slow, scene, (1.5, "the second one for sure"))
    chat = await scene_factory(responder=holding(slow, fast))
    scene.append(chat)
    await chat.says("which jacket?")
    await chat.until_quiet()

    assert chat.bot_texts() == ["the second one for sure"]
    assert fast.request_count == 0 and held_lines(chat) == []


async def test_an_answer_arriving_while_the_holding_line_is_written_goes_alone(
    scene_factory: Factory, models: tuple[FakeOpenAIServer, FakeOpenAIServer],
) -> None:
    slow, fast = models
    scene: list[ChatScene] = []
    takes(slow, scene, (2.5, "the second one for sure"))
    takes(fast, scene, (1.0, HOLD))  # the fast model needs a second: the answer is there first
    chat = await scene_factory(responder=holding(slow, fast))
    scene.append(chat)
    await chat.says("which jacket?")
    await chat.until_quiet()

    assert chat.bot_texts() == ["the second one for sure"]
    assert fast.request_count == 1 and held_lines(chat) == []


async def test_a_group_that_calls_the_bot_gets_a_holding_line_and_one_that_does_not_never_does(
    scene_factory: Factory, models: tuple[FakeOpenAIServer, FakeOpenAIServer],
) -> None:
    slow, fast = models
    scene: list[ChatScene] = []
    takes(slow, scene, (6.0, "the blue one"))
    chat = await scene_factory(responder=holding(slow, fast))
    scene.append(chat)
    await chat.says("@sunny which one?", is_group=True, addressed=True)
    await chat.until_quiet()
    assert chat.bot_texts() == [HOLD, "the blue one"]

    wrapper = holding(slow, fast)(chat.clock)
    asked = ReplyRequest("You are Sunny.", (), (Line("human", "which one?", 1.0, "Alex"),), 3, 100, 2000,
                         is_group=True, addressed=False)
    assert wrapper.wants_line(asked) is False
    assert wrapper.wants_line(ReplyRequest("You are Sunny.", (), (), 3, 100, 2000)) is False, "nobody waits"


async def test_the_human_writing_after_the_holding_line_revises_the_slow_reply_without_a_second_line(
    scene_factory: Factory, models: tuple[FakeOpenAIServer, FakeOpenAIServer],
) -> None:
    slow, fast = models
    scene: list[ChatScene] = []
    takes(slow, scene, (8.0, "the black one"), (6.0, "oh for a wedding? the navy one then"))
    chat = await scene_factory(responder=holding(slow, fast), interrupt="revise")
    scene.append(chat)
    await chat.says("which jacket?")
    await chat.clock.run_until(lambda: bool(chat.outlet.sent))
    await chat.says("its for a wedding btw")
    await chat.until_quiet()

    assert chat.bot_texts() == [HOLD, "oh for a wedding? the navy one then"]
    assert fast.request_count == 1, "at most one holding line a turn"
    assert slow.request_count == 2
    revised = slow.last_messages()
    assert [m["content"] for m in revised[1:]] == ["which jacket?", HOLD, "its for a wedding btw"]


async def test_with_actions_the_holding_line_goes_first_and_the_sessions_own_parts_keep_their_numbers(
    scene_factory: Factory, models: tuple[FakeOpenAIServer, FakeOpenAIServer],
) -> None:
    slow, fast = models
    scene: list[ChatScene] = []
    takes(slow, scene,
          (5.0, calls(call("append", text="the black one"), call("push"))),
          (0.0, calls(call("undo"))),
          (0.0, calls(call("append", text="no wait, the navy one"), call("push"), call("done"))))
    chat = await scene_factory(responder=holding(slow, fast, actions=True))
    scene.append(chat)
    await chat.says("which jacket?")
    await chat.until_quiet()

    assert [s.text for s in chat.outlet.sent] == [HOLD, "the black one", "no wait, the navy one"]
    assert chat.outlet.visible() == [HOLD, "no wait, the navy one"], "undo took back the session's part, not mine"
    assert slow.tool_results(1)[-1]["sent"] is True
    assert slow.tool_results(2) == [{"draft": "", "new_messages": [], "undid": "message", "text": "the black one"}]
    assert fast.request_count == 1
