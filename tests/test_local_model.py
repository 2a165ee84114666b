"""The bundled local model (SmolLM2-135M through llama-cpp-python's server): it answers, and never outlives the bot."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import random
import re
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import openai
import pytest

from bot.core.clock import RealClock
from bot.core.config import EngineDeps
from bot.core.engine import Engine
from bot.core.events import Author, ConversationKey, HumanMessage
from bot.core.memory_store import MemoryStore
from bot.llm.local_model import BUNDLED_NAME, local_llm_if_needed
from bot.llm.model_errors import RetryPolicy
from bot.llm.openai_responder import OpenAIResponder
from bot.settings import ConfigError, Settings
from persona import load_persona
from tests.kit import RecordingOutlet

ROOT = Path(__file__).resolve().parents[1]


def no_llm(**extra: str) -> Settings:
    """Settings as on a fresh machine: no provider set, whatever this shell exports."""
    values: dict[str, object] = {"openai_base_url": None, "openai_api_key": None, "llm_model": None,
                                 "local_model_path": None, **extra}
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def alive(pid: int) -> bool:
    """The process exists and is not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def server_children() -> list[int]:
    """Pids of this process's children that run llama_cpp.server."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if ppid == os.getpid() and b"llama_cpp.server" in cmdline:
            found.append(int(stat.parent.name))
    return found


async def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return not alive(pid)


@pytest.fixture
async def local() -> AsyncIterator[Settings]:
    async with local_llm_if_needed(no_llm()) as settings:
        yield settings


async def test_a_burst_is_answered_in_parts_by_the_bundled_model(local: Settings) -> None:
    posted: list[dict[str, object]] = []

    async def record(request: httpx.Request) -> None:
        if request.url.path.endswith("/chat/completions"):
            posted.append(json.loads(request.content))

    assert local.openai_base_url is not None and local.openai_api_key is not None
    client = openai.AsyncOpenAI(base_url=local.openai_base_url, api_key=local.openai_api_key.get_secret_value(),
                                max_retries=0, timeout=60.0,
                                http_client=httpx.AsyncClient(event_hooks={"request": [record]}))
    # Real time: the model's real seconds of work would otherwise pass while the virtual clock is held.
    clock = RealClock()
    outlet = RecordingOutlet(clock)  # type: ignore[arg-type]  # it only asks the clock for now()
    sunny = load_persona("sunny")
    # Short parts, so that any sentence the model writes arrives as several messages.
    persona = dataclasses.replace(sunny, typing=dataclasses.replace(sunny.typing, max_part_chars=24))
    # Greedy decoding: the same reply every run, and the model's greedy answer here is several sentences.
    responder = OpenAIResponder(client, str(local.llm_model), clock, RetryPolicy(attempts=2), temperature=0.0)
    engine = Engine(EngineDeps(clock=clock, responder=responder, outlet=outlet, store=MemoryStore(),
                               persona=persona, turn="fixed:0.5", scale=0.01, rng=random.Random(1)))
    human = Author("u", "Alex")
    try:
        for i, text in enumerate(["heyyy", "i just got back from the beach", "what did you do today?"]):
            await engine.receive(HumanMessage(ConversationKey("test", "c"), f"h{i}", human, text))
        async with asyncio.timeout(120):
            while len(outlet.sent) < 2:
                await asyncio.sleep(0.05)
    finally:
        await engine.close()
        await client.close()
    texts = [s.text for s in outlet.sent]
    assert all(t.strip() for t in texts)
    assert all(len(t) <= 24 for t in texts[:-1]), texts
    assert len(posted) == 1, "one request answers the whole burst"
    said = [m["content"] for m in posted[0]["messages"]][-3:]  # type: ignore[index]
    assert said == ["heyyy", "i just got back from the beach", "what did you do today?"]
    assert posted[0]["model"] == BUNDLED_NAME and posted[0]["stream"] is True


async def test_the_server_is_stopped_when_the_bot_stops() -> None:
    async with local_llm_if_needed(no_llm()) as settings:
        [pid] = server_children()
        assert settings.llm_model == BUNDLED_NAME and settings.openai_base_url is not None
        assert settings.openai_base_url.startswith("http://127.0.0.1:")
        url = settings.openai_base_url
    assert not alive(pid)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/models", timeout=2)


async def test_the_server_is_stopped_when_the_bot_crashes() -> None:
    with pytest.raises(RuntimeError, match="the bot fell over"):
        async with local_llm_if_needed(no_llm()):
            [pid] = server_children()
            raise RuntimeError("the bot fell over")
    assert not alive(pid)


CHILD = """
import asyncio
from bot.llm.local_model import bundled_model, running_server

async def main():
    async with running_server(bundled_model(), "m") as server:
        print(server.pid, flush=True)
        await asyncio.sleep(3600)

asyncio.run(main())
"""


async def test_the_server_dies_with_a_bot_killed_by_sigkill() -> None:
    bot = await asyncio.create_subprocess_exec(sys.executable, "-c", CHILD, cwd=ROOT,
                                               stdout=asyncio.subprocess.PIPE)
    assert bot.stdout is not None
    try:
        pid = int(await asyncio.wait_for(bot.stdout.readline(), timeout=90))
        assert alive(pid)
    finally:
        bot.send_signal(signal.SIGKILL)
        await bot.wait()
    assert await gone_within(pid, 10), "the kernel ends the server when its parent dies"


async def test_an_explicit_provider_starts_nothing() -> None:
    given = no_llm(openai_base_url="http://127.0.0.1:9/v1", openai_api_key="k", llm_model="m")
    async with local_llm_if_needed(given) as settings:
        assert settings is given
        assert server_children() == []


async def test_a_local_model_path_that_is_not_a_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"LOCAL_MODEL_PATH=.*is not a file"):
        async with local_llm_if_needed(no_llm(local_model_path=str(tmp_path / "nope.gguf"))):
            pass


async def test_a_file_that_is_not_a_model_fails_with_the_servers_reason(tmp_path: Path) -> None:
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"this is not a gguf file\n" * 10)
    with pytest.raises(ConfigError, match="the local model server exited") as caught:
        async with local_llm_if_needed(no_llm(local_model_path=str(junk))):
            pass
    assert "\n" not in str(caught.value)
    assert server_children() == []


async def test_textbot_chat_answers_with_no_key_at_all(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LLM_", "LOCAL_MODEL"))}
    env.update(TIMING_SCALE="0.01", PYTHONPATH=str(ROOT), DATABASE_URL=f"sqlite:///{tmp_path}/t.db")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "chat", env=env, cwd=tmp_path, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(b"heyyy\nhow was your day?\n"), timeout=180)
    shown = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", out.decode())
    assert proc.returncode == 0, err.decode()[-2000:]
    assert [line for line in shown.splitlines() if line.startswith("sunny: ")], shown
    assert f"bundled local model {BUNDLED_NAME}" in err.decode()
    assert "OPENAI_BASE_URL" in err.decode(), "the log line says how to set a real provider"
