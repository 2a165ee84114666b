"""The real openai client streaming from a local Chat Completions server, through the engine."""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator

import openai
import pytest

from bot.core.config import EngineDeps
from bot.core.engine import Engine
from bot.core.events import Author, ConversationKey, HumanMessage
from bot.core.memory_store import MemoryStore
from bot.core.ports import Line, ReplyRequest, ResponderFailed, Say
from bot.llm.model_errors import RetryPolicy
from bot.llm.openai_responder import OpenAIResponder
from persona import load_persona
from tests.fakes.openai_server import FakeOpenAIServer
from tests.kit import RecordingOutlet, VirtualClock

SECRET = "sk-test-secret-value"


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer() as srv:
        yield srv


def responder(server: FakeOpenAIServer, clock: VirtualClock, attempts: int = 3) -> OpenAIResponder:
    client = openai.AsyncOpenAI(base_url=server.url, api_key=SECRET, max_retries=0, timeout=2.0)
    return OpenAIResponder(client, "test-model", clock, RetryPolicy(attempts=attempts, backoff=1.0))


def request(*said: str) -> ReplyRequest:
    return ReplyRequest(system="You are Sunny.", history=(), max_parts=4, max_part_chars=200, limit=2000,
                        unanswered=tuple(Line("human", s, 0.0) for s in said))


async def collect(r: OpenAIResponder, req: ReplyRequest) -> list[str]:
    return [i.text async for i in r.reply(req) if isinstance(i, Say)]


async def test_streamed_lines_become_parts(server: FakeOpenAIServer) -> None:
    server.replies("omg hi\nyes i saw it\nwbu?")
    parts = await collect(responder(server, VirtualClock()), request("heyyy", "saw your story?"))
    assert parts == ["omg hi", "yes i saw it", "wbu?"]
    sent = server.last_messages()
    assert sent[0]["role"] == "system" and "You are Sunny." in sent[0]["content"]
    assert [m["content"] for m in sent[1:]] == ["heyyy", "saw your story?"]
    assert server.requests[-1]["stream"] is True


async def test_429_and_5xx_are_retried_with_backoff_on_the_clock(
    server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    clock = VirtualClock()
    server.fail_next(429, retry_after=2)
    server.fail_next(502)
    server.replies("back!")
    caplog.set_level(logging.INFO)
    r = responder(server, clock)
    parts = await collect_with_clock(clock, r)
    assert parts == ["back!"]
    assert server.request_count == 3
    warnings = [rec for rec in caplog.records if rec.levelno == logging.WARNING]
    assert len(warnings) == 1, "a failure streak is logged once"
    assert SECRET not in caplog.text


async def collect_with_clock(clock: VirtualClock, r: OpenAIResponder) -> list[str]:
    import asyncio

    task = asyncio.create_task(collect(r, request("hi")))
    await clock.run_until(task.done, limit=120)
    return task.result()


async def test_a_model_that_stays_down_raises_after_bounded_retries(server: FakeOpenAIServer) -> None:
    clock = VirtualClock()
    server.fail_next(500, times=5)
    with pytest.raises(ResponderFailed):
        await collect_with_clock(clock, responder(server, clock, attempts=3))
    assert server.request_count == 3


async def test_a_hanging_model_times_out_and_is_retried(server: FakeOpenAIServer) -> None:
    clock = VirtualClock()
    server.hang_next()
    server.replies("sorry, slow day")
    r = responder(server, clock)
    r.client = r.client.with_options(timeout=0.3)
    assert await collect_with_clock(clock, r) == ["sorry, slow day"]


async def test_a_burst_through_the_engine_and_the_real_client(server: FakeOpenAIServer) -> None:
    clock = VirtualClock()
    outlet = RecordingOutlet(clock)
    server.reply_with(lambda messages: "ugh i wish\nlike i could just disappear" if len(messages) == 4 else "?")
    deps = EngineDeps(clock=clock, responder=responder(server, clock), outlet=outlet, store=MemoryStore(),
                      persona=load_persona("sunny"), turn="fixed:3", rng=random.Random(1))
    engine = Engine(deps)
    key = ConversationKey("test", "c")
    human = Author("u", "Alex")
    try:
        for i, text in enumerate(["heyyy", "saw your story?", "what's up???"]):
            await engine.receive(HumanMessage(key, f"h{i}", human, text))
            await clock.advance(2)
        await clock.run_until(lambda: len(outlet.sent) == 2, limit=60)
        assert [s.text for s in outlet.sent] == ["ugh i wish", "like i could just disappear"]
        assert server.request_count == 1
    finally:
        await engine.close()
