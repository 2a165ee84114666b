"""Workers: conversation leases and the hand-over queue between worker processes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 23:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema (placeholder: the issue that owns this revision fills it in)."""


def downgrade() -> None:
    """Downgrade schema."""
