"""Reply sessions in SQL: when one started and ended, and the reply a crash cut short."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, func
from sqlalchemy.sql import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from bot.core.ports import CutShortReply
from bot.storage.models import BOT, COMMAND, SENT, UNCONFIRMED, Message, Reply

DELIVERED = (SENT, UNCONFIRMED)  # unconfirmed parts may have reached the human: count them as said


def delivered_parts(conversation_id: Any, reply_id: Any, after_message_id: Any) -> tuple[ColumnElement[bool], ...]:
    """The conditions for a reply's parts that were (or may have been) delivered; values or Reply's columns."""
    return (col(Message.conversation_id) == conversation_id, col(Message.direction) == BOT,
            col(Message.reply_id) == reply_id, col(Message.id) > after_message_id,
            col(Message.kind) != COMMAND, col(Message.state).in_(DELIVERED))


async def start(s: AsyncSession, cid: int, reply_id: str, covers: list[str], at: float) -> None:
    """Record a reply session beginning now; its parts will be the messages stored after this."""
    last = (await s.exec(select(func.max(Message.id)).where(Message.conversation_id == cid))).one()
    s.add(Reply(conversation_id=cid, reply_id=reply_id, covers=list(covers), after_message_id=int(last or 0),
                started_at=at))


async def end(s: AsyncSession, cid: int, reply_id: str, at: float) -> None:
    """Mark the newest open session with this id as ended."""
    row = (await s.exec(select(Reply).where(
        Reply.conversation_id == cid, Reply.reply_id == reply_id, col(Reply.ended_at).is_(None),
    ).order_by(col(Reply.id).desc()))).first()
    if row is not None:
        row.ended_at = at


async def cut_short(s: AsyncSession, cid: int) -> CutShortReply | None:
    """The conversation's newest reply, if it never ended and at least one of its parts went out."""
    reply = (await s.exec(select(Reply).where(Reply.conversation_id == cid).order_by(col(Reply.id).desc()))).first()
    if reply is None or reply.ended_at is not None:
        return None
    texts = (await s.exec(select(Message.text).where(
        *delivered_parts(cid, reply.reply_id, reply.after_message_id)).order_by(col(Message.id)))).all()
    if not texts:
        return None  # nothing was said: its messages are still unanswered and get a normal reply
    return CutShortReply(reply.reply_id, tuple(texts), tuple(str(c) for c in reply.covers))


def cut_short_conversations() -> SelectOfScalar[int]:
    """The ids of the conversations whose newest reply was cut short (see `cut_short`)."""
    newest = select(func.max(Reply.id)).group_by(col(Reply.conversation_id))
    said = exists().where(*delivered_parts(Reply.conversation_id, Reply.reply_id, Reply.after_message_id))
    return select(Reply.conversation_id).where(col(Reply.id).in_(newest), col(Reply.ended_at).is_(None), said)
