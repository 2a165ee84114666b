"""Background tasks (seed 004): the model starts a task, the chat goes on, and its result comes back as an event.

A task is stored before anything runs it. It is `running` (its kind works now, in a kept asyncio task) or
`scheduled` (a timer fires it at its due time), then `done` or `failed` with a result; `delivered_at` is set
once its conversation took the result into a reply session, so a restart re-sends only what was never taken.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.core.clock import Clock
from bot.core.events import ConversationKey, TaskResult
from bot.core.ports import Tracer
from bot.core.tasks import cancel_and_wait

log = logging.getLogger(__name__)
RUNNING, SCHEDULED, DONE, FAILED = "running", "scheduled", "done", "failed"
RESULT_CHARS = 4_000  # what a session is told of a result; a long think answer is cut here
Submit = Callable[[TaskResult], object]


@dataclass(frozen=True, slots=True)
class TaskRecord:
    """One stored task: what the model asked for, where it stands, and when things happened."""

    task_id: str
    key: ConversationKey
    kind: str
    args: dict[str, Any]
    status: str
    created_at: float
    is_group: bool = False
    result: str = ""
    due_at: float | None = None
    finished_at: float | None = None
    delivered_at: float | None = None

    def view(self) -> dict[str, Any]:
        """What check_task tells the model."""
        shown: dict[str, Any] = {"task_id": self.task_id, "kind": self.kind, "status": self.status}
        if self.status in (DONE, FAILED):
            shown["result"] = self.result[:RESULT_CHARS]
        if self.due_at is not None and self.status == SCHEDULED:
            shown["due_in_seconds"] = round(self.due_at - self.created_at)
        return shown


class TaskStore(Protocol):
    """Where tasks are kept; every write is awaited before the board relies on it."""

    async def add(self, key: ConversationKey, kind: str, args: dict[str, Any], status: str, at: float,
                  is_group: bool, due_at: float | None) -> TaskRecord:
        """Store a new task and give it its id."""
        ...

    async def get(self, task_id: str) -> TaskRecord | None:
        """The task with this id, if there is one."""
        ...

    async def finish(self, task_id: str, status: str, result: str, at: float) -> bool:
        """Move a running or scheduled task to done/failed with its result; False if it had finished already."""
        ...

    async def start(self, task_id: str, at: float) -> bool:
        """A scheduled task came due: it is running now; False if it was not scheduled."""
        ...

    async def delivered(self, task_id: str, at: float) -> None:
        """The conversation took the result into a reply session."""
        ...

    async def unfinished(self) -> list[TaskRecord]:
        """Tasks running or scheduled (after a restart: to run again or to time again)."""
        ...

    async def undelivered(self) -> list[TaskRecord]:
        """Finished tasks whose result no conversation has taken yet."""
        ...


class TaskKind(Protocol):
    """What an operator implements to add a kind: its name, its arguments, when it runs and what it does."""

    name: str
    summary: str  # one sentence for the model: what it does and the args it takes

    def argument_error(self, args: dict[str, Any]) -> str:
        """Why `args` cannot be used ("" when they can)."""
        ...

    def due(self, args: dict[str, Any], now: float) -> float | None:
        """When to run: None for now (in the background), or an instant for a timer."""
        ...

    async def run(self, task: TaskRecord) -> str:
        """Do the work and return the result the conversation will be told; raise to fail the task."""
        ...


class Timers(Protocol):
    """Fires a scheduled task at its due time (APScheduler in the bot, the clock in tests)."""

    async def set(self, task_id: str, due: float) -> None:
        """Call the board's `fire(task_id)` at `due` (and after a restart, if it was missed)."""
        ...


@dataclass
class TaskBoard:
    """Starts, runs, times and finishes tasks, and hands each result to its conversation's engine."""

    store: TaskStore
    clock: Clock
    kinds: Sequence[TaskKind]
    timers: Timers | None = None
    trace: Tracer | None = None
    targets: dict[str, Submit] = field(default_factory=dict)
    _running: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    _writes: set[asyncio.Task[None]] = field(default_factory=set)
    _waiting: list[TaskRecord] = field(default_factory=list)  # finished before their platform was connected

    def kind(self, name: str) -> TaskKind | None:
        """The registered kind of this name."""
        return next((k for k in self.kinds if k.name == name), None)

    def connect(self, platform: str, submit: Submit) -> None:
        """Results for this platform's conversations go to `submit` (its engine's)."""
        self.targets[platform] = submit
        waiting, self._waiting = self._waiting, []
        for task in waiting:
            self._tell(task)

    async def create(self, key: ConversationKey, kind_name: str, args: dict[str, Any],
                     is_group: bool = False) -> TaskRecord:
        """Store a task and start it (now, or on a timer); ValueError if kind or args are unusable."""
        kind = self.kind(kind_name)
        if kind is None:
            raise ValueError(f"there is no task kind {kind_name!r}")
        if error := kind.argument_error(args):
            raise ValueError(error)
        now = self.clock.now()
        due = kind.due(args, now)
        status = RUNNING if due is None else SCHEDULED
        task = await self.store.add(key, kind.name, args, status, now, is_group, due)
        self._note(task, "task_start", now, due=due)
        await self._begin(task)
        return task

    async def check(self, key: ConversationKey, task_id: str) -> TaskRecord | None:
        """The task, if it belongs to this conversation."""
        task = await self.store.get(task_id)
        return task if task is not None and task.key == key else None

    async def fire(self, task_id: str) -> None:
        """A scheduled task came due: run it (once, however often the timer fires)."""
        task = await self.store.get(task_id)
        if task is None or not await self.store.start(task_id, self.clock.now()):
            return
        self._run(task)

    def handed(self, task: TaskResult) -> None:
        """Its conversation took the result into a session: stored in the background, so the actor never waits."""
        at = self.clock.now()
        self._keep(self.store.delivered(task.task_id, at))
        if self.trace is not None:
            self.trace(task.key, "task_told", at, task_id=task.task_id, task=task.task_kind)

    async def start(self) -> None:
        """After a restart: run again what was running, time again what was scheduled, re-send what was not taken."""
        for task in await self.store.unfinished():
            await self._begin(task)
        for task in await self.store.undelivered():
            self._tell(task)

    async def close(self) -> None:
        """Stop running tasks (they run again after a restart) and let stored writes finish."""
        for task in list(self._running.values()):
            await cancel_and_wait(task)
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)

    async def _begin(self, task: TaskRecord) -> None:
        if task.status != SCHEDULED:
            self._run(task)
        elif task.due_at is not None and task.due_at > self.clock.now() and self.timers is not None:
            await self.timers.set(task.task_id, task.due_at)
        else:  # came due while the bot was down (however long ago): it runs now, once
            await self.fire(task.task_id)

    def _run(self, task: TaskRecord) -> None:
        if task.task_id in self._running:
            return
        job = asyncio.create_task(self._work(task), name=f"task:{task.task_id}")
        self._running[task.task_id] = job
        job.add_done_callback(lambda _: self._running.pop(task.task_id, None))

    async def _work(self, task: TaskRecord) -> None:
        kind = self.kind(task.kind)
        try:
            if kind is None:
                raise LookupError(f"no kind {task.kind!r} is registered any more")
            status, result = DONE, await kind.run(task)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a failed task is a result too: the conversation hears it failed
            log.warning("background task %s (%s) failed: %s", task.task_id, task.kind, type(exc).__name__)
            status, result = FAILED, f"it failed ({type(exc).__name__})"
        now = self.clock.now()
        if not await self.store.finish(task.task_id, status, result, now):
            return  # finished already (another run got there first)
        done = TaskRecord(task.task_id, task.key, task.kind, task.args, status, task.created_at, task.is_group,
                          result, task.due_at, now)
        self._note(done, "task_done", now, status=status, result=result[:200])
        self._tell(done)

    def _tell(self, task: TaskRecord) -> None:
        submit = self.targets.get(task.key.platform)
        if submit is None:
            self._waiting.append(task)
            return
        submit(TaskResult(task.key, task.task_id, task.kind, task.result[:RESULT_CHARS], task.is_group))

    def _keep(self, write: Any) -> None:
        job: asyncio.Task[None] = asyncio.ensure_future(write)
        self._writes.add(job)
        job.add_done_callback(self._written)

    def _written(self, job: asyncio.Task[None]) -> None:
        self._writes.discard(job)
        if not job.cancelled() and job.exception() is not None:
            log.warning("could not record a task result as told: %s", type(job.exception()).__name__)

    def _note(self, task: TaskRecord, kind: str, at: float, **data: Any) -> None:
        if self.trace is not None:
            self.trace(task.key, kind, at, task_id=task.task_id, task=task.kind, **data)
