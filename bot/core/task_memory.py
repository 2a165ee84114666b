"""Tasks kept in memory and timed on the Clock: the board's store and timers for tests, benches and the duet."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from bot.core.background import DONE, FAILED, RUNNING, SCHEDULED, TaskRecord
from bot.core.clock import Clock
from bot.core.events import ConversationKey
from bot.core.tasks import cancel_and_wait


class MemoryTaskStore:
    """TaskStore in a dict (nothing survives the process)."""

    def __init__(self) -> None:
        self.tasks: dict[str, TaskRecord] = {}
        self._ids = itertools.count(1)

    async def add(self, key: ConversationKey, kind: str, args: dict[str, Any], status: str, at: float,
                  is_group: bool, due_at: float | None) -> TaskRecord:
        """Store a new task."""
        task = TaskRecord(f"t{next(self._ids)}", key, kind, dict(args), status, at, is_group, due_at=due_at)
        self.tasks[task.task_id] = task
        return task

    async def get(self, task_id: str) -> TaskRecord | None:
        """The task with this id."""
        return self.tasks.get(task_id)

    async def finish(self, task_id: str, status: str, result: str, at: float) -> bool:
        """Running or scheduled → done/failed."""
        task = self.tasks.get(task_id)
        if task is None or task.status in (DONE, FAILED):
            return False
        self.tasks[task_id] = replace(task, status=status, result=result, finished_at=at)
        return True

    async def start(self, task_id: str, at: float) -> bool:
        """Scheduled → running."""
        task = self.tasks.get(task_id)
        if task is None or task.status != SCHEDULED:
            return False
        self.tasks[task_id] = replace(task, status=RUNNING)
        return True

    async def delivered(self, task_id: str, at: float) -> None:
        """The result was taken."""
        task = self.tasks.get(task_id)
        if task is not None and task.delivered_at is None:
            self.tasks[task_id] = replace(task, delivered_at=at)

    async def unfinished(self) -> list[TaskRecord]:
        """Running or scheduled tasks."""
        return [t for t in self.tasks.values() if t.status in (RUNNING, SCHEDULED)]

    async def undelivered(self) -> list[TaskRecord]:
        """Finished tasks whose result was never taken."""
        return [t for t in self.tasks.values() if t.status in (DONE, FAILED) and t.delivered_at is None]


class ClockTimers:
    """Timers that sleep on the Clock (virtual in tests), each a kept task; `fire` is the board's."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.fire: Callable[[str], Awaitable[None]] | None = None
        self._timers: dict[str, asyncio.Task[None]] = {}

    async def set(self, task_id: str, due: float) -> None:
        """Fire `task_id` at `due` (at once if it is past)."""
        await cancel_and_wait(self._timers.pop(task_id, None))
        self._timers[task_id] = asyncio.create_task(self._wait(task_id, due), name=f"task-timer:{task_id}")

    async def _wait(self, task_id: str, due: float) -> None:
        await self.clock.sleep(due - self.clock.now())
        self._timers.pop(task_id, None)
        if self.fire is not None:
            await self.fire(task_id)

    async def close(self) -> None:
        """Drop every timer."""
        for timer in list(self._timers.values()):
            await cancel_and_wait(timer)
        self._timers.clear()
