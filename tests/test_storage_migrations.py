"""Migrations take an empty database, or one an older version made, to a schema that matches the models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from sqlalchemy import Connection, inspect, text
from sqlmodel import col, select

from alembic import command
from bot.core.events import ConversationKey
from bot.core.ports import CutShortReply
from bot.storage.migrate import SCRIPT_LOCATION, alembic_config, current_revision, downgrade, head_revision, upgrade
from bot.storage.models import SCHEDULER_TABLE, Message, is_search_object, metadata
from bot.storage.sql_store import SqlStore
from bot.storage.url import async_url, create_store_engine, create_sync_engine, sync_url

pytest_plugins = ("tests.storage_kit",)


def schema_diffs(conn: Connection) -> list[Any]:
    """What autogenerate would change to make the database match the models."""
    context = MigrationContext.configure(conn, opts={
        "compare_type": True,
        "include_name": lambda name, kind, parents: name != SCHEDULER_TABLE and not is_search_object(name)})
    return list(compare_metadata(context, metadata))


def table_names(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


# The message table as revision 0001 made it (the columns a row needs), to write rows the old bot wrote.
MESSAGE_0001 = sa.table(
    "message", *(sa.column(name) for name in (
        "conversation_id", "direction", "state", "platform_id", "part_id", "sent_id", "author_id", "author_name",
        "text", "is_group", "addressed", "created_at", "sent_at", "history_seq")),
    sa.column("attachments", sa.JSON),
)


def a_chat_as_0001_left_it(database_url: str) -> None:
    """Telegram DM 42: "hi" answered by "hey!", then "you there?" unanswered while a part was planned."""
    engine = create_sync_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO conversation (platform, chat, thread, kind, created_at) "
                              "VALUES ('telegram', '42', '', 'dm', 1.0)"))
            cid = conn.execute(text("SELECT id FROM conversation")).scalar_one()
            common = {"conversation_id": cid, "author_id": "", "author_name": "", "attachments": [],
                      "is_group": False, "addressed": False, "platform_id": None, "part_id": None, "sent_id": None,
                      "sent_at": None, "history_seq": None}
            conn.execute(sa.insert(MESSAGE_0001), [
                {**common, "direction": "human", "state": "answered", "platform_id": "1", "author_id": "u1",
                 "author_name": "Alex", "text": "hi", "created_at": 10.0, "history_seq": 1},
                {**common, "direction": "bot", "state": "sent", "part_id": "p1", "sent_id": "m1", "text": "hey!",
                 "created_at": 11.0, "sent_at": 11.5, "history_seq": 2},
                {**common, "direction": "human", "state": "received", "platform_id": "2", "author_id": "u1",
                 "author_name": "Alex", "text": "you there?", "created_at": 12.0},
                {**common, "direction": "bot", "state": "planned", "part_id": "p2", "text": "yes!", "created_at": 13.0},
            ])
    finally:
        engine.dispose()


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


async def test_a_database_made_by_0001_upgrades_with_its_conversations_intact(empty_database: str) -> None:
    upgrade(empty_database, "0001")
    a_chat_as_0001_left_it(empty_database)
    upgrade(empty_database)
    dm = ConversationKey("telegram", "42")
    store = SqlStore.open(empty_database)
    try:
        assert await current_revision(store.engine) == head_revision()
        assert await store.recover() == [dm]
        loaded = await store.load(dm)
        assert [line.text for line in loaded.history] == ["hi", "hey!"]
        assert [m.text for m in loaded.pending] == ["you there?"] and loaded.cut_short is None
        async with store.session() as s:
            rows = (await s.exec(select(Message).order_by(col(Message.id)))).all()
        kinds = [(m.direction, m.kind, m.reply_id) for m in rows]
        assert kinds == [("human", "", None), ("bot", "reply", None), ("human", "", None), ("bot", "reply", None)]

        await store.part_unsent(dm, "p1", 20.0)  # what 0002 adds works on the old rows
        await store.reply_started(dm, "r1", ["2"], 21.0)
        await store.plan_part(dm, "p3", "sorry, here now", 22.0, reply_id="r1")
        await store.mark_answered(dm, ["2"])
        await store.part_sent(dm, "p3", "m3", 22.5)
        loaded = await store.load(dm)
        assert [line.text for line in loaded.history] == ["hi", "you there?", "sorry, here now"]
        assert loaded.cut_short == CutShortReply("r1", ("sorry, here now",), ("2",))
    finally:
        await store.close()


async def test_downgrading_to_0001_leaves_a_part_taken_back_out_of_the_history(empty_database: str) -> None:
    upgrade(empty_database, "0001")
    a_chat_as_0001_left_it(empty_database)
    upgrade(empty_database)
    store = SqlStore.open(empty_database)
    try:
        await store.part_unsent(ConversationKey("telegram", "42"), "p1", 20.0)
    finally:
        await store.close()
    downgrade(empty_database, "0001")
    engine = create_sync_engine(empty_database)
    try:
        with engine.connect() as conn:
            in_history = conn.execute(text("SELECT text FROM message WHERE history_seq IS NOT NULL")).scalars().all()
            assert "reply" not in table_names(conn)
    finally:
        engine.dispose()
    assert in_history == ["hi"]


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
