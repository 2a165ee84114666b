"""The fake OpenAI server scripts tool calls the way the real openai client reads them, streamed and not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from openai import AsyncOpenAI

from bot.core.clock import VirtualClock
from bot.llm.action_tools import TOOLS
from bot.llm.tool_model import ToolModel, ToolRequest
from tests.fakes.openai_answers import ToolCall, call, calls
from tests.fakes.openai_server import FakeOpenAIServer

MESSAGES: list[dict[str, Any]] = [{"role": "user", "content": "hi there"}]


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer() as fake:
        yield fake


@pytest.fixture
async def client(server: FakeOpenAIServer) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(base_url=server.url, api_key="test", max_retries=0) as c:
        yield c


async def test_a_scripted_tool_call_arrives_whole_with_its_id_name_and_json_arguments(
    server: FakeOpenAIServer, client: AsyncOpenAI,
) -> None:
    server.replies(calls(call("append", text="héllo \"you\""), call("push"), content="thinking"))
    completion = await client.chat.completions.create(model="m", messages=MESSAGES, tools=TOOLS)  # type: ignore[arg-type]

    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content == "thinking"
    made = [(c.function.name, c.function.arguments) for c in choice.message.tool_calls or []]  # type: ignore[union-attr]
    assert made == [("append", '{"text": "h\\u00e9llo \\"you\\""}'), ("push", "{}")]
    ids = [c.id for c in choice.message.tool_calls or []]
    assert len(set(ids)) == 2 and all(ids)
    assert [t["function"]["name"] for t in server.requests[0]["tools"]] == [t["function"]["name"] for t in TOOLS]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_the_tool_model_reads_several_calls_and_broken_arguments_exactly_as_sent(
    server: FakeOpenAIServer, client: AsyncOpenAI, stream: bool,
) -> None:
    server.replies(calls(call("append", text="a fairly long text to split in pieces"), ToolCall("check", '{"sec'),
                         content="hm"))
    step = await ToolModel(client, "m", VirtualClock(), stream=stream).step(MESSAGES, TOOLS)

    assert step.content == "hm"
    assert [(c.name, c.arguments) for c in step.calls] == [
        ("append", '{"text": "a fairly long text to split in pieces"}'), ("check", '{"sec')]
    assert all(isinstance(c, ToolRequest) and c.call_id.startswith("call_") for c in step.calls)
    assert server.requests[0]["stream"] is stream


async def test_tool_results_reads_back_what_the_client_sent_after_the_last_answer(
    server: FakeOpenAIServer, client: AsyncOpenAI,
) -> None:
    messages: list[dict[str, Any]] = [
        *MESSAGES,
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "push", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": '{"draft": "", "sent": true}'},
    ]
    await client.chat.completions.create(model="m", messages=messages, tools=TOOLS)  # type: ignore[arg-type]
    assert server.tool_results() == [{"draft": "", "sent": True}]
