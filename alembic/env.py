"""Alembic's environment: textbot's models as the target, the async driver, batch mode for SQLite."""

from __future__ import annotations

import asyncio
from logging.config import fileConfig
from typing import Any

from sqlalchemy import pool, text
from sqlalchemy.engine import Connection

from alembic import context
from bot.storage.models import SCHEDULER_TABLE, is_search_object, metadata
from bot.storage.url import create_store_engine

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name)

target_metadata = metadata


def database_url() -> str:
    """sqlalchemy.url when set (migrate.py sets it), else DATABASE_URL from the environment or .env."""
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from bot.settings import Settings

    return Settings().database_url


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Leave APScheduler's own job table alone (it creates and owns it), and the memories' full-text search
    objects (migration 0003 makes them by hand: FTS5 tables on SQLite, an expression index on PostgreSQL)."""
    return not (type_ == "table" and name == SCHEDULER_TABLE) and not is_search_object(name)


def configure(**kwargs: Any) -> None:
    """The options every run shares."""
    context.configure(
        target_metadata=target_metadata,
        include_name=include_name,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table instead
        compare_type=True,
        **kwargs,
    )


def run_migrations_offline() -> None:
    """Emit SQL for the configured URL without connecting."""
    configure(url=database_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    """Run the migrations on an open connection."""
    configure(connection=connection)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":  # workers started together: one migrates, the others wait
            connection.execute(text("SELECT pg_advisory_xact_lock(7627736064283764)"))
        context.run_migrations()


async def run_async_migrations() -> None:
    """Connect through the bot's own async driver and migrate."""
    engine = create_store_engine(database_url(), poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_async_migrations())
