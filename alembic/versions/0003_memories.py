"""Memories: facts the bot remembers per person and conversation scope, searchable with the database's full-text search.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 23:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema (placeholder: the issue that owns this revision fills it in)."""


def downgrade() -> None:
    """Downgrade schema."""
