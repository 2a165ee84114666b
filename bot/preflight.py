"""Before a command uses the database: it opens, migrates and takes writes, or one line says why not."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from bot.settings import ConfigError
from bot.storage.migrate import upgrade
from bot.storage.url import create_sync_engine, is_sqlite

EXAMPLES = "like sqlite:///textbot.db or postgresql://user@host/dbname"


def check_database(database_url: str, *, write: bool = True) -> None:
    """Migrate the database to the newest schema and, if `write`, make sure it takes writes."""
    try:
        _probe(database_url, "SELECT 1")
        upgrade(database_url)
        if write:
            _probe(database_url, "UPDATE alembic_version SET version_num = version_num")
    except Exception as exc:  # whatever fails here is the database's doing: one line, no traceback
        raise ConfigError(database_problem(database_url, exc)) from None


def _probe(database_url: str, statement: str) -> None:
    # Through the blocking driver: a failed aiosqlite connect inside alembic's own event loop leaves a
    # worker thread that prints a traceback at exit. The write changes nothing and is rolled back; a
    # read-only file, mode or server refuses it now rather than at the first message to store.
    engine = create_sync_engine(database_url)
    try:
        with engine.connect() as conn:
            conn.execute(text(statement))
            conn.rollback()
    finally:
        engine.dispose()


def database_problem(database_url: str, exc: BaseException) -> str:
    """One line naming DATABASE_URL (its password hidden) and what went wrong with it."""
    try:
        shown = make_url(database_url).render_as_string(hide_password=True)
    except ArgumentError:
        return f"DATABASE_URL is not a database URL ({EXAMPLES})"
    if isinstance(exc, ValueError) and "DATABASE_URL" in str(exc):
        return str(exc)
    return f"DATABASE_URL={shown}: cannot use the database ({_reason(database_url, exc)})"


def _reason(database_url: str, exc: BaseException) -> str:
    path = _sqlite_path(database_url)
    if path is not None and path.is_dir():
        return f"{path} is a directory"
    if path is not None and not path.absolute().parent.is_dir():
        return f"there is no folder {path.absolute().parent}"
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        exc = exc.orig
    if isinstance(exc, socket.gaierror) and exc.strerror:
        return exc.strerror
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno)
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _sqlite_path(database_url: str) -> Path | None:
    try:
        if not is_sqlite(database_url):
            return None
    except (ValueError, ArgumentError):
        return None
    name = make_url(database_url).database
    return Path(name) if name and not name.startswith("file:") and name != ":memory:" else None
