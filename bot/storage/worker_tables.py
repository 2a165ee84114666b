"""The tables several workers share on PostgreSQL: who is alive, who owns what, and what is handed over.

`models.py` imports this module at its end, so these tables are part of the one metadata the
migrations are compared with. On SQLite they exist and stay empty (one worker needs none of them).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from bot.storage.models import metadata

__all__ = ["HandoverRow", "LeaseRow", "WorkerRow", "metadata"]


class WorkerRow(SQLModel, table=True):
    """One run of one worker process; alive while `expires_at` (database time) is ahead, renewed on a heartbeat."""

    __tablename__ = "worker"

    id: str = Field(primary_key=True, max_length=64)  # new for every run: a restarted worker is another one
    slot: int  # WORKER_ID
    slots: int  # WORKER_COUNT
    host: str = Field(default="", max_length=255)
    pid: int = 0
    started_at: float
    expires_at: float = Field(index=True)


class LeaseRow(SQLModel, table=True):
    """Who owns a conversation (or a duty such as Telegram's long polling): valid while its worker is alive."""

    __tablename__ = "lease"

    name: str = Field(primary_key=True, max_length=512)  # a conversation key as JSON, or "duty:<name>"
    worker_id: str = Field(max_length=64, index=True)
    acquired_at: float


class HandoverRow(SQLModel, table=True):
    """An event received by one worker for a conversation another owns; its owner takes it with SKIP LOCKED."""

    __tablename__ = "handover"

    id: int | None = Field(default=None, primary_key=True)
    lease: str = Field(max_length=512, index=True)  # the conversation's lease name
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: float
