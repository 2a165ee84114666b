"""The Store port on SQLAlchemy async sessions (SQLite through aiosqlite, PostgreSQL through asyncpg)."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.clock import Clock
from bot.core.events import ConversationKey, HumanMessage
from bot.core.ports import HISTORY_LIMIT, StoredConversation, TraceEvent
from bot.storage import replies
from bot.storage.database import Database
from bot.storage.models import (
    ANSWERED,
    BOT,
    CANCELLED,
    COMMAND,
    DELETED,
    HUMAN,
    PLANNED,
    RECEIVED,
    SCHEDULED,
    SENT,
    UNCONFIRMED,
    UNSENT,
    ChatSettings,
    Conversation,
    FollowUp,
    Message,
    Reply,
    RhythmRow,
    TraceRow,
)
from bot.storage.rows import history_line, human_message, rhythm_from_json, rhythm_to_json
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


class SqlStore(Database):
    """Durable conversations: every method commits before it returns."""

    def __init__(self, engine: AsyncEngine, clock: Clock | None = None) -> None:
        super().__init__(engine, clock)
        self.listeners: list[StoreListener] = []

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

    async def plan_part(
        self, key: ConversationKey, part_id: str, text: str, at: float, kind: str = "reply", reply_id: str = ""
    ) -> None:
        """Record a part about to be sent: a reply part, a canned line or a command's answer."""
        cid = await self.conversation_id(key)
        async with self.session() as s:
            s.add(Message(conversation_id=cid, direction=BOT, state=PLANNED, part_id=part_id, text=text,
                          created_at=at, kind=kind, reply_id=reply_id or None))

    async def _part(self, s: AsyncSession, cid: int, part_id: str, state: str) -> Message | None:
        # The newest: part ids restart with the process.
        return (await s.exec(select(Message).where(
            Message.conversation_id == cid, Message.direction == BOT, Message.part_id == part_id,
            Message.state == state,
        ).order_by(col(Message.id).desc()))).first()

    async def part_sent(self, key: ConversationKey, part_id: str, platform_id: str, at: float) -> None:
        """The planned part was delivered: it joins the history (a command's answer never does)."""
        cid = await self.conversation_id(key)
        async with self.session() as s:
            row = await self._part(s, cid, part_id, PLANNED)
            if row is None:
                log.warning("part %s of %s was sent but never planned", part_id, key)
                return
            row.state, row.sent_id, row.sent_at = SENT, platform_id, at
            if row.kind != COMMAND:
                row.history_seq = await self._next_seq(s, cid)
            text, kind = row.text, row.kind
        if kind == COMMAND:
            return  # an answer to /timing is no promise to come back, nor a silence to break
        for listener in list(self.listeners):
            try:
                await listener.part_delivered(key, text, at)
            except Exception:
                log.exception("a store listener failed on a delivered part of %s", key)

    async def part_cancelled(self, key: ConversationKey, part_id: str, reason: str) -> None:
        """The planned part will never be sent."""
        cid = await self.conversation_id(key)
        async with self.session() as s:
            row = await self._part(s, cid, part_id, PLANNED)
            if row is not None:
                row.state, row.dropped_at, row.drop_reason = CANCELLED, self.now(), reason[:128]

    async def part_edited(self, key: ConversationKey, part_id: str, text: str, at: float) -> None:
        """A sent part now reads `text`; the text it was first sent with is kept for the timeline."""
        cid = await self.conversation_id(key)
        async with self.session() as s:
            row = await self._part(s, cid, part_id, SENT)
            if row is not None:
                if row.original_text is None:
                    row.original_text = row.text
                row.text, row.edited_at = text, at

    async def part_unsent(self, key: ConversationKey, part_id: str, at: float) -> None:
        """A sent part was taken back: it leaves the history (its row and position stay for the timeline)."""
        cid = await self.conversation_id(key)
        async with self.session() as s:
            row = await self._part(s, cid, part_id, SENT)
            if row is not None:
                row.state, row.dropped_at, row.drop_reason = UNSENT, at, "unsent"

    async def reply_started(self, key: ConversationKey, reply_id: str, covers: list[str], at: float) -> None:
        """A reply session began, answering these human messages."""
        cid = await self.conversation_id(key)
        async with self.session() as s:
            await replies.start(s, cid, reply_id, covers, at)

    async def reply_ended(self, key: ConversationKey, reply_id: str, at: float) -> None:
        """A reply session ended: nothing of it is left to finish after a crash."""
        cid = await self.conversation_id(key)
        async with self.session() as s:
            await replies.end(s, cid, reply_id, at)

    async def load(self, key: ConversationKey) -> StoredConversation:
        """Delivered history (newest HISTORY_LIMIT lines), unanswered messages, settings, rhythms, a cut-short reply."""
        cid = await self._existing_id(key)
        if cid is None:
            return StoredConversation()
        async with self.session() as s:
            said = list((await s.exec(select(Message).where(
                Message.conversation_id == cid, col(Message.history_seq).is_not(None),
                col(Message.state).in_((ANSWERED, SENT)),
            ).order_by(col(Message.history_seq).desc(), col(Message.id).desc()).limit(HISTORY_LIMIT))).all())
            pending = (await s.exec(select(Message).where(
                Message.conversation_id == cid, Message.direction == HUMAN, Message.state == RECEIVED,
            ).order_by(col(Message.id)))).all()
            settings = await s.get(ChatSettings, cid)
            rhythms = (await s.exec(select(RhythmRow).where(RhythmRow.conversation_id == cid))).all()
            cut_short = await replies.cut_short(s, cid)
        return StoredConversation(
            history=[history_line(m) for m in reversed(said)],
            pending=[human_message(key, m) for m in pending],
            overrides=dict(settings.overrides) if settings is not None else {},
            rhythms={r.author: rhythm_from_json(r.data) for r in rhythms},
            cut_short=cut_short,
        )

    async def forget(self, key: ConversationKey) -> None:
        """Delete the conversation's messages, replies, rhythms, timeline and follow-ups (its settings stay)."""
        cid = await self._existing_id(key)
        if cid is None:
            return
        async with self.session() as s:
            dropped = await self._drop_follow_ups(s, cid, self.now(), "cancelled")
            await s.exec(delete(Message).where(col(Message.conversation_id) == cid))
            await s.exec(delete(Reply).where(col(Reply.conversation_id) == cid))
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
        "unconfirmed" and stay out of the history. Returns the conversations with unanswered messages
        or a reply cut short (see `load`), whose actors should be started so those are answered once.
        """
        now = self.now()
        async with self.session() as s:
            await s.exec(update(Message).where(col(Message.direction) == BOT, col(Message.state) == PLANNED)
                         .values(state=UNCONFIRMED, dropped_at=now, drop_reason="process ended before it was sent"))
            unanswered = select(Message.conversation_id).where(Message.direction == HUMAN, Message.state == RECEIVED)
            rows = (await s.exec(select(Conversation).where(
                col(Conversation.id).in_(unanswered) | col(Conversation.id).in_(replies.cut_short_conversations()),
            ).order_by(col(Conversation.id)))).all()
        return [ConversationKey(r.platform, r.chat, r.thread) for r in rows]

