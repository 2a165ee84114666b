"""From a plain DATABASE_URL to engines: the async driver for the bot, a sync one for the job store."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

SQLITE_BUSY_SECONDS = 30.0
JOBSTORE_BUSY_SECONDS = 1.0  # the job store blocks the event loop while it waits

_ASYNC = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
_SYNC = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg"}


def _backend(url: URL) -> str:
    name = url.get_backend_name()
    if name == "postgres":
        return "postgresql"
    if name not in _ASYNC:
        raise ValueError(f"DATABASE_URL must be a sqlite:// or postgresql:// URL, not {name}://")
    return name


def _parse(database_url: str) -> URL:
    if database_url.startswith("postgres://"):  # the scheme Heroku-style hosts hand out
        database_url = "postgresql://" + database_url.removeprefix("postgres://")
    return make_url(database_url)


def async_url(database_url: str) -> str:
    """`sqlite:///x.db` → `sqlite+aiosqlite:///x.db`; `postgresql://…` → `postgresql+asyncpg://…`."""
    url = _parse(database_url)
    return url.set(drivername=_ASYNC[_backend(url)]).render_as_string(hide_password=False)


def sync_url(database_url: str) -> str:
    """The same database through a blocking driver (sqlite3, psycopg), for APScheduler's job store."""
    url = _parse(database_url)
    return url.set(drivername=_SYNC[_backend(url)]).render_as_string(hide_password=False)


def is_sqlite(database_url: str) -> bool:
    """True when the URL names a SQLite database."""
    return _backend(_parse(database_url)) == "sqlite"


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
        cursor.execute("PRAGMA synchronous=FULL")  # a committed write survives a power cut too
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def create_store_engine(database_url: str, **options: Any) -> AsyncEngine:
    """An async engine for the store; SQLite in WAL mode with a generous busy timeout."""
    url = async_url(database_url)
    if is_sqlite(database_url):
        options.setdefault("connect_args", {"timeout": SQLITE_BUSY_SECONDS})
    else:
        options.setdefault("pool_pre_ping", True)
    engine = create_async_engine(url, json_serializer=_dumps, **options)
    if is_sqlite(database_url):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def create_sync_engine(database_url: str, **options: Any) -> Engine:
    """A blocking engine on the same database (APScheduler's job store is synchronous)."""
    if is_sqlite(database_url):
        options.setdefault("connect_args", {"timeout": JOBSTORE_BUSY_SECONDS})
    else:
        options.setdefault("pool_pre_ping", True)
    engine = create_engine(sync_url(database_url), json_serializer=_dumps, **options)
    if is_sqlite(database_url):
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine
