"""The Memories port on the bot's database (SqlMemories) and in process memory (LocalMemories).

LocalMemories is for `MemoryStore` scenes and benches: the same table and the same FTS5 search, in a stdlib
sqlite3 database that lives as long as the object, so tests of memory never run on a hand-made index.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text

from bot.core.events import ConversationKey
from bot.storage.database import Database
from bot.storage.memory_sql import SQLITE_FTS, SqlFacts

LOCAL_TABLE = (
    "CREATE TABLE memory (id INTEGER PRIMARY KEY, conversation_id INTEGER NOT NULL, person TEXT NOT NULL, "
    "fact TEXT NOT NULL, created_at REAL NOT NULL, superseded_by INTEGER, superseded_at REAL)"
)


class SqlMemories(SqlFacts):
    """Memories in the `memory` table of the bot's database (migration 0003), sharing the store's engine."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.dialect = "postgresql" if database.engine.dialect.name == "postgresql" else "sqlite"

    async def _rows(self, sql: str, params: dict[str, Any]) -> list[Sequence[Any]]:
        async with self.database.session() as s:
            result = await (await s.connection()).execute(text(sql), params)
            return list(result.all())

    async def _scope_id(self, scope: ConversationKey, create: bool) -> int | None:
        if create:
            return await self.database.conversation_id(scope)
        return await self.database.existing_id(scope)


class LocalMemories(SqlFacts):
    """Memories in an in-memory SQLite database of this process, searched with FTS5 like the real one."""

    dialect = "sqlite"

    def __init__(self) -> None:
        self._db = sqlite3.connect(":memory:")
        for statement in (LOCAL_TABLE, *SQLITE_FTS):
            self._db.execute(statement)
        self._scopes: dict[ConversationKey, int] = {}

    async def _rows(self, sql: str, params: dict[str, Any]) -> list[Sequence[Any]]:
        with self._db:  # one transaction per statement, as the database store does
            return list(self._db.execute(sql, params).fetchall())

    async def _scope_id(self, scope: ConversationKey, create: bool) -> int | None:
        if create and scope not in self._scopes:
            self._scopes[scope] = len(self._scopes) + 1
        return self._scopes.get(scope)

    def close(self) -> None:
        """Release the in-memory database."""
        self._db.close()
