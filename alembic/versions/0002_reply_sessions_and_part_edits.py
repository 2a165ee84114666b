"""Reply sessions and part edits: message kind, reply id, edit columns; the reply table.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 21:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                      server_default=""))
        batch_op.add_column(sa.Column("reply_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column("edited_at", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("original_text", sa.Text(), nullable=True))
    # Before 0002 only reply parts and canned lines were stored (both join the history): call them replies.
    op.execute("UPDATE message SET kind = 'reply' WHERE direction = 'bot'")

    op.create_table(
        "reply",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("reply_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("covers", sa.JSON(), nullable=False),
        sa.Column("after_message_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("ended_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
            name=op.f("fk_reply_conversation_id_conversation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reply")),
    )
    with op.batch_alter_table("reply", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reply_conversation_id"), ["conversation_id"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("reply", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reply_conversation_id"))
    op.drop_table("reply")

    # 0001 reads every row with a history position as history: a part taken back must lose its position.
    op.execute("UPDATE message SET history_seq = NULL WHERE state = 'unsent'")
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_column("original_text")
        batch_op.drop_column("edited_at")
        batch_op.drop_column("reply_id")
        batch_op.drop_column("kind")
