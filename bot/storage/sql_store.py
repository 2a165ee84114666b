"""The Store port on SQLAlchemy async sessions (SQLite through aiosqlite, PostgreSQL through asyncpg)."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import Any, Protocol

from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.clock import Clock
from bot.core.events import Author, ConversationKey, HumanMessage
from bot.core.ports import HISTORY_LIMIT, Line, StoredConversation, TraceEvent
from bot.storage.models import (
    ANSWERED,
    BOT,
    CANCELLED,
    DELETED,
    HUMAN,
    PLANNED,
    RECEIVED,
    SCHEDULED,
    SENT,
    UNCONFIRMED,
    ChatSettings,
    Conversation,
    FollowUp,
    Message,
    RhythmRow,
    TraceRow,
)
from bot.storage.url import create_store_engine
from policies.view import Rhythm

log = logging.getLogger(__name__)


class StoreListener(Protocol):
    """Told what the store has just committed (the long-horizon jobs listen)."""

    async def part_delivered(self, key: ConversationKey, text: str, at: float) -> None:
        """A bot part was recorded as sent."""
        ...

    async def follow_ups_dropped(self, key: ConversationKey, follow_up_ids: list[int]) -> None:
        """These scheduled follow-ups were cancelled (the human wrote first) or forgotten."""
        ...


class SqlStore:
    """Durable conversations: every method commits before it returns."""

    def __init__(self, engine: AsyncEngine, clock: Clock | None = None) -> None:
        self.engine = engine
        self.clock = clock
        self.listeners: list[StoreListener] = []
        self._sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
        self._ids: dict[ConversationKey, tuple[int, str]] = {}

    @classmethod
    def open(cls, database_url: str, clock: Clock | None = None) -> SqlStore:
        """A store on a plain DATABASE_URL (the schema must be migrated: see bot.storage.migrate)."""
        return cls(create_store_engine(database_url), clock)

    async def close(self) -> None:
        """Release the connections."""
        await self.engine.dispose()

    def now(self) -> float:
        """The core's clock when one was given, else wall time."""
        return self.clock.now() if self.clock is not None else time.time()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """One transaction, committed on exit; a virtual clock stands still meanwhile."""
        hold: AbstractAsyncContextManager[Any] = self.clock.hold() if self.clock is not None else nullcontext()
        async with hold, self._sessions.begin() as session:
            yield session

    def _insert(self, table: Any) -> Any:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(table)

    async def conversation_id(self, key: ConversationKey, kind: str | None = None) -> int:
        """The conversation's row id, created on first use; `kind` ("dm"/"group") is kept up to date."""
        known = self._ids.get(key)
        if known is not None and (kind is None or known[1] == kind):
            return known[0]
        async with self.session() as s:
            stmt = self._insert(Conversation).values(
                platform=key.platform, chat=key.chat, thread=key.thread, kind=kind or "dm", created_at=self.now()
            ).on_conflict_do_nothing(index_elements=["platform", "chat", "thread"])
            await s.exec(stmt)
            row = (await s.exec(select(Conversation).where(
                Conversation.platform == key.platform, Conversation.chat == key.chat,
                Conversation.thread == key.thread))).one()
            if kind is not None and row.kind != kind:
                row.kind = kind
            assert row.id is not None
            self._ids[key] = (row.id, row.kind)
            return row.id

    async def _existing_id(self, key: ConversationKey) -> int | None:
        if key in self._ids:
            return self._ids[key][0]
        async with self.session() as s:
            row = (await s.exec(select(Conversation).where(
                Conversation.platform == key.platform, Conversation.chat == key.chat,
                Conversation.thread == key.thread))).first()
        if row is None or row.id is None:
            return None
        self._ids[key] = (row.id, row.kind)
        return row.id

    async def save_human(self, msg: HumanMessage, at: float) -> bool:
        """Store a received message (and drop scheduled follow-ups: the human wrote first)."""
        cid = await self.conversation_id(msg.key, "group" if msg.is_group else "dm")
        async with self.session() as s:
            stmt = self._insert(Message).values(
                conversation_id=cid, direction=HUMAN, state=RECEIVED, platform_id=msg.message_id,
                author_id=msg.author.id, author_name=msg.author.name, text=msg.text,
                attachments=list(msg.attachments), is_group=msg.is_group, addressed=msg.addressed, created_at=at,
            ).on_conflict_do_nothing(index_elements=["conversation_id", "platform_id"]).returning(col(Message.id))
            if (await s.exec(stmt)).first() is None:
                return False
            dropped = await self._drop_follow_ups(s, cid, at, "cancelled")
        await self._tell_dropped(msg.key, dropped)
        return True

    async def _drop_follow_ups(self, s: AsyncSession, cid: int, at: float, state: str) -> list[int]:
        ids = list((await s.exec(select(FollowUp.id).where(
            FollowUp.conversation_id == cid, FollowUp.state == SCHEDULED))).all())
        if ids:
            await s.exec(update(FollowUp).where(col(FollowUp.id).in_(ids)).values(state=state, done_at=at))
        return [i for i in ids if i is not None]

    async def edit_human(self, key: ConversationKey, message_id: str, text: str | None) -> None:
        """Change an unanswered message's text; with None, mark it deleted and wipe its text."""
        cid = await self._existing_id(key)
        if cid is None:
            return
        where = (col(Message.conversation_id) == cid, col(Message.platform_id) == message_id,
                 col(Message.state) == RECEIVED)
        values: dict[str, Any] = {"text": text} if text is not None else {
            "state": DELETED, "text": "", "attachments": [], "dropped_at": self.now(), "drop_reason": "deleted"}
        async with self.session() as s:
            await s.exec(update(Message).where(*where).values(**values))

    async def _next_seq(self, s: AsyncSession, cid: int) -> int:
        top = (await s.exec(select(func.max(Message.history_seq)).where(Message.conversation_id == cid))).one()
        return int(top or 0) + 1

    async def mark_answered(self, key: ConversationKey, message_ids: list[str]) -> None:
        """These messages join the history, in the order given."""
        cid = await self._existing_id(key)
        if cid is None or not message_ids:
            return
        now = self.now()
        async with self.session() as s:
            rows = {m.platform_id: m for m in (await s.exec(select(Message).where(
                Message.conversation_id == cid, Message.state == RECEIVED,
                col(Message.platform_id).in_(message_ids)))).all()}
            seq = await self._next_seq(s, cid)
            for mid in message_ids:
                row = rows.pop(mid, None)
                if row is not None:
                    row.state, row.answered_at, row.history_seq = ANSWERED, now, seq
                    seq += 1

    async def plan_part(self, key: ConversationKey, part_id: str, text: str, at: float) -> None:
        """Record a part about to be sent."""
        cid = await self.conversation_id(key)
        async with self.session() as s:
            s.add(Message(conversation_id=cid, direction=BOT, state=PLANNED, part_id=part_id, text=text,
                          created_at=at))

    async def _planned(self, s: AsyncSession, cid: int, part_id: str) -> Message | None:
        return (await s.exec(select(Message).where(
            Message.conversation_id == cid, Message.part_id == part_id, Message.state == PLANNED,
        ).order_by(col(Message.id).desc()))).first()

    async def part_sent(self, key: ConversationKey, part_id: str, platform_id: str, at: float) -> None:
        """The planned part was delivered: it joins the history."""
        cid = await self.conversation_id(key)
        async with self.session() as s:
            row = await self._planned(s, cid, part_id)
            if row is None:
                log.warning("part %s of %s was sent but never planned", part_id, key)
                return
            row.state, row.sent_id, row.sent_at = SENT, platform_id, at
            row.history_seq = await self._next_seq(s, cid)
            text = row.text
        for listener in list(self.listeners):
            try:
                await listener.part_delivered(key, text, at)
            except Exception:
                log.exception("a store listener failed on a delivered part of %s", key)

    async def part_cancelled(self, key: ConversationKey, part_id: str, reason: str) -> None:
        """The planned part will never be sent."""
        cid = await self.conversation_id(key)
        async with self.session() as s:
            row = await self._planned(s, cid, part_id)
            if row is not None:
                row.state, row.dropped_at, row.drop_reason = CANCELLED, self.now(), reason[:128]

    async def load(self, key: ConversationKey) -> StoredConversation:
        """Delivered history (newest HISTORY_LIMIT lines), unanswered messages, overrides and rhythms."""
        cid = await self._existing_id(key)
        if cid is None:
            return StoredConversation()
        async with self.session() as s:
            said = list((await s.exec(select(Message).where(
                Message.conversation_id == cid, col(Message.history_seq).is_not(None),
            ).order_by(col(Message.history_seq).desc(), col(Message.id).desc()).limit(HISTORY_LIMIT))).all())
            pending = (await s.exec(select(Message).where(
                Message.conversation_id == cid, Message.direction == HUMAN, Message.state == RECEIVED,
            ).order_by(col(Message.id)))).all()
            settings = await s.get(ChatSettings, cid)
            rhythms = (await s.exec(select(RhythmRow).where(RhythmRow.conversation_id == cid))).all()
        return StoredConversation(
            history=[_line(m) for m in reversed(said)],
            pending=[_human(key, m) for m in pending],
            overrides=dict(settings.overrides) if settings is not None else {},
            rhythms={r.author: rhythm_from_json(r.data) for r in rhythms},
        )

    async def forget(self, key: ConversationKey) -> None:
        """Delete the conversation's messages, rhythms, timeline and follow-ups (its settings stay)."""
        cid = await self._existing_id(key)
        if cid is None:
            return
        async with self.session() as s:
            dropped = await self._drop_follow_ups(s, cid, self.now(), "cancelled")
            await s.exec(delete(Message).where(col(Message.conversation_id) == cid))
            await s.exec(delete(RhythmRow).where(col(RhythmRow.conversation_id) == cid))
            await s.exec(delete(TraceRow).where(col(TraceRow.conversation_id) == cid))
            await s.exec(delete(FollowUp).where(col(FollowUp.conversation_id) == cid))
        await self._tell_dropped(key, dropped)

    async def _tell_dropped(self, key: ConversationKey, ids: list[int]) -> None:
        if not ids:
            return
        for listener in list(self.listeners):
            try:
                await listener.follow_ups_dropped(key, ids)
            except Exception:
                log.exception("a store listener failed on dropped follow-ups of %s", key)

    async def save_overrides(self, key: ConversationKey, overrides: dict[str, Any]) -> None:
        """Persist this chat's setting overrides."""
        cid = await self.conversation_id(key)
        values = {"conversation_id": cid, "overrides": dict(overrides), "updated_at": self.now()}
        async with self.session() as s:
            await s.exec(self._insert(ChatSettings).values(**values).on_conflict_do_update(
                index_elements=["conversation_id"], set_={"overrides": values["overrides"], "updated_at": self.now()}))

    async def save_rhythm(self, key: ConversationKey, author: str, rhythm: Rhythm) -> None:
        """Persist what was learned of one person's pace."""
        cid = await self.conversation_id(key)
        learned = {"data": rhythm_to_json(rhythm), "updated_at": self.now()}
        async with self.session() as s:
            await s.exec(self._insert(RhythmRow).values(conversation_id=cid, author=author, **learned)
                         .on_conflict_do_update(index_elements=["conversation_id", "author"], set_=learned))

    async def record_trace(self, key: ConversationKey, events: list[TraceEvent]) -> None:
        """Append timeline events."""
        if not events:
            return
        cid = await self.conversation_id(key)
        async with self.session() as s:
            s.add_all([TraceRow(conversation_id=cid, kind=e.kind, at=e.at, data=dict(e.data)) for e in events])

    async def load_trace(self, key: ConversationKey, since: float = 0.0) -> list[TraceEvent]:
        """This conversation's timeline from `since` on, in the order recorded."""
        cid = await self._existing_id(key)
        if cid is None:
            return []
        async with self.session() as s:
            rows = (await s.exec(select(TraceRow).where(TraceRow.conversation_id == cid, TraceRow.at >= since)
                                 .order_by(col(TraceRow.id)))).all()
        return [TraceEvent(r.kind, r.at, dict(r.data)) for r in rows]

    async def recover(self) -> list[ConversationKey]:
        """Call once at start, before any engine: settle what a crash left behind.

        Parts still "planned" were cut off by the crash (delivered or not, nobody knows): they become
        "unconfirmed" and stay out of the history. Returns the conversations with unanswered messages,
        whose actors should be started so those messages are answered once.
        """
        now = self.now()
        async with self.session() as s:
            await s.exec(update(Message).where(col(Message.direction) == BOT, col(Message.state) == PLANNED)
                         .values(state=UNCONFIRMED, dropped_at=now, drop_reason="process ended before it was sent"))
            rows = (await s.exec(select(Conversation).where(col(Conversation.id).in_(
                select(Message.conversation_id).where(Message.direction == HUMAN, Message.state == RECEIVED)
            )).order_by(col(Conversation.id)))).all()
        return [ConversationKey(r.platform, r.chat, r.thread) for r in rows]


def rhythm_to_json(rhythm: Rhythm) -> dict[str, Any]:
    """A rhythm's fields as JSON (whatever fields the policy keeps)."""
    return dataclasses.asdict(rhythm)


def rhythm_from_json(data: dict[str, Any]) -> Rhythm:
    """Back from JSON: lists become tuples; unknown keys are dropped and missing ones take their defaults."""
    known = {f.name for f in dataclasses.fields(Rhythm)}
    fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known}
    return Rhythm(**fields)


def _line(m: Message) -> Line:
    if m.direction == HUMAN:
        return Line("human", m.text, m.created_at, m.author_name)
    return Line("bot", m.text, m.sent_at if m.sent_at is not None else m.created_at)


def _human(key: ConversationKey, m: Message) -> HumanMessage:
    return HumanMessage(key, m.platform_id or "", Author(m.author_id, m.author_name), m.text,
                        tuple(_strings(m.attachments)), is_group=m.is_group, addressed=m.addressed, at=m.created_at)


def _strings(values: Sequence[Any]) -> list[str]:
    return [str(v) for v in values]
