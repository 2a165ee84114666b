"""The database under the store: an async engine, one transaction at a time, conversation row ids."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import Any, Self

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.clock import Clock
from bot.core.events import ConversationKey
from bot.storage.models import Conversation
from bot.storage.url import create_store_engine


class Database:
    """An async engine with short transactions, the core's clock, and conversation row ids cached."""

    def __init__(self, engine: AsyncEngine, clock: Clock | None = None) -> None:
        self.engine = engine
        self.clock = clock
        self._sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
        self._ids: dict[ConversationKey, tuple[int, str]] = {}

    @classmethod
    def open(cls, database_url: str, clock: Clock | None = None) -> Self:
        """One on a plain DATABASE_URL (the schema must be migrated: see bot.storage.migrate)."""
        return cls(create_store_engine(database_url), clock)

    async def close(self) -> None:
        """Release the connections."""
        await self.engine.dispose()

    def now(self) -> float:
        """The core's clock when one was given, else wall time."""
        return self.clock.now() if self.clock is not None else time.time()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """One transaction, committed on exit; a virtual clock stands still meanwhile."""
        hold: AbstractAsyncContextManager[Any] = self.clock.hold() if self.clock is not None else nullcontext()
        async with hold, self._sessions.begin() as session:
            yield session

    def _insert(self, table: Any) -> Any:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(table)

    async def conversation_id(self, key: ConversationKey, kind: str | None = None) -> int:
        """The conversation's row id, created on first use; `kind` ("dm"/"group") is kept up to date."""
        known = self._ids.get(key)
        if known is not None and (kind is None or known[1] == kind):
            return known[0]
        async with self.session() as s:
            stmt = self._insert(Conversation).values(
                platform=key.platform, chat=key.chat, thread=key.thread, kind=kind or "dm", created_at=self.now()
            ).on_conflict_do_nothing(index_elements=["platform", "chat", "thread"])
            await s.exec(stmt)
            row = (await s.exec(select(Conversation).where(
                Conversation.platform == key.platform, Conversation.chat == key.chat,
                Conversation.thread == key.thread))).one()
            if kind is not None and row.kind != kind:
                row.kind = kind
            assert row.id is not None
            self._ids[key] = (row.id, row.kind)
            return row.id

    async def existing_id(self, key: ConversationKey) -> int | None:
        """The conversation's row id, or None when it was never stored (nothing is created)."""
        return await self._existing_id(key)

    async def _existing_id(self, key: ConversationKey) -> int | None:
        if key in self._ids:
            return self._ids[key][0]
        async with self.session() as s:
            row = (await s.exec(select(Conversation).where(
                Conversation.platform == key.platform, Conversation.chat == key.chat,
                Conversation.thread == key.thread))).first()
        if row is None or row.id is None:
            return None
        self._ids[key] = (row.id, row.kind)
        return row.id
