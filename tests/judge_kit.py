"""The fast model's judge for scenes: the real openai client against the fake Chat Completions server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import openai

from bot.core.clock import VirtualClock
from bot.core.events import ConversationKey
from bot.core.ports import Store
from bot.llm.judge import OpenAIJudge
from tests.fakes.openai_answers import Answer, ToolCall, call, calls
from tests.fakes.openai_server import FakeOpenAIServer, Messages

FAST_MODEL = "fast-model"


def rules(choice: str, reason: str = "because") -> Answer:
    """The fast model calls decide_interruption(choice, reason)."""
    return calls(call("decide_interruption", choice=choice, reason=reason))


def joins(choice: str, reason: str = "because") -> Answer:
    """The fast model calls decide_group(choice, reason)."""
    return calls(call("decide_group", choice=choice, reason=reason))


MALFORMED: dict[str, Answer] = {
    "arguments that are not JSON": calls(ToolCall("decide_interruption", '{"choice": "resta')),
    "a choice that is not on the list": rules("maybe"),
    "text instead of the tool": Answer("I think you should restart"),
    "another tool": calls(call("decide_group", choice="respond", reason="x")),
}


class FastModel:
    """The fake Chat Completions server as the fast model, and the judges built on it (closed with it)."""

    def __init__(self, server: FakeOpenAIServer) -> None:
        self.server = server
        self.clients: list[openai.AsyncOpenAI] = []

    def judge(self, clock: VirtualClock) -> OpenAIJudge:
        """A scene's judge: the official client on the scene's clock, pointed at the server."""
        client = openai.AsyncOpenAI(base_url=self.server.url, api_key="sk-fast-test", max_retries=0, timeout=5.0)
        self.clients.append(client)
        return OpenAIJudge(client, FAST_MODEL, clock)

    async def close(self) -> None:
        """Close every client, then the server."""
        for client in self.clients:
            await client.close()
        await self.server.stop()


async def fast_model() -> AsyncIterator[FastModel]:
    """Fixture body (`fast = pytest.fixture(fast_model)`): a started fake fast model, closed after the test."""
    model = FastModel(FakeOpenAIServer())
    await model.server.start()
    try:
        yield model
    finally:
        await model.close()


def late(answer: Answer, real_seconds: float) -> Callable[[Messages], Any]:
    """A reply function that answers only after `real_seconds` of real time (past a small judge_timeout)."""
    async def slow(messages: Messages) -> Answer:
        await asyncio.sleep(real_seconds)
        return answer
    return slow


def judge_requests(server: FakeOpenAIServer, tool: str = "decide_interruption") -> list[dict[str, Any]]:
    """The requests that forced `tool`."""
    return [r for r in server.requests if (r.get("tool_choice") or {}).get("function", {}).get("name") == tool]


def question(request: dict[str, Any]) -> str:
    """What a judge request showed the model about the situation."""
    return str(request["messages"][-1]["content"])


async def traced(store: Store, key: ConversationKey, kind: str) -> list[dict[str, Any]]:
    """The data of every `kind` event on the conversation's stored timeline."""
    return [e.data for e in await store.load_trace(key) if e.kind == kind]


def tool_of(request: dict[str, Any]) -> dict[str, Any]:
    """The one tool a request offered, as sent."""
    [tool] = request["tools"]
    return dict(json.loads(json.dumps(tool)))
