"""Background tasks in the database (the `background_task` table) and their timers in APScheduler's job store.

A row's status is the truth: a timer or a second run finds the row already moved on and does nothing,
so a task fires once and its result is handed to its conversation once, across restarts.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.base import BaseScheduler
from sqlmodel import col, select, update

from bot.core.background import DONE, FAILED, RUNNING, SCHEDULED, TaskBoard, TaskRecord
from bot.core.events import ConversationKey
from bot.storage.database import Database
from bot.storage.models import Conversation
from bot.storage.task_table import TaskRow

log = logging.getLogger(__name__)
TIMER_PREFIX = "task-"


def task_id_of(row_id: int) -> str:
    """The id the model sees for a row."""
    return f"t{row_id}"


def row_id_of(task_id: str) -> int | None:
    """The row of a task id the model gave (None for anything that is not one of ours)."""
    digits = task_id.strip().removeprefix("t")
    return int(digits) if digits.isdigit() and digits.isascii() else None


class SqlTaskStore:
    """TaskStore on the bot's database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, key: ConversationKey, kind: str, args: dict[str, Any], status: str, at: float,
                  is_group: bool, due_at: float | None) -> TaskRecord:
        """Store a new task (its conversation row made if needed)."""
        cid = await self.db.conversation_id(key)
        async with self.db.session() as s:
            row = TaskRow(conversation_id=cid, kind=kind, args=args, status=status, is_group=is_group,
                          created_at=at, due_at=due_at, started_at=at if status == RUNNING else None)
            s.add(row)
            await s.flush()
            assert row.id is not None
            return _record(row, key)

    async def get(self, task_id: str) -> TaskRecord | None:
        """The task with this id."""
        row_id = row_id_of(task_id)
        if row_id is None:
            return None
        async with self.db.session() as s:
            row = await s.get(TaskRow, row_id)
            conv = await s.get(Conversation, row.conversation_id) if row is not None else None
        return None if row is None or conv is None else _record(row, _key(conv))

    async def finish(self, task_id: str, status: str, result: str, at: float) -> bool:
        """Running or scheduled → done/failed, once."""
        return await self._move(task_id, (RUNNING, SCHEDULED), status=status, result=result, finished_at=at)

    async def start(self, task_id: str, at: float) -> bool:
        """Scheduled → running, once."""
        return await self._move(task_id, (SCHEDULED,), status=RUNNING, started_at=at)

    async def delivered(self, task_id: str, at: float) -> None:
        """The conversation took the result."""
        row_id = row_id_of(task_id)
        async with self.db.session() as s:
            await s.exec(update(TaskRow).where(
                col(TaskRow.id) == row_id, col(TaskRow.delivered_at).is_(None)).values(delivered_at=at))

    async def unfinished(self) -> list[TaskRecord]:
        """Running or scheduled tasks."""
        return await self._where(col(TaskRow.status).in_((RUNNING, SCHEDULED)))

    async def undelivered(self) -> list[TaskRecord]:
        """Finished tasks whose result no conversation took."""
        return await self._where(col(TaskRow.status).in_((DONE, FAILED)), col(TaskRow.delivered_at).is_(None))

    async def _move(self, task_id: str, from_states: tuple[str, ...], **values: Any) -> bool:
        row_id = row_id_of(task_id)
        if row_id is None:
            return False
        async with self.db.session() as s:
            moved = await s.exec(update(TaskRow).where(
                col(TaskRow.id) == row_id, col(TaskRow.status).in_(from_states)).values(**values))
            return bool(moved.rowcount == 1)

    async def _where(self, *conditions: Any) -> list[TaskRecord]:
        async with self.db.session() as s:
            rows = (await s.exec(select(TaskRow, Conversation).join(
                Conversation, col(Conversation.id) == col(TaskRow.conversation_id)).where(*conditions)
                .order_by(col(TaskRow.id)))).all()
        return [_record(row, _key(conv)) for row, conv in rows]


def _key(conv: Conversation) -> ConversationKey:
    return ConversationKey(conv.platform, conv.chat, conv.thread)


def _record(row: TaskRow, key: ConversationKey) -> TaskRecord:
    assert row.id is not None
    return TaskRecord(task_id_of(row.id), key, row.kind, dict(row.args), row.status, row.created_at, row.is_group,
                      row.result, row.due_at, row.finished_at, row.delivered_at)


_board: TaskBoard | None = None


async def fire_task(task_id: str) -> None:
    """APScheduler's entry point (stored by reference, so it survives restarts)."""
    if _board is None:
        log.warning("task %s came due with no task board started", task_id)
        return
    await _board.fire(task_id)


class SchedulerTimers:
    """Timers in the scheduler the follow-ups use (its SQLAlchemy job store): a timer survives a restart."""

    def __init__(self, scheduler: BaseScheduler) -> None:
        self.scheduler = scheduler

    def serve(self, board: TaskBoard) -> None:
        """Timers that come due fire tasks on `board`."""
        global _board
        _board = board

    async def set(self, task_id: str, due: float) -> None:
        """Fire `task_id` at `due` (a job due while the bot was down runs when it starts, within the grace)."""
        await asyncio.to_thread(
            self.scheduler.add_job, fire_task, "date", run_date=datetime.fromtimestamp(due, UTC), args=[task_id],
            id=TIMER_PREFIX + task_id, replace_existing=True, name=f"textbot task {task_id}")
