"""What the holding line costs on a scripted scene: extra fast-model requests per turn, and what it buys (the
first text the human sees comes sooner on slow turns). `pytest tests/test_holding_cost.py -s` prints the figures."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

import pytest

from bot.core.clock import VirtualClock
from bot.core.ports import Responder
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
# Seconds the slow model takes before its answer, turn by turn: half the turns are quick, half are not.
LATENCIES = (0.8, 3.0, 1.5, 6.0, 1.2, 2.5, 9.0, 0.5, 4.0, 1.8)
SLOW_TURNS = sum(1 for seconds in LATENCIES if seconds > 2.0)


async def run_scene(scene_factory: Factory, kind: str, holding: bool) -> tuple[int, int, list[float], list[float]]:
    """Ten DM turns; returns (fast requests, slow requests, and the seconds from each turn's start to the first
    "typing…" and to the first text)."""
    async with FakeOpenAIServer() as slow, FakeOpenAIServer(default_reply="hmm wait lemme think") as fast:
        scene: list[ChatScene] = []
        turn = {"n": 0}

        async def answer(messages: Messages) -> str | Answer:
            if kind == "actions" and messages[-1].get("role") == "tool":
                return calls(call("done"))  # the step after the push
            await scene[0].clock.elapse(LATENCIES[turn["n"]])
            text = f"answer number {turn['n']}"
            return calls(call("append", text=text), call("push")) if kind == "actions" else text

        slow.reply_with(answer)

        def make(clock: VirtualClock) -> Responder:
            inner: Responder = (ActionResponder(ToolModel(client(slow), "slow", clock, RetryPolicy(2)))
                                if kind == "actions" else OpenAIResponder(client(slow), "slow", clock))
            return HoldingResponder(inner, HoldingLines(client(fast), "fast", clock), clock) if holding else inner

        chat = await scene_factory(responder=make)
        scene.append(chat)
        first_text: list[float] = []
        first_typing: list[float] = []
        for n in range(len(LATENCIES)):
            turn["n"] = n
            before = len(chat.outlet.sent)
            await chat.says(f"question {n}?")
            await chat.until_quiet()
            started = [at for k, at, _ in chat.trace if k == "generation_start"][-1]
            first_text.append(chat.outlet.sent[before].at - started)
            first_typing.append(min(at for at in chat.outlet.typing_at if at >= started) - started)
            await chat.waits(60)
        return fast.request_count, slow.request_count, first_typing, first_text


@pytest.mark.parametrize("kind", ["stream", "actions"])
async def test_the_holding_line_costs_one_fast_request_on_each_slow_turn_and_none_on_quick_ones(
    scene_factory: Factory, kind: str,
) -> None:
    fast, slow, typing_held, held = await run_scene(scene_factory, kind, holding=True)
    _, slow_without, typing_plain, plain = await run_scene(scene_factory, kind, holding=False)

    turns = len(LATENCIES)
    assert fast == SLOW_TURNS and slow == slow_without
    slow_held = [t for t, seconds in zip(held, LATENCIES, strict=True) if seconds > 2.0]
    slow_plain = [t for t, seconds in zip(plain, LATENCIES, strict=True) if seconds > 2.0]
    assert max(slow_held) < max(slow_plain)

    def on_slow(values: list[float]) -> list[float]:
        return [v for v, seconds in zip(values, LATENCIES, strict=True) if seconds > 2.0]

    print(f"\n[{kind}] {turns} turns, {SLOW_TURNS} slower than 2 s: fast requests {fast} "
          f"= {fast / turns:.2f} extra per turn ({fast / SLOW_TURNS:.0f} per slow turn, 0 per quick one); "
          f"slow-model requests {slow} with the holding line, {slow_without} without")
    print(f"[{kind}] slow turns, seconds from the turn's start with / without the holding line: first typing "
          f"median {statistics.median(on_slow(typing_held)):.1f} / {statistics.median(on_slow(typing_plain)):.1f} "
          f"(max {max(on_slow(typing_held)):.1f} / {max(on_slow(typing_plain)):.1f}); first text median "
          f"{statistics.median(slow_held):.1f} / {statistics.median(slow_plain):.1f} "
          f"(max {max(slow_held):.1f} / {max(slow_plain):.1f})")
