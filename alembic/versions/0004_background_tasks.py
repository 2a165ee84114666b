"""Background tasks: what the model started (think, remind, ...) with status, result and times.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 23:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "background_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("is_group", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("due_at", sa.Float(), nullable=True),
        sa.Column("started_at", sa.Float(), nullable=True),
        sa.Column("finished_at", sa.Float(), nullable=True),
        sa.Column("delivered_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversation.id"],
                                name=op.f("fk_background_task_conversation_id_conversation"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_background_task")),
    )
    with op.batch_alter_table("background_task", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_background_task_conversation_id"), ["conversation_id"], unique=False)
        batch_op.create_index("ix_background_task_status", ["status", "delivered_at"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("background_task", schema=None) as batch_op:
        batch_op.drop_index("ix_background_task_status")
        batch_op.drop_index(batch_op.f("ix_background_task_conversation_id"))
    op.drop_table("background_task")
