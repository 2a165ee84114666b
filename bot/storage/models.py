"""The tables: conversations, messages both ways, reply sessions, chat settings, per-person rhythm, trace, follow-ups.

Times are seconds since the epoch (the core's clock), stored as floats.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

# Named constraints, so SQLite's batch migrations can drop and recreate them.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = SQLModel.metadata

SCHEDULER_TABLE = "apscheduler_jobs"  # APScheduler creates and owns it; migrations leave it alone

# Message directions and states.
HUMAN, BOT = "human", "bot"
RECEIVED, ANSWERED, DELETED = "received", "answered", "deleted"
PLANNED, SENT, CANCELLED = "planned", "sent", "cancelled"
UNCONFIRMED = "unconfirmed"  # planned, then the process died: it may or may not have been delivered
UNSENT = "unsent"  # sent, then taken back (deleted on the platform): no longer part of the history

# Bot message kinds: reply parts and canned persona lines join the history once sent, command answers never.
REPLY, LINE, COMMAND = "reply", "line", "command"

# Follow-up kinds and states.
FOLLOW_UP, DOUBLE_TEXT = "follow_up", "double_text"
SCHEDULED, FIRED = "scheduled", "fired"


def _conversation_fk() -> Any:
    return Column(Integer, ForeignKey("conversation.id", ondelete="CASCADE"), nullable=False, index=True)


class Conversation(SQLModel, table=True):
    """One chat (or thread/topic in it) on one platform; `kind` is "dm" or "group"."""

    __tablename__ = "conversation"
    __table_args__ = (UniqueConstraint("platform", "chat", "thread"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=32)
    chat: str = Field(max_length=128)
    thread: str = Field(default="", max_length=128)
    kind: str = Field(default="dm", max_length=8)
    created_at: float


class Message(SQLModel, table=True):
    """A message either way: a human's (received → answered | deleted) or a bot part.

    A bot part goes planned → sent (→ unsent) | cancelled | unconfirmed; an edit keeps it sent with new text.
    """

    __tablename__ = "message"
    __table_args__ = (
        UniqueConstraint("conversation_id", "platform_id"),  # a redelivered human message is stored once
        Index("ix_message_history", "conversation_id", "history_seq"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(sa_column=_conversation_fk())
    direction: str = Field(max_length=8)
    state: str = Field(max_length=16)
    platform_id: str | None = Field(default=None, max_length=128)  # human: the platform's message id
    part_id: str | None = Field(default=None, max_length=64)  # bot: the engine's id for the part
    sent_id: str | None = Field(default=None, max_length=128)  # bot: the platform's id once delivered
    author_id: str = Field(default="", max_length=128)
    author_name: str = Field(default="", max_length=256)
    text: str = Field(default="", sa_type=Text)
    attachments: list[str] = Field(default_factory=list, sa_type=JSON)
    is_group: bool = False
    addressed: bool = False
    created_at: float  # human: received; bot: planned
    answered_at: float | None = None
    sent_at: float | None = None
    dropped_at: float | None = None  # human: deleted; bot: cancelled (or found unconfirmed)
    drop_reason: str | None = Field(default=None, max_length=128)
    history_seq: int | None = None  # position in the delivered history (answered human, sent reply or line)
    kind: str = Field(default="", max_length=16, sa_column_kwargs={"server_default": ""})  # bot: REPLY, LINE, COMMAND
    reply_id: str | None = Field(default=None, max_length=64)  # bot: the reply session the part belongs to
    edited_at: float | None = None  # bot: when its text was last changed on the platform
    original_text: str | None = Field(default=None, sa_type=Text)  # bot: the text as first sent, once edited


class Reply(SQLModel, table=True):
    """One reply session: the human messages it answers; `ended_at` stays empty if the process died in it."""

    __tablename__ = "reply"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(sa_column=_conversation_fk())
    reply_id: str = Field(max_length=64)
    covers: list[str] = Field(default_factory=list, sa_type=JSON)
    # Its parts are the messages with this reply_id and a larger id: reply ids restart with the process.
    after_message_id: int = 0
    started_at: float
    ended_at: float | None = None


class ChatSettings(SQLModel, table=True):
    """A chat's overrides: timing fields, persona, policies (kept by /reset)."""

    __tablename__ = "chat_settings"

    conversation_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("conversation.id", ondelete="CASCADE"), primary_key=True),
    )
    overrides: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    updated_at: float


class RhythmRow(SQLModel, table=True):
    """What the adaptive turn policy learned of one person's pace in one conversation (its fields as JSON)."""

    __tablename__ = "person_rhythm"
    __table_args__ = (UniqueConstraint("conversation_id", "author"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(sa_column=_conversation_fk())
    author: str = Field(max_length=128)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    updated_at: float


class TraceRow(SQLModel, table=True):
    """One timeline event of a conversation (decision, typing, part sent or cancelled…)."""

    __tablename__ = "trace_event"
    __table_args__ = (Index("ix_trace_event_conversation_at", "conversation_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(sa_column=Column(Integer, ForeignKey("conversation.id", ondelete="CASCADE"),
                                                  nullable=False))
    kind: str = Field(max_length=64)
    at: float
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class FollowUp(SQLModel, table=True):
    """A long-horizon job: a follow-up the bot promised or a double text; APScheduler holds its timer."""

    __tablename__ = "follow_up"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(sa_column=_conversation_fk())
    kind: str = Field(max_length=16)
    state: str = Field(default=SCHEDULED, max_length=16, index=True)
    topic: str = Field(default="", max_length=256)
    created_at: float
    due_at: float
    done_at: float | None = None


class MemoryRow(SQLModel, table=True):
    """A fact remembered in a conversation, filed under the person it was learned from (seed 004).

    Searched with the database's full-text search: on SQLite the FTS5 table `memory_fts` and its triggers,
    on PostgreSQL the GIN index `ix_memory_search` on to_tsvector('english', fact) (migration 0003; neither
    is a model, see SEARCH_OBJECTS). A superseded fact stays, pointing at the fact that replaced it.
    """

    __tablename__ = "memory"
    __table_args__ = (Index("ix_memory_scope_person", "conversation_id", "person"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(sa_column=Column(Integer, ForeignKey("conversation.id", ondelete="CASCADE"),
                                                  nullable=False))
    person: str = Field(max_length=128)
    fact: str = Field(sa_type=Text)
    created_at: float
    superseded_by: int | None = None
    superseded_at: float | None = None


# The full-text search objects migration 0003 makes beside the memory table (compared by name, never autogenerated).
SEARCH_OBJECTS = ("memory_fts", "ix_memory_search")


def is_search_object(name: str | None) -> bool:
    """True for the FTS5 table (and its shadow tables) and the PostgreSQL search index."""
    return name is not None and name.startswith(SEARCH_OBJECTS)


# The workers' tables (liveness, leases, the hand-over queue) and the background tasks' table join this
# metadata from their own modules.
from bot.storage import task_table, worker_tables  # noqa: E402, F401
