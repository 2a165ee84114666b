"""Long-horizon jobs: follow-ups the bot promised and double texts, timed by APScheduler on the bot's database.

A `follow_up` row is the job's truth; APScheduler's SQLAlchemy job store holds its timer, so both survive
a restart. A job fires by submitting a `Nudge` event to the engine of the job's platform; the actor drops
it if the human has written meanwhile. A human message cancels every scheduled job of its conversation
(in the same transaction that stores the message), and a job fires at most once: firing first flips
its row from "scheduled" to "fired".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler, run_in_event_loop
from sqlalchemy import func
from sqlmodel import col, select, update

from bot.core.events import ConversationKey, Nudge
from bot.storage.models import (
    DOUBLE_TEXT,
    FIRED,
    FOLLOW_UP,
    HUMAN,
    SCHEDULED,
    SCHEDULER_TABLE,
    Conversation,
    FollowUp,
    Message,
)
from bot.storage.sql_store import SqlStore
from bot.storage.url import create_sync_engine
from policies.promises import detect_follow_up

log = logging.getLogger(__name__)
MISSED = "missed"
NOT_CONNECTED_RETRY = 60.0  # seconds before a job whose platform is not running looks again
Submit = Callable[[Nudge], object]

def follow_up_note(kind: str, topic: str) -> str:
    """What the model is told when a job fires."""
    if kind == DOUBLE_TEXT:
        return ("They have not answered your last message for a while. Send one short, casual double text to "
                "get the chat going again; do not repeat yourself and do not sound needy.")
    about = f" about {topic}" if topic else ""
    return (f"Earlier you said you would check in{about}, and they have not written since. Text them first now, "
            "briefly and in your usual style, asking how it went. Do not say you were reminded.")


@dataclass(frozen=True)
class JobSettings:
    """When long-horizon jobs fire, in seconds."""

    follow_up_after: float = 20 * 3600.0  # "talk tomorrow" → about this much later
    double_text_after: float | None = None  # silence after the bot's last message; None: never double text
    misfire_grace: float = 6 * 3600.0  # a job due while the bot was down still runs once if at most this late


class SturdyScheduler(AsyncIOScheduler):  # type: ignore[misc]
    """AsyncIOScheduler that keeps waking up after a job store error (SQLite busy) instead of going quiet."""

    @run_in_event_loop  # type: ignore[untyped-decorator]
    def wakeup(self) -> None:
        """Run due jobs and set the next wake-up; on a job store error, try again shortly."""
        self._stop_timer()
        try:
            wait_seconds = self._process_jobs()
        except Exception:
            log.exception("the job store failed; retrying in %ss", self.jobstore_retry_interval)
            wait_seconds = self.jobstore_retry_interval
        self._start_timer(wait_seconds)


_active: LongJobs | None = None


async def run_job(follow_up_id: int) -> None:
    """APScheduler's entry point (stored by reference, so it survives restarts)."""
    if _active is None:
        log.warning("follow-up %s came due with no job runner started", follow_up_id)
        return
    await _active.fire(follow_up_id)


def job_id(follow_up_id: int) -> str:
    """The APScheduler job id of a follow-up row."""
    return f"follow-up-{follow_up_id}"


class LongJobs:
    """Schedules, cancels and fires long-horizon jobs; listens to the store for what the bot said."""

    def __init__(self, store: SqlStore, database_url: str, settings: JobSettings | None = None) -> None:
        self.store = store
        self.settings = settings or JobSettings()
        jobstore = SQLAlchemyJobStore(engine=create_sync_engine(database_url), tablename=SCHEDULER_TABLE)
        self.scheduler = SturdyScheduler(
            jobstores={"default": jobstore}, timezone=UTC,
            job_defaults={"misfire_grace_time": int(self.settings.misfire_grace), "coalesce": True,
                          "max_instances": 1},
        )
        self.targets: dict[str, Submit] = {}

    def connect(self, platform: str, submit: Submit) -> None:
        """Deliver this platform's jobs through `submit` (its engine's submit)."""
        self.targets[platform] = submit

    async def start(self, paused: bool = False) -> None:
        """Start the scheduler (jobs due while the bot was down run now, once) and listen to the store."""
        global _active
        _active = self
        self.store.listeners.append(self)
        self.scheduler.start(paused=paused)
        await self._reconcile()

    async def shutdown(self) -> None:
        """Stop the scheduler; persisted jobs stay for the next start."""
        global _active
        if self in self.store.listeners:
            self.store.listeners.remove(self)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler shuts down on the loop's next turn
        if _active is self:
            _active = None

    async def schedule(self, key: ConversationKey, kind: str, due: float, topic: str = "") -> int:
        """Persist a job and its timer; returns the follow-up id."""
        cid = await self.store.conversation_id(key)
        async with self.store.session() as s:
            row = FollowUp(conversation_id=cid, kind=kind, topic=topic[:256], created_at=self.store.now(), due_at=due)
            s.add(row)
            await s.flush()
            assert row.id is not None
            follow_up_id = row.id
        await self._set_timer(follow_up_id, due)
        return follow_up_id

    async def _set_timer(self, follow_up_id: int, due: float) -> None:
        await asyncio.to_thread(
            self.scheduler.add_job, run_job, "date", run_date=datetime.fromtimestamp(due, UTC),
            args=[follow_up_id], id=job_id(follow_up_id), replace_existing=True,
            name=f"textbot follow-up {follow_up_id}",
        )

    async def part_delivered(self, key: ConversationKey, text: str, at: float) -> None:
        """The bot said something: a promise to come back schedules a follow-up; silence may get a double text."""
        cid = await self.store.conversation_id(key)
        if await self._texted_first_since_human(cid):
            return  # at most one unprompted text per silence
        topic = detect_follow_up(text)
        if topic is not None:
            await self.schedule(key, FOLLOW_UP, at + self.settings.follow_up_after, topic)
        if self.settings.double_text_after is not None:
            await self._double_text(key, cid, at + self.settings.double_text_after)

    async def _texted_first_since_human(self, cid: int) -> bool:
        async with self.store.session() as s:
            last_human = (await s.exec(select(func.max(Message.created_at)).where(
                Message.conversation_id == cid, Message.direction == HUMAN))).one()
            last_nudge = (await s.exec(select(func.max(FollowUp.done_at)).where(
                FollowUp.conversation_id == cid, FollowUp.state == FIRED))).one()
        return last_nudge is not None and (last_human is None or last_nudge >= last_human)

    async def _double_text(self, key: ConversationKey, cid: int, due: float) -> None:
        async with self.store.session() as s:
            conv = await s.get(Conversation, cid)
            if conv is None or conv.kind != "dm":
                return  # double texting a group is not a thing
            row = (await s.exec(select(FollowUp).where(
                FollowUp.conversation_id == cid, FollowUp.kind == DOUBLE_TEXT, FollowUp.state == SCHEDULED))).first()
            existing = row.id if row is not None else None
            if row is not None:
                row.due_at = due  # the silence starts again from this part
        if existing is not None:
            await self._set_timer(existing, due)
        else:
            await self.schedule(key, DOUBLE_TEXT, due)

    async def follow_ups_dropped(self, key: ConversationKey, follow_up_ids: list[int]) -> None:
        """The human wrote first (or the chat was reset): remove the timers too."""
        for follow_up_id in follow_up_ids:
            await asyncio.to_thread(self._remove_timer, follow_up_id)

    def _remove_timer(self, follow_up_id: int) -> None:
        with contextlib.suppress(JobLookupError):  # it had fired, or was never set
            self.scheduler.remove_job(job_id(follow_up_id))

    async def fire(self, follow_up_id: int) -> bool:
        """Run a due job once: claim its row, then nudge its conversation. False if it did not fire."""
        now = self.store.now()
        async with self.store.session() as s:
            row = await s.get(FollowUp, follow_up_id)
            conv = await s.get(Conversation, row.conversation_id) if row is not None else None
        if row is None or conv is None or row.state != SCHEDULED:
            return False  # cancelled because the human wrote first, or already fired
        if now - row.due_at > self.settings.misfire_grace:  # the grace in force now, not when it was set
            await self._close(follow_up_id, MISSED, now)
            return False
        submit = self.targets.get(conv.platform)
        if submit is None:  # its platform is not (yet) running: look again soon
            await self._set_timer(follow_up_id, now + NOT_CONNECTED_RETRY)
            return False
        if not await self._close(follow_up_id, FIRED, now):
            return False  # another run got there first
        key = ConversationKey(conv.platform, conv.chat, conv.thread)
        submit(Nudge(key, row.kind, follow_up_note(row.kind, row.topic), is_group=conv.kind == "group", at=now))
        return True

    async def _close(self, follow_up_id: int, state: str, now: float) -> bool:
        """Move a scheduled row to `state`; False if it was no longer scheduled."""
        async with self.store.session() as s:
            done = await s.exec(update(FollowUp).where(
                col(FollowUp.id) == follow_up_id, col(FollowUp.state) == SCHEDULED).values(state=state, done_at=now))
            return bool(done.rowcount == 1)

    async def _reconcile(self) -> None:
        """Make the timers match the rows: re-set lost timers, drop orphaned ones, give up on long-missed jobs."""
        now = self.store.now()
        async with self.store.session() as s:
            await s.exec(update(FollowUp).where(
                col(FollowUp.state) == SCHEDULED, col(FollowUp.due_at) < now - self.settings.misfire_grace,
            ).values(state=MISSED, done_at=now))
            live = {r.id: r.due_at for r in (await s.exec(select(FollowUp).where(FollowUp.state == SCHEDULED))).all()}
        timers = {j.id for j in await asyncio.to_thread(self.scheduler.get_jobs) if j.id.startswith("follow-up-")}
        for follow_up_id, due in live.items():
            if follow_up_id is not None and job_id(follow_up_id) not in timers:
                await self._set_timer(follow_up_id, due)
        for orphan in timers - {job_id(i) for i in live if i is not None}:
            await asyncio.to_thread(self._remove_timer, int(orphan.removeprefix("follow-up-")))
