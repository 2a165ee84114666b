"""A start-up problem is one line on stderr naming the variable, and exit status 2: never a traceback."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from bot.storage.migrate import upgrade
from tests.storage_kit import PostgresServer
from tests.test_cli import clean_env, run_textbot

pytest_plugins = ("tests.storage_kit",)

LLM = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": "sk-x", "LLM_MODEL": "m"}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens there once the socket is closed


async def start(tmp_path: Path, *args: str, **variables: str) -> tuple[int, str]:
    env = clean_env(tmp_path, PYTHONPATH=str(Path.cwd()), WEB_PORT="0", **LLM)
    env.update(variables)
    code, _, err = await asyncio.wait_for(run_textbot(list(args or ["run"]), env, b"", tmp_path), 40)
    return code, err


def one_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("textbot: "), err
    return lines[0]


@pytest.mark.parametrize(("variables", "line"), [
    ({"WEB_PORT": "99999"}, "textbot: WEB_PORT=99999: must be a port number from 0 to 65535"),
    ({"WEB_PORT": "abc"},
     "textbot: WEB_PORT=abc: input should be a valid integer, unable to parse string as an integer"),
    ({"PERSONA": "nobody"}, "textbot: PERSONA=nobody: unknown persona 'nobody'; choose from sage, sunny"),
    ({"TURN_POLICY": "fixed:nan"},
     "textbot: TURN_POLICY=fixed:nan: the fixed wait must be between 0 and 120 seconds (fixed:SECONDS)"),
    ({"TURN_POLICY": "immediate:5"}, "textbot: TURN_POLICY=immediate:5: immediate takes no value (just immediate)"),
    ({"TIMING_SCALE": "nan"}, "textbot: TIMING_SCALE=nan: input should be a finite number"),
    ({"DATABASE_URL": "nonsense"},
     "textbot: DATABASE_URL is not a database URL (like sqlite:///textbot.db or postgresql://user@host/dbname)"),
    ({"DATABASE_URL": "mysql://bot@db/textbot"},
     "textbot: DATABASE_URL must be a sqlite:// or postgresql:// URL, not mysql://"),
])
async def test_a_bad_setting_is_one_line_naming_it(tmp_path: Path, variables: dict[str, str], line: str) -> None:
    code, err = await start(tmp_path, **variables)
    assert (code, one_line(err)) == (2, line)


async def test_a_directory_as_the_database_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    code, err = await start(tmp_path, DATABASE_URL="sqlite:///data")
    assert code == 2
    assert one_line(err) == "textbot: DATABASE_URL=sqlite:///data: cannot use the database (data is a directory)"


async def test_a_database_in_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    code, err = await start(tmp_path, "chat", DATABASE_URL="sqlite:///nowhere/bot.db")
    assert code == 2
    assert one_line(err) == (f"textbot: DATABASE_URL=sqlite:///nowhere/bot.db: cannot use the database "
                             f"(there is no folder {tmp_path / 'nowhere'})")


async def test_a_read_only_database_is_refused_before_the_first_message(tmp_path: Path) -> None:
    upgrade(f"sqlite:///{tmp_path / 'bot.db'}")
    code, err = await start(tmp_path, DATABASE_URL="sqlite:///file:bot.db?mode=ro&uri=true")
    assert code == 2
    assert one_line(err).endswith(": cannot use the database (attempt to write a readonly database)")


async def test_postgresql_not_answering_is_one_line_with_the_password_hidden(tmp_path: Path) -> None:
    port = closed_port()
    code, err = await start(tmp_path, "db", "upgrade", DATABASE_URL=f"postgresql://bot:hunter2@127.0.0.1:{port}/textbot")
    assert code == 2
    line = one_line(err)
    assert line.startswith(f"textbot: DATABASE_URL=postgresql://bot:***@127.0.0.1:{port}/textbot: cannot use ")
    assert "Connection refused" in line and "hunter2" not in line


async def test_a_good_postgresql_database_is_migrated(tmp_path: Path, postgres_server: PostgresServer) -> None:
    if postgres_server.url is None:
        pytest.skip(f"PostgreSQL unavailable: {postgres_server.why_not}")
    url = postgres_server.create()
    try:
        code, err = await start(tmp_path, "db", "upgrade", DATABASE_URL=url)
    finally:
        postgres_server.drop(url)
    assert (code, err) == (0, "")
