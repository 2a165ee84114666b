"""A `textbot` process under test: what it logged, SIGKILL, and waiting for something while it runs."""

from __future__ import annotations

import asyncio
import inspect
import signal
from collections.abc import Awaitable, Callable


class LoggedProcess:
    """One bot process started by a test: the process and every line it wrote."""

    name = "the bot"  # in failure messages
    poll_every = 0.02  # seconds between two looks of `until`
    patience = 20.0  # how long `until` waits unless told

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.log: list[str] = []
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            self.log.append(raw.decode().rstrip())

    def logged(self, words: str) -> bool:
        """True once a log line contains `words`."""
        return any(words in line for line in self.log)

    def signal_kill(self) -> None:
        """Send SIGKILL (if it still runs) without waiting."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)

    async def kill(self) -> None:
        """SIGKILL: no cleanup of any kind."""
        self.signal_kill()
        await asyncio.wait_for(self.proc.wait(), timeout=10)
        await asyncio.wait_for(self.reader, timeout=10)


async def until(done: Callable[[], bool | Awaitable[bool]], what: str, process: LoggedProcess,
                timeout: float | None = None) -> None:
    """Poll (in real time, at most `timeout` s or the process's patience) until `done()`; fail early, with its
    log, if `process` exits."""
    deadline = asyncio.get_running_loop().time() + (process.patience if timeout is None else timeout)
    while asyncio.get_running_loop().time() < deadline:
        result = done()
        if await result if inspect.isawaitable(result) else result:
            return
        if process.proc.returncode is not None:
            raise AssertionError(f"{process.name} exited while waiting for {what}:\n" + "\n".join(process.log))
        await asyncio.sleep(process.poll_every)
    raise AssertionError(f"timed out waiting for {what}; {process.name} logged:\n" + "\n".join(process.log))
