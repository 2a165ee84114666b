"""Runs the alembic migrations programmatically (`textbot db upgrade`, and at `textbot run` start)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

from alembic import command

ROOT = Path(__file__).resolve().parents[2]
SCRIPT_LOCATION = ROOT / "alembic"


def alembic_config(database_url: str) -> Config:
    """An alembic Config for `database_url` (a plain URL; env.py picks the async driver)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPT_LOCATION))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False  # leave the bot's logging as it is
    return cfg


def _in_own_thread(work: Callable[[], object]) -> None:
    """Run `work` on a fresh thread (env.py runs its own event loop, which a running loop forbids)."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            work()
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=target, name="alembic")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database to `revision` (default: the newest); a no-op when already there."""
    _in_own_thread(lambda: command.upgrade(alembic_config(database_url), revision))


def downgrade(database_url: str, revision: str) -> None:
    """Migrate the database back to `revision` ("base" empties it)."""
    _in_own_thread(lambda: command.downgrade(alembic_config(database_url), revision))


async def upgrade_async(database_url: str, revision: str = "head") -> None:
    """upgrade() without blocking the running event loop."""
    await asyncio.to_thread(upgrade, database_url, revision)


def head_revision() -> str | None:
    """The newest revision in alembic/versions."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at (None when never migrated)."""
    async with engine.connect() as conn:
        return await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
