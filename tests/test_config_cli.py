"""`textbot config` changes a chat's settings the way an admin command does, and they persist."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.core.events import ConversationKey
from bot.storage.sql_store import SqlStore

KEY = ConversationKey("telegram", "5")


def textbot(*words: str) -> int:
    return main(list(words))


async def stored_overrides(url: str) -> dict[str, object]:
    store = SqlStore.open(url)
    try:
        return (await store.load(KEY)).overrides
    finally:
        await store.close()


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def run_in_thread(fn: object, *args: str) -> int:
    # the command runs its own event loop, so it cannot run inside the test's
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args).result()  # type: ignore[arg-type]


async def test_set_then_show_from_the_command_line(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_in_thread(textbot, "config", "set", "--platform", "telegram", "--chat", "5", "debounce", "7") == 0
    assert run_in_thread(textbot, "config", "set", "--platform", "telegram", "--chat", "5", "turn", "fixed") == 0
    assert run_in_thread(textbot, "config", "show", "--platform", "telegram", "--chat", "5") == 0
    out = capsys.readouterr().out
    assert "debounce = 7 (override)" in out and "turn policy = fixed (override)" in out
    assert await stored_overrides(database) == {"timing": {"debounce": 7.0}, "turn": "fixed"}


async def test_invalid_values_are_refused_and_nothing_changes(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_in_thread(textbot, "config", "set", "--platform", "telegram", "--chat", "5", "wpm", "1000") == 2
    assert "words per minute must be between 5 and 400" in capsys.readouterr().out
    assert run_in_thread(textbot, "config", "set", "--platform", "telegram", "--chat", "5", "mood", "happy") == 2
    assert await stored_overrides(database) == {}
