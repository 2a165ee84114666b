"""The background-task table: what the model started, where it stands, its result and its times.

`models.py` imports this module at its end, so the table is part of the one metadata the migrations are
compared with (migration 0004 creates it).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, Text
from sqlmodel import Field, SQLModel

from bot.storage.models import metadata

__all__ = ["TaskRow", "metadata"]


class TaskRow(SQLModel, table=True):
    """One background task: running or scheduled, then done or failed; `delivered_at` once its result was told."""

    __tablename__ = "background_task"
    __table_args__ = (Index("ix_background_task_status", "status", "delivered_at"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(sa_column=Column(Integer, ForeignKey("conversation.id", ondelete="CASCADE"),
                                                  nullable=False, index=True))
    kind: str = Field(max_length=32)
    args: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: str = Field(max_length=16)
    result: str = Field(default="", sa_type=Text)
    is_group: bool = False
    created_at: float
    due_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    delivered_at: float | None = None
