"""What the model is sent for a reply, through the real openai client and a local Chat Completions server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import openai
import pytest

from bot.core.clock import VirtualClock
from bot.core.ports import Line, ReplyRequest, Say
from bot.llm.model_errors import RetryPolicy
from bot.llm.openai_responder import OpenAIResponder
from bot.llm.prompt import UNANSWERED_LINES
from tests.fakes.openai_server import FakeOpenAIServer


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer() as srv:
        srv.reply_with(lambda messages: "ok")
        yield srv


async def sent_to_model(server: FakeOpenAIServer, said: list[str], *, is_group: bool = False) -> list[str]:
    """The human's side of the prompt the model received for a reply to `said`."""
    client = openai.AsyncOpenAI(base_url=server.url, api_key="sk-test", max_retries=0, timeout=5.0)
    responder = OpenAIResponder(client, "test-model", VirtualClock(), RetryPolicy(attempts=1))
    request = ReplyRequest(system="You are Sunny.", history=(Line("human", "earlier chat", 0.0),), max_parts=3,
                           max_part_chars=200, limit=2000, is_group=is_group,
                           unanswered=tuple(Line("human", s, 1.0, author="Alex") for s in said))
    parts = [i.text async for i in responder.reply(request) if isinstance(i, Say)]
    assert parts == ["ok"]
    return [str(m["content"]) for m in server.last_messages()[1:]]


async def test_a_flood_of_a_thousand_messages_sends_the_newest_thirty_and_says_how_many_were_left_out(
    server: FakeOpenAIServer,
) -> None:
    flood = [f"spam {i}" for i in range(1000)]
    sent = await sent_to_model(server, flood)
    assert sent[0] == "earlier chat", "history is still there"
    assert sent[1] == "(…and 970 earlier messages)"
    assert sent[2:] == flood[-UNANSWERED_LINES:]


async def test_a_normal_burst_is_sent_whole_with_no_note(server: FakeOpenAIServer) -> None:
    burst = [f"line {i}" for i in range(UNANSWERED_LINES)]
    assert await sent_to_model(server, burst) == ["earlier chat", *burst]


async def test_one_line_over_the_bound_is_noted_in_the_singular_and_group_authors_are_kept(
    server: FakeOpenAIServer,
) -> None:
    burst = [f"line {i}" for i in range(UNANSWERED_LINES + 1)]
    sent = await sent_to_model(server, burst, is_group=True)
    assert sent[1] == "(…and 1 earlier message)"
    assert sent[2] == "Alex: line 1" and sent[-1] == f"Alex: line {UNANSWERED_LINES}"
