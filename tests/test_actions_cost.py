"""What a human turn costs in model requests under `stream` and under `actions`, on the same scripted scenes.

The human side of each scene is the same for every responder; the model side is scripted three ways for
`actions`: one tool call per answer (the most a careful model spends), one text (append + push) per
answer, and everything in one answer (parallel tool calls). Run with -s to print each count.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import openai
import pytest

from bot.core.clock import VirtualClock
from bot.llm.model_errors import RetryPolicy
from bot.llm.openai_responder import OpenAIResponder
from tests.actions_kit import actions
from tests.fakes.openai_answers import Answer, ToolCall, call, calls
from tests.fakes.openai_server import FakeOpenAIServer
from tests.kit import ChatScene

Factory = Callable[..., Any]
Reply = str | Answer


def per_call(*steps: ToolCall) -> list[Reply]:
    return [calls(step) for step in steps]


def text(words: str) -> list[ToolCall]:
    return [call("append", text=words), call("push")]


# scene -> responder style -> what the model answers, in order
SCRIPTS: dict[str, dict[str, list[Reply]]] = {
    "a two-part answer": {
        "stream": ["yess\nwhere tho"],
        "actions, a call per answer": per_call(*text("yess"), *text("where tho"), call("done")),
        "actions, a text per answer": [calls(*text("yess")), calls(*text("where tho")), calls(call("done"))],
        "actions, all in one answer": [calls(*text("yess"), *text("where tho"), call("done"))],
    },
    "interrupted while typing": {
        "stream": ["yess\nwhere tho", "aw ok\ntomorrow?"],
        "actions, a call per answer": per_call(*text("yess"), call("reset"), *text("aw ok"), *text("tomorrow?"),
                                               call("done")),
        "actions, a text per answer": [calls(*text("yess")), calls(call("reset"), *text("aw ok")),
                                       calls(*text("tomorrow?")), calls(call("done"))],
        "actions, all in one answer": [calls(*text("yess"), *text("where tho"), call("done")),
                                       calls(call("reset"), *text("aw ok"), *text("tomorrow?"), call("done"))],
    },
    "nothing to say": {
        "stream": [""],
        **{style: [calls(call("stay_silent"))] for style in (
            "actions, a call per answer", "actions, a text per answer", "actions, all in one answer")},
    },
}
SEEN = {"a two-part answer": ["yess", "where tho"], "interrupted while typing": ["aw ok", "tomorrow?"],
        "nothing to say": []}
STYLES = list(SCRIPTS["a two-part answer"])
# requests per scene, in the order of STYLES (the README's table)
REQUESTS = {"a two-part answer": [1, 5, 3, 1], "interrupted while typing": [2, 8, 4, 2], "nothing to say": [1, 1, 1, 1]}


@pytest.fixture
async def model() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer() as server:
        yield server


def stream(server: FakeOpenAIServer) -> Callable[[VirtualClock], OpenAIResponder]:
    def make(clock: VirtualClock) -> OpenAIResponder:
        client = openai.AsyncOpenAI(base_url=server.url, api_key="sk-test", max_retries=0, timeout=2.0)
        return OpenAIResponder(client, "test-model", clock, RetryPolicy(2, backoff=1.0))

    return make


async def play(chat: ChatScene, scene: str) -> None:
    """The human's side, the same whatever answers."""
    first = {"a two-part answer": "wanna get food later?", "interrupted while typing": "wanna get food later?",
             "nothing to say": "lol"}[scene]
    await chat.says(first)
    if scene == "interrupted while typing":
        await chat.clock.run_until(lambda: any(kind == "typing_start" for kind, _, _ in chat.trace))
        await chat.says("actually can't tonight")
    await chat.until_quiet()


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("scene", list(SCRIPTS))
async def test_requests_per_human_turn(scene_factory: Factory, model: FakeOpenAIServer, scene: str,
                                       style: str) -> None:
    model.replies(*SCRIPTS[scene][style])
    chat = await scene_factory(responder=stream(model) if style == "stream" else actions(model))
    await play(chat, scene)
    sent = sum(len(json.dumps(body.get("messages", []))) + len(json.dumps(body.get("tools", [])))
               for body in model.requests)
    print(f"\n{scene} | {style} | {model.request_count} requests | {sent} characters of prompt and tools sent")

    assert chat.outlet.visible() == SEEN[scene], "the human sees the same, whatever answers"
    assert model.request_count == REQUESTS[scene][STYLES.index(style)]
    assert model.request_count == len(SCRIPTS[scene][style]), "every scripted answer was asked for, no more"
    assert (await chat.store.load(chat.key)).pending == []
