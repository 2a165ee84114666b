"""Storage test kit: real databases (a SQLite file, the PostgreSQL server scripts/install-postgres.sh starts).

Test modules load it with `pytest_plugins = ("tests.storage_kit",)`. Every test gets a database of its
own; `backend` is parametrised over "sqlite" and "postgresql", so each storage test runs on both.
`any_store` adds MemoryStore to those two, for the Store contract every implementation keeps.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url
from sqlmodel import select

from bot.core.memory_store import MemoryStore
from bot.storage.migrate import upgrade
from bot.storage.models import Message
from bot.storage.sql_store import SqlStore

ROOT = Path(__file__).resolve().parents[1]
INSTALL_POSTGRES = ROOT / "scripts" / "install-postgres.sh"
BACKENDS = ("sqlite", "postgresql")
STORE_KINDS = ("memory", *BACKENDS)


@dataclass
class PostgresServer:
    """The test server: a plain URL to its maintenance database, or why there is none."""

    url: str | None
    why_not: str = ""

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        assert self.url is not None
        url = make_url(self.url).set(drivername="postgresql", database="postgres")
        return psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)

    def create(self, template: str | None = None) -> str:
        """A new empty (or copied from `template`) database; returns its plain URL."""
        name = f"textbot_{uuid.uuid4().hex[:12]}"
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        assert self.url is not None
        return make_url(self.url).set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        """Remove a database made by create()."""
        name = make_url(url).database
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_server() -> PostgresServer:
    """Install (when missing) and start the throwaway PostgreSQL server; never fails, may say why not."""
    try:
        done = subprocess.run(["bash", str(INSTALL_POSTGRES)], capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return PostgresServer(None, f"scripts/install-postgres.sh could not run: {exc}")
    if done.returncode != 0:
        return PostgresServer(None, f"scripts/install-postgres.sh failed: {done.stderr.strip()[-800:]}")
    return PostgresServer(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def migrated_templates(postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One database per backend migrated to head, copied for each test that wants a migrated one."""
    sqlite_file = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{sqlite_file}")
    templates = {"sqlite": str(sqlite_file)}
    if postgres_server.url is not None:
        url = postgres_server.create()
        upgrade(url)
        templates["postgresql"] = str(make_url(url).database)
    return templates


def _skip_without(kind: str, postgres_server: PostgresServer) -> None:
    """PostgreSQL is skipped only when it could not be installed, and says why."""
    if kind == "postgresql" and postgres_server.url is None:
        print(f"PostgreSQL unavailable: {postgres_server.why_not}")
        pytest.skip(f"PostgreSQL unavailable: {postgres_server.why_not}")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, postgres_server: PostgresServer) -> str:
    """The database kind under test; PostgreSQL is skipped only when it could not be installed."""
    kind: str = request.param
    _skip_without(kind, postgres_server)
    return kind


@pytest.fixture
def empty_database(backend: str, postgres_server: PostgresServer, tmp_path: Path) -> Iterator[str]:
    """A plain DATABASE_URL to a database with no tables."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'bot.db'}"
        return
    url = postgres_server.create()
    yield url
    postgres_server.drop(url)


@contextmanager
def migrated_database(backend: str, postgres_server: PostgresServer, migrated_templates: dict[str, str],
                      tmp_path: Path) -> Iterator[str]:
    """A plain DATABASE_URL to a new database migrated to head (a PostgreSQL one is dropped after)."""
    if backend == "sqlite":
        path = tmp_path / "bot.db"
        shutil.copyfile(migrated_templates["sqlite"], path)
        yield f"sqlite:///{path}"
        return
    url = postgres_server.create(template=migrated_templates["postgresql"])
    try:
        yield url
    finally:
        postgres_server.drop(url)


@pytest.fixture
def database_url(backend: str, postgres_server: PostgresServer, migrated_templates: dict[str, str],
                 tmp_path: Path) -> Iterator[str]:
    """A plain DATABASE_URL to a database of its own, migrated to head."""
    with migrated_database(backend, postgres_server, migrated_templates, tmp_path) as url:
        yield url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlStore]:
    """A SqlStore on a fresh migrated database."""
    sql = SqlStore.open(database_url)
    yield sql
    await sql.close()


@dataclass
class StoreUnderTest:
    """One Store implementation on fresh data, and the store a restarted process would open on that data."""

    kind: str
    store: MemoryStore | SqlStore
    database_url: str | None = None
    _opened: list[SqlStore] = field(default_factory=list)

    async def restarted(self) -> MemoryStore | SqlStore:
        """The same memory (MemoryStore outlives a simulated restart), or a new SqlStore on the same database."""
        if self.database_url is None:
            return self.store
        again = SqlStore.open(self.database_url)
        self._opened.append(again)
        return again

    async def close(self) -> None:
        """Release every SqlStore opened for the test."""
        for sql in [self.store, *self._opened]:
            if isinstance(sql, SqlStore):
                await sql.close()


@pytest.fixture(params=STORE_KINDS)
async def any_store(request: pytest.FixtureRequest, postgres_server: PostgresServer,
                    migrated_templates: dict[str, str], tmp_path: Path) -> AsyncIterator[StoreUnderTest]:
    """Each Store implementation in turn: MemoryStore, SqlStore on SQLite, SqlStore on PostgreSQL."""
    kind: str = request.param
    if kind == "memory":
        yield StoreUnderTest(kind, MemoryStore())
        return
    _skip_without(kind, postgres_server)
    with migrated_database(kind, postgres_server, migrated_templates, tmp_path) as url:
        under_test = StoreUnderTest(kind, SqlStore.open(url), url)
        try:
            yield under_test
        finally:
            await under_test.close()


async def stored_messages(database_url: str) -> list[Message]:
    """Every stored message (both directions), in the order they were stored."""
    store = SqlStore.open(database_url)
    try:
        async with store.session() as s:
            return list((await s.exec(select(Message).order_by(Message.id))).all())  # type: ignore[arg-type]
    finally:
        await store.close()
