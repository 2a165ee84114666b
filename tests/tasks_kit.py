"""Background tasks in scenes: a task board on the scene's clock, the think kind on a fake slow model, and the
actions responder with the task tools, all through the real openai client."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import openai

from bot.core.background import TaskBoard, TaskKind, TaskStore
from bot.core.clock import VirtualClock
from bot.core.reminders import RemindKind
from bot.core.task_memory import ClockTimers, MemoryTaskStore
from bot.llm.actions import ActionResponder
from bot.llm.model_errors import RetryPolicy
from bot.llm.task_tools import task_tools
from bot.llm.thinking import ThinkKind
from bot.llm.tool_model import ToolModel
from tests.fakes.openai_server import FakeOpenAIServer, Messages
from tests.kit import ChatScene


def client(server: FakeOpenAIServer) -> openai.AsyncOpenAI:
    """The real client, pointed at a fake server."""
    return openai.AsyncOpenAI(base_url=server.url, api_key="sk-test", max_retries=0, timeout=5.0)


@dataclass
class TaskRig:
    """What a scene's tasks run on: the board (made with the scene's clock) and its timers."""

    slow: FakeOpenAIServer  # the slow model the think kind asks
    store: TaskStore = field(default_factory=MemoryTaskStore)
    board: TaskBoard | None = None
    timers: ClockTimers | None = None
    clock: VirtualClock | None = None
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def build(self, clock: VirtualClock) -> TaskBoard:
        """The board on this clock (once)."""
        if self.board is None:
            self.clock = clock
            self.timers = ClockTimers(clock)
            think = ThinkKind(client(self.slow), "slow-model", clock, RetryPolicy(2, backoff=1.0))
            kinds: list[TaskKind] = [think, RemindKind()]
            self.board = TaskBoard(self.store, clock, kinds, self.timers)
            self.timers.fire = self.board.fire
        return self.board

    def actions(self, chat_model: FakeOpenAIServer) -> Callable[[VirtualClock], ActionResponder]:
        """A factory of the actions responder with create_task and check_task, for a scene's clock."""

        def make(clock: VirtualClock) -> ActionResponder:
            model = ToolModel(client(chat_model), "test-model", clock, RetryPolicy(2, backoff=1.0))
            return ActionResponder(model, tools=task_tools(self.build(clock)))

        return make

    def attach(self, chat: ChatScene) -> TaskBoard:
        """Results go to this scene's engine."""
        board = self.build(chat.clock)
        chat.engine.deps.tasks = board
        board.trace = chat.engine.deps.trace
        board.connect(chat.key.platform, chat.engine.submit)
        return board

    def slow_answers(self, seconds: float, text: str) -> None:
        """The slow model takes `seconds` of the scene's virtual time to answer each think task with `text`."""

        async def thinking(messages: Messages) -> str:
            assert self.clock is not None
            waiting = asyncio.ensure_future(self.clock.elapse(seconds))
            stopping = asyncio.ensure_future(self.stopping.wait())  # the test ends: let the server stop
            await asyncio.wait([waiting, stopping], return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
            stopping.cancel()
            return text

        self.slow.reply_with(thinking)

    async def close(self) -> None:
        """Stop running tasks and timers."""
        self.stopping.set()
        if self.board is not None:
            await self.board.close()
        if self.timers is not None:
            await self.timers.close()


def told(results: list[dict[str, Any]]) -> list[str]:
    """What these tool results said came from "task" (a finished task's result)."""
    return [m["text"] for r in results for m in r.get("new_messages", []) if m.get("from") == "task"]
