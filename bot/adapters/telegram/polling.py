"""Long polling that confirms an update to Telegram only once the engine has stored it.

How PTB's own Updater confirms: Telegram forgets every update below the `offset` of a getUpdates
call. `Updater.start_polling` puts a fetched batch on `Application.update_queue` and at once
long-polls again with offset = last update_id + 1, so a batch is confirmed as soon as it has been
*fetched*, whether its handlers have run, finished or failed. `concurrent_updates` off and
`block=True` only serialise the handlers; they do not hold the offset back. A crash between that
next getUpdates and the handler storing the message would lose the message for good.

What this poller does instead: it hands each update to the Application's update processor itself
(`ChatOrder`: in order per chat, chats concurrently) and keeps the offset at the oldest update whose
handler has not finished. The handlers await `engine.receive`, which returns once the message is
stored, so nothing is confirmed before it is stored. After a crash Telegram sends the unconfirmed
updates again: the store drops messages it already has, edits are idempotent, and a command that had
already run may run once more (a second "hi" for /start). When the store write fails, the handler
says so (`unstored`): that update is not confirmed, and it is handled again from Telegram's next
answer after a backoff (other chats go on meanwhile). Any other handler failure is logged and
confirmed: one poisoned update must not stall the bot. Neither must one the bot cannot read:
batches are read one update at a time (`updates.py`), and an unreadable update is logged (its id
and the field at fault, never its text) and confirmed with the rest. Updates still in flight at
shutdown are given `drain_timeout` seconds, then left unconfirmed for the next run.

The loop paces its own requests in wall time (asyncio), not on the conversation Clock: it is network
plumbing, and it must keep polling while a test's virtual clock stands still.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import functools
import logging
from collections.abc import Callable

from telegram import Update
from telegram.error import InvalidToken, RetryAfter, TelegramError

from bot.adapters.telegram.delivery import retry_seconds
from bot.adapters.telegram.handlers import TelegramApp
from bot.adapters.telegram.ordering import chat_of
from bot.adapters.telegram.updates import Batch, RawUpdates, Unreadable, read_batch
from bot.core.tasks import cancel_and_wait

log = logging.getLogger(__name__)
ALLOWED_UPDATES = ("message", "edited_message")
REPOLL_PAUSE = 1.0  # seconds; only while every update Telegram returns is already being handled
MAX_BACKOFF = 30.0
FIRST_STORE_RETRY = 0.25  # seconds before an update whose store write failed is handled again
_REMEMBERED_IDLESS = 64


def _never_unstored(update_id: int) -> bool:
    return False


class StoredFirstPoller:
    """getUpdates in a loop; the offset moves past an update only after its handler has stored it."""

    def __init__(
        self, app: TelegramApp, raw: RawUpdates, *, unstored: Callable[[int], bool] = _never_unstored,
        timeout: float = 30.0, drain_timeout: float = 10.0,
    ) -> None:
        self._app = app
        self._raw = raw
        self._unstored = unstored  # pops: True when the handler of that update failed to store it
        self._timeout = timeout
        self._drain_timeout = drain_timeout
        self._offset = 0
        self._newest = 0
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._unhandled: set[int] = set()  # cancelled at shutdown: never confirmed
        self._retry: dict[int, int | None] = {}  # update -> chat: handled again when Telegram resends it
        self._retry_at = 0.0
        self._store_failures = 0
        self._idless_logged: dict[str, None] = {}
        self._failures = 0
        self._webhook_cleared = False

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set; then let in-flight updates finish and confirm them."""
        stopping = asyncio.create_task(stop.wait(), name="telegram-poll-stop")
        try:
            while not stop.is_set():
                polled = self._offset
                batch = await self._fetch(stopping)
                if batch is None:
                    break
                started = self._dispatch(batch)
                if batch.size and not started and self._offset == polled:  # Telegram would answer the same
                    await self._pause(stopping)
        finally:
            await cancel_and_wait(stopping)
            await self._drain()
            await self._confirm()

    async def _fetch(self, stopping: asyncio.Task[bool]) -> Batch | None:
        poll = asyncio.create_task(self._poll(), name="telegram-getUpdates")
        try:
            await asyncio.wait([poll, stopping], return_when=asyncio.FIRST_COMPLETED)
        finally:  # stopped, or this task was cancelled: what the poll would have returned stays unconfirmed
            if not poll.done():
                await cancel_and_wait(poll)
        return None if poll.cancelled() else poll.result()

    async def _poll(self) -> Batch:
        bot = self._app.bot
        try:
            if not self._webhook_cleared:  # getUpdates is refused while a webhook is set
                self._webhook_cleared = await bot.delete_webhook()
            self._raw.take()
            await bot.get_updates(  # returns nothing: `RawUpdates` keeps the batch for read_batch
                offset=self._offset or None, timeout=dtm.timedelta(seconds=self._timeout),
                allowed_updates=ALLOWED_UPDATES)
        except InvalidToken:
            raise
        except RetryAfter as exc:
            await asyncio.sleep(retry_seconds(exc))
            return Batch()
        except TelegramError as exc:
            await self._back_off(exc)
            return Batch()
        if self._failures:
            log.info("Telegram is answering getUpdates again")
        self._failures = 0
        return read_batch(self._raw.take(), bot)

    async def _back_off(self, exc: TelegramError) -> None:
        if not self._failures:
            log.warning("getUpdates failed (%s: %s); retrying with backoff", type(exc).__name__, exc)
        self._failures += 1
        await asyncio.sleep(min(MAX_BACKOFF, 2.0 ** (self._failures - 1)))

    def _dispatch(self, batch: Batch) -> bool:
        """Start the new updates and the retries due; True if any started."""
        for skipped in batch.skipped:
            self._report(skipped)
        due = bool(self._retry) and asyncio.get_running_loop().time() >= self._retry_at
        held = set() if due else set(self._retry.values())
        started = False
        for update in batch.updates:
            update_id, fresh = update.update_id, update.update_id > self._newest
            if fresh and chat_of(update) in held:  # its chat waits for a retry: keep the chat's order
                self._retry[update_id] = chat_of(update)
            elif fresh or (due and update_id in self._retry and update_id not in self._in_flight):
                self._retry.pop(update_id, None)
                self._start(update)
                started = True
        self._newest = max(self._newest, batch.newest)
        self._advance()
        return started

    def _start(self, update: Update) -> None:
        task = asyncio.create_task(self._handle(update), name=f"telegram-update:{update.update_id}")
        self._in_flight[update.update_id] = task
        task.add_done_callback(functools.partial(self._finished, update.update_id, chat_of(update)))

    def _report(self, skipped: Unreadable) -> None:
        if skipped.update_id is not None:
            if skipped.update_id > self._newest:  # first fetch: it comes again while an older one is in flight
                log.warning("skipped Telegram update %s: %s is missing or malformed",
                            skipped.update_id, skipped.problem)
            return
        if skipped.digest in self._idless_logged:
            return
        self._idless_logged[skipped.digest] = None
        if len(self._idless_logged) > _REMEMBERED_IDLESS:
            del self._idless_logged[next(iter(self._idless_logged))]
        log.warning("skipped a Telegram update without a numeric update_id; the offset moves past it with the next one")

    async def _handle(self, update: Update) -> None:
        await self._app.update_processor.process_update(update, self._app.process_update(update))

    def _finished(self, update_id: int, chat: int | None, task: asyncio.Task[None]) -> None:
        del self._in_flight[update_id]
        if task.cancelled():
            self._unhandled.add(update_id)
        elif task.exception() is not None:
            log.error("update %s was not handled", update_id, exc_info=task.exception())
        elif self._unstored(update_id):
            self._hold_for_retry(update_id, chat)
        else:
            self._store_failures = 0
        self._advance()

    def _hold_for_retry(self, update_id: int, chat: int | None) -> None:
        self._retry[update_id] = chat
        self._store_failures += 1
        wait = min(MAX_BACKOFF, FIRST_STORE_RETRY * 2.0 ** (self._store_failures - 1))
        self._retry_at = asyncio.get_running_loop().time() + wait

    def _advance(self) -> None:
        if self._newest:
            self._offset = min((*self._in_flight, *self._unhandled, *self._retry), default=self._newest + 1)

    async def _pause(self, stopping: asyncio.Task[bool]) -> None:
        # Telegram returns unconfirmed updates at once, so re-polling now would spin: wait for one to
        # finish, for a retry to fall due, or a moment (an unreadable update without an id is still there).
        pause = REPOLL_PAUSE
        if self._retry:
            pause = min(pause, max(0.0, self._retry_at - asyncio.get_running_loop().time()))
        waiting = [*self._in_flight.values(), stopping]
        await asyncio.wait(waiting, timeout=pause, return_when=asyncio.FIRST_COMPLETED)

    async def _drain(self) -> None:
        tasks = list(self._in_flight.values())
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=self._drain_timeout)
        for task in late:
            log.warning("an update was still being handled at shutdown; Telegram will send it again")
            await cancel_and_wait(task)

    async def _confirm(self) -> None:
        if not self._offset:
            return
        try:
            await self._app.bot.get_updates(offset=self._offset, timeout=dtm.timedelta(0), limit=1,
                                            allowed_updates=ALLOWED_UPDATES)
        except TelegramError as exc:
            log.warning("could not confirm handled updates at shutdown (%s); they will be deduplicated",
                        type(exc).__name__)
