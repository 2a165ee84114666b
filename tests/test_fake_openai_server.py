"""The fake OpenAI server speaks the protocol the real openai client expects."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import openai
import pytest
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam

from tests.fakes.openai_server import FakeOpenAIServer

MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi there"}]


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer() as fake:
        yield fake


@pytest.fixture
async def client(server: FakeOpenAIServer) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(base_url=server.url, api_key="test", max_retries=0) as c:
        yield c


async def collect(client: AsyncOpenAI) -> tuple[list[str], list[str | None]]:
    """Stream one completion; return the content deltas and the finish reasons seen."""
    stream = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    deltas: list[str] = []
    finishes: list[str | None] = []
    async for chunk in stream:
        assert chunk.object == "chat.completion.chunk"
        deltas.append(chunk.choices[0].delta.content or "")
        finishes.append(chunk.choices[0].finish_reason)
    return deltas, finishes


async def test_streams_scripted_reply_in_chunks(
    server: FakeOpenAIServer, client: AsyncOpenAI
) -> None:
    server.reply_with(lambda msgs: f"you said: {msgs[-1]['content']}\nbye")
    deltas, finishes = await collect(client)
    assert "".join(deltas) == "you said: hi there\nbye"
    assert all(len(d) <= 4 for d in deltas) and len(deltas) > 3
    assert finishes[-1] == "stop" and set(finishes[:-1]) == {None}
    assert server.request_count == 1
    assert server.requests[0]["stream"] is True
    assert server.last_messages() == MESSAGES


async def test_fixed_replies_then_default(server: FakeOpenAIServer, client: AsyncOpenAI) -> None:
    server.replies("first", "second")
    texts = ["".join((await collect(client))[0]) for _ in range(3)]
    assert texts == ["first", "second", "ok"]


async def test_non_streamed_reply(server: FakeOpenAIServer, client: AsyncOpenAI) -> None:
    server.replies("hello there")
    completion = await client.chat.completions.create(model="m", messages=MESSAGES)
    assert completion.choices[0].message.content == "hello there"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "m"
    models = await client.models.list()
    assert [m.id for m in models.data] == ["fake-model"]


async def test_rate_limit_then_success(server: FakeOpenAIServer, client: AsyncOpenAI) -> None:
    server.fail_next(429, retry_after=2)
    with pytest.raises(openai.RateLimitError) as info:
        await collect(client)
    assert info.value.response.headers["retry-after"] == "2"
    assert info.value.code == "rate_limit_exceeded"
    assert "".join((await collect(client))[0]) == "ok"
    assert server.request_count == 2


async def test_server_error(server: FakeOpenAIServer, client: AsyncOpenAI) -> None:
    server.fail_next(500, times=2, body="boom")
    for _ in range(2):
        with pytest.raises(openai.InternalServerError, match="boom"):
            await client.chat.completions.create(model="m", messages=MESSAGES)


async def test_hang_makes_client_time_out(server: FakeOpenAIServer) -> None:
    server.hang_next()
    async with AsyncOpenAI(
        base_url=server.url, api_key="test", max_retries=0, timeout=0.2
    ) as client:
        with pytest.raises(openai.APITimeoutError):
            await collect(client)
        assert "".join((await collect(client))[0]) == "ok"


async def test_hold_keeps_generation_in_flight(
    server: FakeOpenAIServer, client: AsyncOpenAI
) -> None:
    server.replies("held reply")
    server.hold()
    task = asyncio.create_task(collect(client))
    await server.wait_for_requests(1)
    for _ in range(20):
        await asyncio.sleep(0)
    assert not task.done()
    server.release()
    deltas, _ = await asyncio.wait_for(task, 5)
    assert "".join(deltas) == "held reply"


async def test_stop_ends_held_and_hung_requests() -> None:
    server = FakeOpenAIServer()
    url = await server.start()
    client = AsyncOpenAI(base_url=url, api_key="test", max_retries=0, timeout=5)
    server.hang_next()
    hung = asyncio.create_task(collect(client))
    await server.wait_for_requests(1)
    await asyncio.wait_for(server.stop(), 5)
    with pytest.raises(openai.APIError):
        await hung
    await client.close()
