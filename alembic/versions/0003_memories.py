"""Memories: facts the bot remembers per person and conversation scope, searchable with the database's full-text search.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 23:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite: an FTS5 index over memory.fact with external content, kept in step by triggers. A later batch
# migration that copies the memory table must create these triggers again (batch mode drops them).
SQLITE_FTS = (
    "CREATE VIRTUAL TABLE memory_fts USING fts5(fact, content='memory', content_rowid='id', "
    "tokenize='porter unicode61')",
    "CREATE TRIGGER memory_fts_insert AFTER INSERT ON memory BEGIN "
    "INSERT INTO memory_fts(rowid, fact) VALUES (new.id, new.fact); END",
    "CREATE TRIGGER memory_fts_delete AFTER DELETE ON memory BEGIN "
    "INSERT INTO memory_fts(memory_fts, rowid, fact) VALUES ('delete', old.id, old.fact); END",
    "CREATE TRIGGER memory_fts_update AFTER UPDATE OF fact ON memory BEGIN "
    "INSERT INTO memory_fts(memory_fts, rowid, fact) VALUES ('delete', old.id, old.fact); "
    "INSERT INTO memory_fts(rowid, fact) VALUES (new.id, new.fact); END",
)
# PostgreSQL: a GIN index on the fact's tsvector, which the search's WHERE clause repeats word for word.
PG_SEARCH_INDEX = "CREATE INDEX ix_memory_search ON memory USING gin (to_tsvector('english', fact))"


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "memory",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("person", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("fact", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("superseded_by", sa.Integer(), nullable=True),
        sa.Column("superseded_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
            name=op.f("fk_memory_conversation_id_conversation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memory")),
    )
    with op.batch_alter_table("memory", schema=None) as batch_op:
        batch_op.create_index("ix_memory_scope_person", ["conversation_id", "person"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_SEARCH_INDEX)
    else:
        for statement in SQLITE_FTS:
            op.execute(statement)


def downgrade() -> None:
    """Downgrade schema."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_memory_search")
    else:
        for trigger in ("memory_fts_insert", "memory_fts_delete", "memory_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS memory_fts")
    with op.batch_alter_table("memory", schema=None) as batch_op:
        batch_op.drop_index("ix_memory_scope_person")
    op.drop_table("memory")
