"""The textbot command as a person runs it: configuration errors, the terminal chat, log hygiene."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
from pathlib import Path

from bot.logs import RedactSecrets
from tests.fakes.openai_server import FakeOpenAIServer

TEXTBOT = [sys.executable, "-m", "bot.cli"]


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LLM_", "TELEGRAM_", "DISCORD_"))}
    env.update(extra)
    return env


async def run_textbot(args: list[str], env: dict[str, str], stdin: bytes, cwd: Path) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *TEXTBOT, *args, env=env, cwd=cwd, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin), timeout=60)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_without_an_llm_the_command_names_the_missing_variable(tmp_path: Path) -> None:
    env = clean_env(tmp_path, OPENAI_BASE_URL="http://127.0.0.1:9/v1", PYTHONPATH=str(Path.cwd()))
    code, _, err = await run_textbot(["run"], env, b"", tmp_path)
    assert code == 2
    assert "OPENAI_API_KEY is not set" in err


async def test_terminal_chat_answers_a_burst_in_parts(tmp_path: Path) -> None:
    async with FakeOpenAIServer() as server:
        server.reply_with(lambda messages: "omg hi\nyes i saw it\nwbu?")
        env = clean_env(tmp_path, OPENAI_BASE_URL=server.url, OPENAI_API_KEY="sk-terminal-secret",
                        LLM_MODEL="m", TIMING_SCALE="0.01", PYTHONPATH=str(Path.cwd()))
        code, out, err = await run_textbot(["chat"], env, b"heyyy\nsaw your story?\nwhat's up???\n", tmp_path)
    assert code == 0, err
    shown = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", out)
    assert [line for line in shown.splitlines() if line.startswith("sunny:")] == [
        "sunny: omg hi", "sunny: yes i saw it", "sunny: wbu?"
    ]
    assert server.request_count == 1, "one reply to the whole burst"
    assert [m["content"] for m in server.requests[0]["messages"][1:]] == ["heyyy", "saw your story?", "what's up???"]
    assert "sk-terminal-secret" not in out + err


def test_secrets_are_redacted_from_log_records() -> None:
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "GET https://api.telegram.org/bot%s/getMe",
                               ("123:SECRET",), None)
    RedactSecrets(["123:SECRET"]).filter(record)
    assert record.getMessage() == "GET https://api.telegram.org/bot[redacted]/getMe"


def test_env_example_is_a_working_env_file_listing_every_setting() -> None:
    from bot.settings import Settings

    example = Path(__file__).resolve().parents[1] / ".env.example"
    settings = Settings(_env_file=example)  # type: ignore[call-arg]
    assert settings.telegram_bot_token is None and settings.double_text_after_seconds is None
    listed = {line.split("=", 1)[0].lower() for line in example.read_text().splitlines() if "=" in line
              and not line.startswith("#")}
    assert listed == set(Settings.model_fields), "every setting is documented in .env.example, and only those"
