"""The duplex fast model for scenes: the real openai client against the fake Chat Completions server.

The server's answers are scripted by what the request shows: the burst's text and how many silence
tokens follow it. The model may think a while in virtual time (`latency`), while the human writes again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import openai

from bot.core.clock import VirtualClock
from bot.core.duplex_port import DuplexQuestion
from bot.llm.duplex import OpenAIDuplex, target
from bot.llm.openai_responder import OpenAIResponder
from policies.duplex import SILENCE, asking_ticks
from policies.timing import Timing
from policies.view import ConversationView, Said
from tests.fakes.openai_server import FakeOpenAIServer, Messages

FAST_MODEL = "duplex-model"
Script = Callable[[str, int], str]  # (the burst's text, silence ticks) → the model's answer


def more(rest: str, reply: str = "hmm?") -> str:
    """The model predicts the human still adds `rest`."""
    return target(rest, reply)


def over(reply: str) -> str:
    """The model says the turn is over and drafts `reply`."""
    return target("", reply)


def planned_ticks(text: str, requests: int) -> list[int]:
    """The ticks the policy asks a lone message at, "not done" after "not done" (as a first turn's)."""
    view = ConversationView(pending=(Said(text, 0.0, "u1"),), timing=Timing())
    asked: list[int] = []
    for _ in range(requests):
        due = asking_ticks(view, tuple(asked))
        assert due is not None
        asked.append(due)
    return asked


def burst_and_ticks(messages: Messages) -> tuple[str, int]:
    """The burst a request showed (without its silence tokens) and how many silence ticks followed it."""
    content = str(messages[-1]["content"])
    return content.replace(SILENCE, "").strip(), content.count(SILENCE)


def is_duplex(request: dict[str, Any]) -> bool:
    """A request made by the duplex policy (its rules are in the system prompt)."""
    return "<user_preemptive>" in str(request["messages"][0]["content"])


class SlowDuplex(OpenAIDuplex):
    """The duplex model taking `latency()` virtual seconds to think before the request goes out.

    (The thinking is on the scene's clock rather than in the server, so that a request cancelled meanwhile
    never holds the clock: it is simply never sent.)
    """

    def __init__(self, client: openai.AsyncOpenAI, model: str, clock: VirtualClock,
                 latency: Callable[[], float]) -> None:
        super().__init__(client, model, clock)
        self.latency = latency

    async def ask(self, question: DuplexQuestion, timeout: float) -> str:
        """Think, then ask the server."""
        await self.clock.sleep(self.latency())
        return await super().ask(question, timeout)


@dataclass
class DuplexModel:
    """The fake server as the duplex fast model (and, if a scene wants it, as the main model too)."""

    server: FakeOpenAIServer
    script: Script = lambda burst, ticks: over("ok")
    latency: float = 0.0  # virtual seconds each answer takes
    clients: list[openai.AsyncOpenAI] = field(default_factory=list)

    def duplex(self, clock: VirtualClock) -> OpenAIDuplex:
        """A scene's duplex model: the official client on the scene's clock, pointed at the server."""
        return SlowDuplex(self._client(), FAST_MODEL, clock, latency=lambda: self.latency)

    def responder(self, clock: VirtualClock) -> OpenAIResponder:
        """The main model on the same server, so that every request of the scene is counted in one place."""
        return OpenAIResponder(self._client(), "main-model", clock)

    def _client(self) -> openai.AsyncOpenAI:
        client = openai.AsyncOpenAI(base_url=self.server.url, api_key="sk-test", max_retries=0, timeout=5.0)
        self.clients.append(client)
        return client

    def answer(self, messages: Messages) -> str:
        """The scripted answer."""
        if "<user_preemptive>" not in str(messages[0]["content"]):
            return "a generated reply"  # the main model: a test that counts requests sees it
        return self.script(*burst_and_ticks(messages))

    def asked(self) -> list[tuple[str, int]]:
        """(burst, ticks) of every duplex request, in order."""
        return [burst_and_ticks(r["messages"]) for r in self.server.requests if is_duplex(r)]

    async def close(self) -> None:
        """Close every client, then the server."""
        for client in self.clients:
            await client.close()
        await self.server.stop()


async def duplex_model() -> AsyncIterator[DuplexModel]:
    """Fixture body (`fast = pytest.fixture(duplex_model)`): a started fake duplex model, closed after the test."""
    model = DuplexModel(FakeOpenAIServer())
    await model.server.start()
    model.server.reply_with(model.answer)
    try:
        yield model
    finally:
        await model.close()
