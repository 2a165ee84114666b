"""An actor's mailbox: items handled strictly in order by one task that exists only while there is work,
and one timer that posts a tick."""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from bot.core.clock import Clock
from bot.core.tasks import cancel_and_wait

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Tick:
    """The timer went off (or the actor was woken)."""


class Mailbox(Generic[T]):
    """Inbox, drain task and timer of one actor; subclasses implement `handle` and may `prepare`."""

    def __init__(self, name: str, clock: Clock) -> None:
        self.name = name
        self.clock = clock
        self.inbox: deque[tuple[T | Tick, asyncio.Future[None] | None]] = deque()
        self.task: asyncio.Task[None] | None = None
        self._timer: asyncio.Task[None] | None = None
        self._timer_at: float | None = None
        self.last_active = clock.now()
        self.closed = False

    async def handle(self, item: T | Tick) -> None:
        """Handle one item (the subclass's logic)."""
        raise NotImplementedError

    async def prepare(self) -> None:
        """Called before each item (a subclass restores itself here once)."""

    def enqueue(self, item: T | Tick, done: asyncio.Future[None] | None = None) -> None:
        """Queue an item; `done` resolves once it was handled (or carries why it could not be)."""
        if self.closed:  # shutting down: not received, so a platform may deliver it again after the restart
            if done is not None and not done.done():
                done.set_exception(RuntimeError("the conversation is shutting down"))
            return
        self.inbox.append((item, done))
        if self.task is None or self.task.done():
            # No task while idle: an idle conversation costs only its state, not a parked coroutine.
            self.task = asyncio.create_task(self._drain(), name=f"actor:{self.name}")

    def wake(self) -> None:
        """Post a tick now."""
        self.enqueue(Tick())

    @property
    def draining(self) -> bool:
        """True while items wait or are being handled."""
        return bool(self.inbox) or (self.task is not None and not self.task.done())

    @property
    def timer_set(self) -> bool:
        """True while a tick is scheduled."""
        return self._timer is not None and not self._timer.done()

    async def _drain(self) -> None:
        while self.inbox:
            item, done = self.inbox.popleft()
            try:
                await self.prepare()
                await self.handle(item)
            except Exception as exc:
                log.exception("conversation %s failed to handle %s", self.name, type(item).__name__)
                if done is not None and not done.done():
                    done.set_exception(exc)  # not counted as received: the platform may redeliver it
            finally:
                if done is not None and not done.done():
                    done.set_result(None)
        self.last_active = self.clock.now()

    def schedule(self, at: float) -> None:
        """Post a tick at `at`; replaces any earlier timer."""
        if not math.isfinite(at):  # a bad setting must never spin the loop: decide again a second from now
            log.warning("conversation %s asked to wake at %r; waking in 1 s instead", self.name, at)
            at = self.clock.now() + 1.0
        if self._timer is not None and not self._timer.done():
            if self._timer_at == at:
                return
            self._timer.cancel()
        self._timer_at = at
        self._timer = asyncio.create_task(self._fire(at), name=f"timer:{self.name}")

    async def _fire(self, at: float) -> None:
        await self.clock.sleep(at - self.clock.now())
        self.enqueue(Tick())

    async def close_mailbox(self, finish: Callable[[T | Tick], bool] = lambda item: False) -> None:
        """Take no more items; cancel the timer and the drain task; handle the queued items `finish` picks
        (records of what already happened), drop the rest."""
        self.closed = True
        await cancel_and_wait(self._timer)
        await cancel_and_wait(self.task)
        queued, self.inbox = list(self.inbox), deque()
        for item, _ in queued:
            if finish(item):
                try:
                    await self.handle(item)
                except Exception:
                    log.exception("conversation %s failed to record %s on close", self.name, type(item).__name__)


def new_done() -> asyncio.Future[None]:
    """A future for `enqueue` whose failure never goes unretrieved (the caller who cares awaits it)."""
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    done.add_done_callback(lambda f: None if f.cancelled() else f.exception())
    return done
