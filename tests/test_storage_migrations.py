"""Migrations take an empty database to a schema that matches the models, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from sqlalchemy import Connection, inspect, text

from alembic import command
from bot.storage.migrate import SCRIPT_LOCATION, alembic_config, current_revision, downgrade, head_revision, upgrade
from bot.storage.models import SCHEDULER_TABLE, metadata
from bot.storage.url import async_url, create_store_engine, create_sync_engine, sync_url

pytest_plugins = ("tests.storage_kit",)


def schema_diffs(conn: Connection) -> list[Any]:
    """What autogenerate would change to make the database match the models."""
    context = MigrationContext.configure(conn, opts={
        "compare_type": True, "include_name": lambda name, kind, parents: name != SCHEDULER_TABLE})
    return list(compare_metadata(context, metadata))


def table_names(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


async def test_an_empty_database_migrates_to_head_and_matches_the_models(empty_database: str) -> None:
    upgrade(empty_database)
    engine = create_store_engine(empty_database)
    try:
        assert await current_revision(engine) == head_revision()
        async with engine.connect() as conn:
            assert await conn.run_sync(schema_diffs) == []
            assert await conn.run_sync(table_names) >= {"conversation", "message", "chat_settings",
                                                        "person_rhythm", "trace_event", "follow_up"}
    finally:
        await engine.dispose()


async def test_the_job_stores_own_table_is_not_a_schema_difference(database_url: str) -> None:
    jobstore = SQLAlchemyJobStore(engine=create_sync_engine(database_url), tablename=SCHEDULER_TABLE)
    jobstore.jobs_t.create(jobstore.engine, checkfirst=True)  # as APScheduler does when it starts
    jobstore.shutdown()
    engine = create_store_engine(database_url)
    try:
        async with engine.connect() as conn:
            assert SCHEDULER_TABLE in await conn.run_sync(table_names)
            assert await conn.run_sync(schema_diffs) == []
    finally:
        await engine.dispose()


async def test_upgrade_is_idempotent_and_downgrade_empties_the_database(empty_database: str) -> None:
    upgrade(empty_database)
    upgrade(empty_database)
    downgrade(empty_database, "base")
    engine = create_store_engine(empty_database)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(table_names) <= {"alembic_version"}
        upgrade(empty_database)
        assert await current_revision(engine) == head_revision()
    finally:
        await engine.dispose()


def test_autogenerate_finds_nothing_to_do_on_a_migrated_database(database_url: str, tmp_path: Path) -> None:
    cfg = alembic_config(database_url)
    cfg.set_main_option("version_locations", f"{SCRIPT_LOCATION / 'versions'} {tmp_path}")
    cfg.set_main_option("path_separator", "space")
    command.revision(cfg, message="nothing", autogenerate=True, version_path=str(tmp_path), rev_id="check")
    script = (tmp_path / "check_nothing.py").read_text()
    assert "op." not in script.split("def upgrade")[1].split("def downgrade")[0]


async def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'wal.db'}"
    upgrade(url)
    engine = create_store_engine(url)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    finally:
        await engine.dispose()


@pytest.mark.parametrize(("plain", "for_the_bot", "for_the_job_store"), [
    ("sqlite:///textbot.db", "sqlite+aiosqlite:///textbot.db", "sqlite:///textbot.db"),
    ("sqlite:////var/lib/bot/x.db", "sqlite+aiosqlite:////var/lib/bot/x.db", "sqlite:////var/lib/bot/x.db"),
    ("postgresql://bot:s3cr%40t@db:5432/textbot", "postgresql+asyncpg://bot:s3cr%40t@db:5432/textbot",
     "postgresql+psycopg://bot:s3cr%40t@db:5432/textbot"),
    ("postgres://bot@db/textbot", "postgresql+asyncpg://bot@db/textbot", "postgresql+psycopg://bot@db/textbot"),
    ("postgresql+asyncpg://bot@db/textbot", "postgresql+asyncpg://bot@db/textbot",
     "postgresql+psycopg://bot@db/textbot"),
])
def test_a_plain_database_url_gets_the_right_drivers(plain: str, for_the_bot: str, for_the_job_store: str) -> None:
    assert async_url(plain) == for_the_bot
    assert sync_url(plain) == for_the_job_store


def test_an_unsupported_database_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="mysql"):
        async_url("mysql://bot@db/textbot")
