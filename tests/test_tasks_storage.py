"""Background tasks in the database: a reminder survives a restart and fires once; a result is told once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from sqlmodel import col, select

from bot.core.background import DONE, SCHEDULED, TaskBoard
from bot.core.ports import ReplyRequest
from bot.core.reminders import RemindKind
from bot.storage.jobs import LongJobs
from bot.storage.sql_store import SqlStore
from bot.storage.task_table import TaskRow
from bot.storage.tasks import SchedulerTimers, SqlTaskStore, fire_task
from tests.kit import ChatScene, unanswered_texts

pytest_plugins = ("tests.storage_kit",)


def answer(request: ReplyRequest) -> list[str]:
    if request.unanswered:
        return ["sure, i'll remind you"]
    return ["hey!! don't forget to call your mom"]


@asynccontextmanager
async def bot_process(database_url: str) -> AsyncIterator[tuple[ChatScene, TaskBoard, LongJobs]]:
    """One run of the bot on this database: a scene, the follow-up scheduler (paused) and a task board."""
    scene = ChatScene(script=answer, overrides={"timing": {"debounce": 1}},
                      store=lambda clock: SqlStore.open(database_url, clock=clock))
    store = scene.store
    assert isinstance(store, SqlStore)
    jobs = LongJobs(store, database_url)
    await jobs.start(paused=True)
    timers = SchedulerTimers(jobs.scheduler)
    board = TaskBoard(SqlTaskStore(store), scene.clock, [RemindKind()], timers, trace=scene.engine.deps.trace)
    timers.serve(board)
    scene.engine.deps.tasks = board
    board.connect(scene.key.platform, scene.engine.submit)
    try:
        await scene.setup()
        await board.start()
        yield scene, board, jobs
    finally:
        await board.close()
        await jobs.shutdown()
        await scene.close()
        await store.close()


async def rows(database_url: str) -> list[TaskRow]:
    store = SqlStore.open(database_url)
    try:
        async with store.session() as s:
            return list((await s.exec(select(TaskRow).order_by(col(TaskRow.id)))).all())
    finally:
        await store.close()


async def test_a_reminder_survives_a_restart_fires_once_and_is_brought_up_once(database_url: str) -> None:
    async with bot_process(database_url) as (chat, board, jobs):
        await chat.says("remind me to call my mom in half an hour")
        await chat.until_quiet()
        task = await board.create(chat.key, "remind", {"what": "call your mom", "in_minutes": 30})
        timer = jobs.scheduler.get_job("task-t1")
        assert timer is not None and timer.next_run_time == datetime.fromtimestamp(task.due_at or 0, UTC)
    [row] = await rows(database_url)
    assert (row.kind, row.status, row.due_at, row.delivered_at) == ("remind", SCHEDULED, row.created_at + 1800, None)

    async with bot_process(database_url) as (chat, board, jobs):
        assert jobs.scheduler.get_job("task-t1") is not None, "the timer was kept in APScheduler's job store"
        await fire_task("t1")  # what APScheduler calls when it comes due
        await fire_task("t1")  # a second run of the same timer does nothing
        await chat.clock.run_until(lambda: bool(chat.outlet.sent))
        await chat.until_quiet()

        assert chat.bot_texts() == ["hey!! don't forget to call your mom"]
        [nudged] = chat.responder.requests
        assert unanswered_texts(nudged) == [] and "call your mom" in nudged.system
        [row] = await rows(database_url)
        assert row.status == DONE and row.delivered_at is not None and row.finished_at is not None
        assert [kind for kind, _, _ in chat.trace if kind.startswith("task_")] == ["task_done", "task_told"]

    async with bot_process(database_url) as (chat, _, _):
        await chat.until_quiet()
        assert chat.bot_texts() == [], "told once: a third start sends nothing"


async def test_a_result_finished_while_no_platform_ran_is_told_after_the_restart(database_url: str) -> None:
    async with bot_process(database_url) as (chat, board, _):
        board.targets.clear()  # the platform is not connected: the result cannot be handed over
        await board.create(chat.key, "remind", {"what": "take the cake out", "at": "1970-01-01T00:00:00Z"})
        await chat.clock.run_until(lambda: not board._running)
        assert chat.bot_texts() == []
    [row] = await rows(database_url)
    assert row.status == DONE and row.delivered_at is None

    async with bot_process(database_url) as (chat, _, _):
        await chat.clock.run_until(lambda: bool(chat.outlet.sent))
        await chat.until_quiet()
        assert len(chat.bot_texts()) == 1
        assert "take the cake out" in chat.responder.requests[0].system
    [row] = await rows(database_url)
    assert row.delivered_at is not None


