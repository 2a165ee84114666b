"""The Memories port in SQL, for any connection that runs SQL text: the `memory` table and the database's own
full-text search over it (SQLite FTS5 through `memory_fts`, PostgreSQL tsvector/tsquery through a GIN index).

Both the database store (SqlMemories) and the in-process one (LocalMemories, stdlib sqlite3 in memory)
run these statements, so the in-process memories search exactly as SQLite does.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from bot.core.events import ConversationKey
from bot.core.memory_port import Memory, clean_fact, search_terms

# The FTS5 index over memory.fact, kept in step by triggers (external content: the text is stored once).
# Migration 0003 creates the same objects; porter stemming so "dogs" finds "dog".
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
PG_VECTOR = "to_tsvector('english', memory.fact)"  # what the GIN index ix_memory_search is built on

COLUMNS = "memory.id, memory.person, memory.fact, memory.created_at"
CURRENT = "memory.conversation_id = :cid AND memory.superseded_by IS NULL"
SEARCH = {
    "sqlite": f"SELECT {COLUMNS} FROM memory_fts JOIN memory ON memory.id = memory_fts.rowid "
              f"WHERE memory_fts MATCH :q AND {CURRENT}{{person}} ORDER BY bm25(memory_fts), memory.id DESC LIMIT :n",
    "postgresql": f"SELECT {COLUMNS} FROM memory, websearch_to_tsquery('english', :q) AS q "
                  f"WHERE {PG_VECTOR} @@ q AND {CURRENT}{{person}} "
                  f"ORDER BY ts_rank({PG_VECTOR}, q) DESC, memory.id DESC LIMIT :n",
}


def match_query(dialect: str, terms: list[str]) -> str:
    """The terms as an OR query: FTS5 syntax (each quoted) or websearch_to_tsquery's words."""
    if dialect == "sqlite":
        return " OR ".join(f'"{term}"' for term in terms)
    return " or ".join(terms)


def _memory(row: Sequence[Any]) -> Memory:
    return Memory(int(row[0]), str(row[1]), str(row[2]), float(row[3]))


def _placeholders(ids: Sequence[int]) -> tuple[str, dict[str, int]]:
    names = {f"id{i}": int(value) for i, value in enumerate(ids)}
    return ", ".join(f":{name}" for name in names), names


class SqlFacts(ABC):
    """The Memories operations as SQL text; a subclass says how to run a statement and find a scope's row id."""

    dialect = "sqlite"

    @abstractmethod
    async def _rows(self, sql: str, params: dict[str, Any]) -> list[Sequence[Any]]:
        """Run one statement in its own transaction; the rows it returns (every statement here returns some)."""

    @abstractmethod
    async def _scope_id(self, scope: ConversationKey, create: bool) -> int | None:
        """The conversation's row id (made when `create`), None when the conversation was never seen."""

    async def remember(self, scope: ConversationKey, person: str, fact: str, at: float) -> tuple[Memory, bool]:
        """Keep a fact; the same words from the same person here give back the fact already kept."""
        cid = await self._scope_id(scope, create=True)
        text = clean_fact(fact)
        same = await self._rows(f"SELECT {COLUMNS} FROM memory WHERE {CURRENT} AND memory.person = :p "
                                "AND memory.fact = :f ORDER BY memory.id LIMIT 1", {"cid": cid, "p": person, "f": text})
        if same:
            return _memory(same[0]), False
        [row] = await self._rows("INSERT INTO memory (conversation_id, person, fact, created_at) VALUES "
                                 "(:cid, :p, :f, :at) RETURNING id", {"cid": cid, "p": person, "f": text, "at": at})
        return Memory(int(row[0]), person, text, at), True

    async def supersede(self, scope: ConversationKey, old_ids: Sequence[int], by: int, at: float) -> list[int]:
        """Mark current facts of `scope` as replaced by `by` (never `by` itself)."""
        cid = await self._scope_id(scope, create=False)
        wanted = [i for i in dict.fromkeys(old_ids) if i != by]
        if cid is None or not wanted:
            return []
        marks, params = _placeholders(wanted)
        rows = await self._rows(f"UPDATE memory SET superseded_by = :by, superseded_at = :at WHERE {CURRENT} "
                                f"AND memory.id IN ({marks}) RETURNING id", {"cid": cid, "by": by, "at": at, **params})
        return sorted(int(r[0]) for r in rows)

    async def recall(self, scope: ConversationKey, query: str, limit: int = 5) -> list[Memory]:
        """Current facts of `scope` ranked by the full-text search (bm25 / ts_rank)."""
        return await self._search(scope, query, None, limit)

    async def similar(self, scope: ConversationKey, person: str, fact: str, limit: int = 5) -> list[Memory]:
        """This person's current facts in `scope` that the search matches with `fact`."""
        return await self._search(scope, fact, person, limit)

    async def _search(self, scope: ConversationKey, text: str, person: str | None, limit: int) -> list[Memory]:
        terms = search_terms(text)
        cid = await self._scope_id(scope, create=False)
        if cid is None or not terms:
            return []
        params: dict[str, Any] = {"cid": cid, "q": match_query(self.dialect, terms), "n": limit}
        only = ""
        if person is not None:
            only, params["p"] = " AND memory.person = :p", person
        rows = await self._rows(SEARCH[self.dialect].format(person=only), params)
        return [_memory(r) for r in rows]

    async def recent(self, scope: ConversationKey, limit: int = 5) -> list[Memory]:
        """The newest current facts of `scope`."""
        cid = await self._scope_id(scope, create=False)
        if cid is None:
            return []
        rows = await self._rows(f"SELECT {COLUMNS} FROM memory WHERE {CURRENT} "
                                "ORDER BY memory.created_at DESC, memory.id DESC LIMIT :n", {"cid": cid, "n": limit})
        return [_memory(r) for r in rows]

    async def listed(self, scope: ConversationKey, person: str) -> list[Memory]:
        """This person's current facts in `scope`, oldest first."""
        cid = await self._scope_id(scope, create=False)
        if cid is None:
            return []
        rows = await self._rows(f"SELECT {COLUMNS} FROM memory WHERE {CURRENT} AND memory.person = :p "
                                "ORDER BY memory.created_at, memory.id", {"cid": cid, "p": person})
        return [_memory(r) for r in rows]

    async def forget(self, scope: ConversationKey, memory_id: int) -> int:
        """Delete the fact and, down the chain, every older fact it superseded (forgotten means gone)."""
        cid = await self._scope_id(scope, create=False)
        if cid is None:
            return 0
        doomed: list[int] = []
        frontier = [memory_id]
        while frontier:
            doomed.extend(frontier)
            marks, params = _placeholders(frontier)
            rows = await self._rows("SELECT id FROM memory WHERE conversation_id = :cid "
                                    f"AND superseded_by IN ({marks})", {"cid": cid, **params})
            frontier = [int(r[0]) for r in rows if int(r[0]) not in doomed]
        marks, params = _placeholders(doomed)
        rows = await self._rows(f"DELETE FROM memory WHERE conversation_id = :cid AND id IN ({marks}) RETURNING id",
                                {"cid": cid, **params})
        return len(rows)

    async def forget_all(self, scope: ConversationKey, person: str | None = None) -> int:
        """Delete every fact of `scope` (or this person's there), current or superseded."""
        cid = await self._scope_id(scope, create=False)
        if cid is None:
            return 0
        only = "" if person is None else " AND person = :p"
        params: dict[str, Any] = {"cid": cid} if person is None else {"cid": cid, "p": person}
        rows = await self._rows(f"DELETE FROM memory WHERE conversation_id = :cid{only} RETURNING id", params)
        return len(rows)
