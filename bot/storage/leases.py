"""Leases and the hand-over queue in PostgreSQL, for several worker processes on one database.

A worker's row says it is alive until `expires_at`; every lease it holds is valid exactly as long,
so one UPDATE per heartbeat renews them all. Every time is the database's own clock
(`clock_timestamp()`), so workers on hosts whose clocks disagree still agree on who is alive.
Taking a lease is one conditional statement (insert, or overwrite a holder that is no longer
alive), so two workers can never both succeed. Events for a conversation owned elsewhere wait in
`handover`; the owner takes them in order with `FOR UPDATE SKIP LOCKED` and deletes them in the
same transaction once they are stored, so a worker that dies meanwhile leaves them for the next owner.
Each hand-over also NOTIFYs a channel the owners LISTEN on, so they look at once rather than on a poll.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, delete, select, update

from bot.core.events import ConversationKey
from bot.storage import replies
from bot.storage.database import Database
from bot.storage.models import BOT, HUMAN, PLANNED, RECEIVED, UNCONFIRMED, Conversation, Message
from bot.storage.worker_tables import HandoverRow, LeaseRow, WorkerRow

DUTY = "duty:"
CHANNEL = "textbot_handover"  # NOTIFY'd when an event is handed over, so owners need not wait for their poll
STARTING = 0x74657874626F74  # the advisory lock workers take in turn while they start ("textbot")
FORGET_WORKERS_AFTER = 3600.0  # seconds a dead worker's row is kept (for `textbot` operators to look at)


def db_now() -> sa.ColumnElement[float]:
    """The database's clock, in seconds since the epoch."""
    return sa.cast(sa.extract("epoch", sa.func.clock_timestamp()), sa.Float)


def conversation_lease(key: ConversationKey) -> str:
    """The lease name of a conversation (JSON, so any id reads back unchanged)."""
    return json.dumps([key.platform, key.chat, key.thread], ensure_ascii=False)


def duty_lease(name: str) -> str:
    """The lease name of a duty only one worker does at a time (Telegram's long polling)."""
    return DUTY + name


def conversation_of(lease: str) -> ConversationKey | None:
    """The conversation a lease name stands for; None for a duty."""
    if lease.startswith(DUTY):
        return None
    platform, chat, thread = json.loads(lease)
    return ConversationKey(str(platform), str(chat), str(thread))


@asynccontextmanager
async def starting_alone(db: Database) -> AsyncIterator[None]:
    """Hold PostgreSQL's advisory lock while this worker starts, so workers started together do not race to
    create the same tables (APScheduler creates its job table when its scheduler starts)."""
    async with db.engine.connect() as conn:
        await conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": STARTING})
        try:
            yield
        finally:
            await conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": STARTING})


def _alive() -> Any:
    return select(WorkerRow.id).where(col(WorkerRow.expires_at) > db_now())


@dataclass
class Claim:
    """Hand-over rows taken for this worker; the ids in `done` are deleted when the claim ends."""

    rows: list[HandoverRow]
    done: list[int] = field(default_factory=list)


class Leases:
    """Worker liveness, leases and the hand-over queue on the bot's database (PostgreSQL)."""

    def __init__(self, db: Database, ttl: float) -> None:
        self.db = db
        self.ttl = ttl

    async def register(self, slot: int, slots: int) -> str:
        """A new worker row, alive for one lease period; returns its id."""
        worker_id = f"{slot}-{uuid.uuid4().hex[:12]}"
        async with self.db.session() as s:
            await s.exec(insert(WorkerRow).values(
                id=worker_id, slot=slot, slots=slots, host=socket.gethostname()[:255], pid=os.getpid(),
                started_at=db_now(), expires_at=db_now() + self.ttl))
        return worker_id

    async def renew(self, worker_id: str) -> bool:
        """Extend this worker's life (and so its leases); False if it had already expired: its leases are void."""
        async with self.db.session() as s:
            done = await s.exec(update(WorkerRow).where(
                col(WorkerRow.id) == worker_id, col(WorkerRow.expires_at) > db_now(),
            ).values(expires_at=db_now() + self.ttl))
            return bool(done.rowcount == 1)

    async def retire(self, worker_id: str) -> None:
        """Expire this worker now, so others take its leases at their next heartbeat instead of after a timeout."""
        async with self.db.session() as s:
            await s.exec(update(WorkerRow).where(col(WorkerRow.id) == worker_id).values(expires_at=0.0))

    async def live_workers(self) -> list[str]:
        """The ids of the workers alive now, in a stable order."""
        async with self.db.session() as s:
            return sorted((await s.exec(_alive())).all())

    async def acquire(self, lease: str, worker_id: str) -> bool:
        """Make `worker_id` the holder unless a live worker else holds it; True if it now holds it."""
        values = insert(LeaseRow).values(name=lease, worker_id=worker_id, acquired_at=db_now())
        stmt = values.on_conflict_do_update(
            index_elements=["name"],
            set_={"worker_id": values.excluded.worker_id, "acquired_at": values.excluded.acquired_at},
            where=(col(LeaseRow.worker_id) == values.excluded.worker_id) | col(LeaseRow.worker_id).not_in(_alive()),
        ).returning(col(LeaseRow.worker_id))
        async with self.db.session() as s:
            return (await s.exec(stmt)).first() is not None

    async def holder(self, lease: str) -> str | None:
        """The live worker holding `lease`, if any."""
        async with self.db.session() as s:
            return (await s.exec(select(LeaseRow.worker_id).where(
                col(LeaseRow.name) == lease, col(LeaseRow.worker_id).in_(_alive())))).first()

    async def dead_leases(self, limit: int = 1000) -> list[tuple[str, str]]:
        """(lease, holder) of leases whose holder is no longer alive, oldest first."""
        async with self.db.session() as s:
            rows = (await s.exec(select(LeaseRow.name, LeaseRow.worker_id).where(
                col(LeaseRow.worker_id).not_in(_alive())).order_by(col(LeaseRow.acquired_at)).limit(limit))).all()
        return [(name, holder) for name, holder in rows]

    async def take(self, lease: str, dead: str, worker_id: str) -> bool:
        """Move a lease from a dead holder to `worker_id`; False if another worker got there first."""
        async with self.db.session() as s:
            done = await s.exec(update(LeaseRow).where(
                col(LeaseRow.name) == lease, col(LeaseRow.worker_id) == dead, col(LeaseRow.worker_id).not_in(_alive()),
            ).values(worker_id=worker_id, acquired_at=db_now()))
            return bool(done.rowcount == 1)

    async def forget_dead_workers(self) -> None:
        """Delete the rows of workers long dead that hold nothing."""
        async with self.db.session() as s:
            await s.exec(delete(WorkerRow).where(
                col(WorkerRow.expires_at) < db_now() - FORGET_WORKERS_AFTER,
                col(WorkerRow.id).not_in(select(LeaseRow.worker_id))))

    async def needing_an_answer(self) -> list[ConversationKey]:
        """Conversations with unanswered messages or a reply cut short (whoever holds them)."""
        unanswered = select(Message.conversation_id).where(Message.direction == HUMAN, Message.state == RECEIVED)
        async with self.db.session() as s:
            rows = (await s.exec(select(Conversation).where(
                col(Conversation.id).in_(unanswered) | col(Conversation.id).in_(replies.cut_short_conversations()),
            ).order_by(col(Conversation.id)))).all()
        return [ConversationKey(r.platform, r.chat, r.thread) for r in rows]

    async def settle(self, key: ConversationKey) -> None:
        """What the crash recovery does, for one conversation a worker takes on: parts left "planned" by its
        last owner may or may not have gone out, so they become "unconfirmed" (never repeated, never history)."""
        cid = await self.db.existing_id(key)
        if cid is None:
            return
        async with self.db.session() as s:
            await s.exec(update(Message).where(
                col(Message.conversation_id) == cid, col(Message.direction) == BOT, col(Message.state) == PLANNED,
            ).values(state=UNCONFIRMED, dropped_at=db_now(), drop_reason="its worker stopped before it was sent"))

    async def hand_over(self, lease: str, payload: dict[str, Any]) -> None:
        """Queue an event for the conversation's owner (committed when this returns)."""
        async with self.db.session() as s:
            s.add(HandoverRow(lease=lease, payload=payload, created_at=self.db.now()))
            await s.exec(select(sa.func.pg_notify(CHANNEL, "")))  # delivered when this commits

    @asynccontextmanager
    async def notified(self) -> AsyncIterator[asyncio.Event]:
        """An event set whenever something is handed over (LISTEN on a connection of its own)."""
        woken = asyncio.Event()
        conn = await asyncpg.connect(self.db.engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False))
        try:
            await conn.add_listener(CHANNEL, lambda *_: woken.set())
            yield woken
        finally:
            await conn.close()

    @asynccontextmanager
    async def claimed(self, worker_id: str, limit: int) -> AsyncIterator[Claim]:
        """The oldest hand-over rows of conversations `worker_id` holds, locked (others skip them) until the
        block ends; the rows whose ids the block put in `done` are deleted then, the rest stay queued."""
        async with self.db.session() as s:
            rows = list((await s.exec(select(HandoverRow).join(LeaseRow, col(LeaseRow.name) == col(HandoverRow.lease))
                                      .where(col(LeaseRow.worker_id) == worker_id).order_by(col(HandoverRow.id))
                                      .limit(limit).with_for_update(skip_locked=True, of=HandoverRow))).all())
            claim = Claim(rows)
            yield claim
            if claim.done:
                await s.exec(delete(HandoverRow).where(col(HandoverRow.id).in_(claim.done)))
