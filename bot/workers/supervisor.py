"""`textbot run --workers N`: start N worker processes on this host, restart one that dies, stop them together.

This is the small process manager a host without one needs; hosts that start processes themselves
(a Procfile line per worker, systemd, Kubernetes) run `textbot run` with WORKER_ID and WORKER_COUNT
instead, and restart it themselves. The workers share nothing but the database: the supervisor
only starts, watches and stops them (each child dies with it, even on SIGKILL, on Linux).
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import sys
import time
from collections.abc import Callable

from bot.settings import ConfigError, Settings
from bot.storage.url import is_sqlite

log = logging.getLogger(__name__)
START_FAILED = 2  # a worker's exit code for a start-up error: starting it again would fail again
STOP_TIMEOUT = 15.0
FIRST_RESTART_DELAY = 1.0
MAX_RESTART_DELAY = 30.0
STEADY_AFTER = 60.0  # seconds up after which a worker's earlier crashes are forgotten
PR_SET_PDEATHSIG = 1


def check_workers(settings: Settings, count: int) -> None:
    """Refuse (one line) what several workers cannot do: SQLite, or no platform to run."""
    if count < 1:
        raise ConfigError(f"--workers {count}: the number of workers must be 1 or more")
    if count == 1:
        return
    if is_sqlite(settings.database_url):
        raise ConfigError(f"{count} workers need PostgreSQL (DATABASE_URL=postgresql://user@host/db); "
                          "SQLite serves one worker: run textbot without --workers, or with WORKER_COUNT=1")
    if settings.telegram_bot_token is None and settings.discord_bot_token is None:
        raise ConfigError(f"{count} workers need TELEGRAM_BOT_TOKEN or DISCORD_BOT_TOKEN; "
                          "the local web chat runs in one process")


def worker_env(settings: Settings, slot: int, count: int) -> dict[str, str]:
    """A worker's environment: this one, its slot, and the model the supervisor started if it started one."""
    env = dict(os.environ, WORKER_ID=str(slot), WORKER_COUNT=str(count))
    if settings.openai_base_url and settings.openai_api_key and settings.llm_model:
        env.update(OPENAI_BASE_URL=settings.openai_base_url, OPENAI_API_KEY=settings.openai_api_key.get_secret_value(),
                   LLM_MODEL=settings.llm_model)
    return env


def _die_with_parent() -> Callable[[], None] | None:
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def hook() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the worker goes when the supervisor goes, however it goes
        if os.getppid() != parent:
            os._exit(1)

    return hook


class Supervisor:
    """Runs `count` workers until stopped; a worker that exits is started again, with a growing delay."""

    def __init__(self, settings: Settings, count: int) -> None:
        self.settings = settings
        self.count = count
        self.procs: dict[int, asyncio.subprocess.Process] = {}
        self._delays: dict[int, float] = {}
        self._started: dict[int, float] = {}

    async def start(self, slot: int) -> None:
        """Start worker `slot` (`python -m bot.cli run` with WORKER_ID and WORKER_COUNT set)."""
        self.procs[slot] = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", env=worker_env(self.settings, slot, self.count),
            preexec_fn=_die_with_parent())  # the hook only calls prctl: safe between fork and exec
        self._started[slot] = time.monotonic()
        log.info("worker %s started (pid %s)", slot, self.procs[slot].pid)

    async def run(self, stop: asyncio.Event) -> int:
        """Until `stop`: keep every worker running. Returns 2 if a worker could not start, else 0."""
        for slot in range(self.count):
            await self.start(slot)
        stopping = asyncio.create_task(stop.wait(), name="workers:stop")
        try:
            while not stop.is_set():
                exits = {asyncio.create_task(p.wait(), name=f"workers:wait:{s}"): s for s, p in self.procs.items()}
                done, _ = await asyncio.wait({*exits, stopping}, return_when=asyncio.FIRST_COMPLETED)
                for task in exits:
                    task.cancel()
                for task in done - {stopping}:
                    if await self._exited(exits[task]) == START_FAILED:
                        return START_FAILED
            return 0
        finally:
            stopping.cancel()
            await self.stop_all()

    async def _exited(self, slot: int) -> int:
        code = self.procs[slot].returncode or 0
        if code == START_FAILED:
            log.error("worker %s could not start (see its line above); stopping every worker", slot)
            return code
        up = time.monotonic() - self._started[slot]
        delay = FIRST_RESTART_DELAY if up > STEADY_AFTER else min(MAX_RESTART_DELAY, 2 * self._delays.get(slot, 0.5))
        self._delays[slot] = delay
        log.warning("worker %s exited with %s; starting it again in %.0f s", slot, code, delay)
        await asyncio.sleep(delay)
        await self.start(slot)
        return 0

    async def stop_all(self) -> None:
        """SIGTERM every worker (each hands its conversations on), SIGKILL any still running after a while."""
        running = [p for p in self.procs.values() if p.returncode is None]
        for proc in running:
            proc.send_signal(signal.SIGTERM)
        if running:
            await asyncio.wait([asyncio.create_task(p.wait()) for p in running], timeout=STOP_TIMEOUT)
            for proc in running:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()


async def supervise(settings: Settings, count: int) -> int:
    """Run `count` workers until SIGTERM or SIGINT; the exit code for the command line."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("starting %s workers", count)
    return await Supervisor(settings, count).run(stop)
