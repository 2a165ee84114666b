"""The `actions` responder on the real openai client against the fake Chat Completions server, for scenes."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import openai

from bot.core.clock import VirtualClock
from bot.core.events import HumanMessage
from bot.llm.actions import ActionResponder
from bot.llm.model_errors import RetryPolicy
from bot.llm.tool_model import ToolModel
from tests.fakes.openai_server import FakeOpenAIServer
from tests.kit import ChatScene

_ids = itertools.count(1)


def actions(server: FakeOpenAIServer, *, stream: bool = False, attempts: int = 2) -> Callable[[VirtualClock], Any]:
    """A factory of the actions responder for a scene's clock, talking to `server`."""

    def make(clock: VirtualClock) -> ActionResponder:
        client = openai.AsyncOpenAI(base_url=server.url, api_key="sk-test", max_retries=0, timeout=2.0)
        return ActionResponder(ToolModel(client, "test-model", clock, RetryPolicy(attempts, backoff=1.0),
                                         stream=stream))

    return make


async def human_writes(chat: ChatScene, text: str) -> None:
    """The human sends a message while the model is thinking (no virtual time passes: the clock is held)."""
    await chat.engine.receive(HumanMessage(chat.key, f"mid{next(_ids)}", chat.human_author, text))


def notes(chat: ChatScene, prefix: str = "action_") -> list[tuple[str, dict[str, Any]]]:
    """The session's steps on the timeline, in order."""
    return [(kind, data) for kind, _, data in chat.trace if kind.startswith(prefix)]


def tools_offered(body: dict[str, Any]) -> list[str]:
    """The tool names one request offered the model."""
    return [tool["function"]["name"] for tool in body.get("tools", [])]
