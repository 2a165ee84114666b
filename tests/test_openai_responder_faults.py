"""Broken and runaway streams through the real openai client: the human gets a reply or the persona's line."""

from __future__ import annotations

import asyncio
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
from tests.fakes.openai_server import MALFORMED, FakeOpenAIServer
from tests.kit import RecordingOutlet, VirtualClock


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer() as srv:
        yield srv


def responder(server: FakeOpenAIServer, clock: VirtualClock, attempts: int = 3) -> OpenAIResponder:
    client = openai.AsyncOpenAI(base_url=server.url, api_key="sk-test", max_retries=0, timeout=5.0)
    return OpenAIResponder(client, "test-model", clock, RetryPolicy(attempts=attempts, backoff=1.0))


def request(max_parts: int = 4, max_part_chars: int = 200, limit: int = 2000) -> ReplyRequest:
    return ReplyRequest(system="You are Sunny, texting a friend.", history=(), max_parts=max_parts,
                        max_part_chars=max_part_chars, limit=limit, unanswered=(Line("human", "heyyy", 0.0),))


async def collect(clock: VirtualClock, r: OpenAIResponder, req: ReplyRequest | None = None) -> list[str]:
    async def run() -> list[str]:
        return [i.text async for i in r.reply(req or request()) if isinstance(i, Say)]

    task = asyncio.create_task(run())
    await clock.run_until(task.done, limit=120)
    return task.result()


@pytest.mark.parametrize("kind", MALFORMED)
async def test_a_malformed_stream_is_retried_and_the_reply_arrives(
    server: FakeOpenAIServer, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = VirtualClock()
    server.malformed_next(kind)
    server.replies("hal", "omg hi\nwbu?")
    parts = await collect(clock, responder(server, clock))
    if kind == "no_choices":  # a chunk without choices carries no text: the same stream goes on
        assert parts == ["hal"] and server.request_count == 1
        return
    assert parts == ["omg hi", "wbu?"]
    assert server.request_count == 2
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, "the broken stream is logged at once, in one line"
    assert "hal" not in warnings[0] and "heyyy" not in warnings[0], "no reply or request text in the log"


@pytest.mark.parametrize("kind", ["bad_json", "bad_utf8", "string_choices"])
async def test_a_stream_that_stays_malformed_ends_in_responder_failed(server: FakeOpenAIServer, kind: str) -> None:
    clock = VirtualClock()
    server.malformed_next(kind, times=3)
    with pytest.raises(ResponderFailed):
        await collect(clock, responder(server, clock, attempts=3))
    assert server.request_count == 3


async def test_the_human_gets_the_persona_line_when_every_stream_is_malformed(server: FakeOpenAIServer) -> None:
    clock = VirtualClock()
    outlet = RecordingOutlet(clock)
    server.malformed_next("string_choices", times=3)
    persona = load_persona("sunny")
    deps = EngineDeps(clock=clock, responder=responder(server, clock), outlet=outlet, store=MemoryStore(),
                      persona=persona, turn="fixed:3", rng=random.Random(1))
    engine = Engine(deps)
    try:
        await engine.receive(HumanMessage(ConversationKey("test", "c"), "h1", Author("u", "Alex"), "heyyy"))
        await clock.run_until(lambda: len(outlet.sent) == 1, limit=120)
        assert [s.text for s in outlet.sent] == [persona.line("llm_down")]
        assert server.request_count == 3
    finally:
        await engine.close()


async def test_each_request_caps_tokens_and_stops_where_the_model_would_play_the_human(
    server: FakeOpenAIServer,
) -> None:
    clock = VirtualClock()
    await collect(clock, responder(server, clock), request(max_parts=5, max_part_chars=160))
    sent = server.requests[-1]
    assert sent["max_tokens"] == 5 * 160 // 3 + 16
    assert "\nUser:" in sent["stop"] and "<|im_end|>" in sent["stop"]
    await collect(clock, responder(server, clock), request(max_parts=12, max_part_chars=2000))
    assert server.requests[-1]["max_tokens"] == 400, "never more than the responder's ceiling"


async def test_a_runaway_reply_is_cut_at_the_cap_and_its_stream_closed() -> None:
    async with FakeOpenAIServer(chunk_size=1_000, chunk_delay=0.002) as server:
        clock = VirtualClock()
        server.replies("\n".join(["so anyway " * 20] * 25_000))  # ~5 MB
        parts = await collect(clock, responder(server, clock), request(max_parts=5, max_part_chars=160))
        assert len(parts) == 5 and all(len(p) <= 2000 for p in parts)
        assert sum(map(len, parts)) <= 5 * 2000
        async with asyncio.timeout(5):
            while server.streams_cut_short == 0:
                await asyncio.sleep(0.01)


async def test_wrapping_quotes_and_assistant_speak_are_taken_off_the_models_lines(server: FakeOpenAIServer) -> None:
    clock = VirtualClock()
    server.replies('Sunny: "omg hi"\nAs an AI, i love that\nAssistant:\nwbu?<|im_end|>')
    assert await collect(clock, responder(server, clock)) == ["omg hi", "i love that", "wbu?"]
