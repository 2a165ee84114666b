"""An asyncio event loop on virtual time: when nothing is ready it jumps to the next timer at once.

For replays with no real I/O (the turn benchmark): every `asyncio.sleep` costs one timer, not a
real wait, so hours of chat replay in seconds while the engine code runs unchanged.
"""

from __future__ import annotations

import asyncio
import math
import selectors
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any


class _JumpingSelector(selectors.BaseSelector):
    """A selector that never waits: a timeout means "advance virtual time by this much"."""

    def __init__(self, loop: VirtualTimeLoop) -> None:
        self._loop = loop
        self._keys: dict[Any, selectors.SelectorKey] = {}

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        """Remember the registration (the loop's self-pipe); it never becomes ready."""
        key = selectors.SelectorKey(fileobj, fileobj if isinstance(fileobj, int) else fileobj.fileno(), events, data)
        self._keys[fileobj] = key
        return key

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        """Forget a registration."""
        return self._keys.pop(fileobj)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        """Advance virtual time to the next timer instead of waiting for it."""
        if timeout is None:
            raise RuntimeError("virtual-time loop has nothing scheduled and nothing ready: a deadlock")
        self._loop.advance(timeout)
        return []

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        """The registrations."""
        return self._keys

    def close(self) -> None:
        """Nothing to release."""
        self._keys.clear()


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose `time()` is virtual and only moves when it would otherwise wait."""

    def __init__(self, start: float = 0.0) -> None:
        self._virtual_now = start
        super().__init__(selector=_JumpingSelector(self))

    def time(self) -> float:
        """The virtual instant."""
        return self._virtual_now

    def advance(self, seconds: float) -> None:
        """Move virtual time forward, always by at least one representable step.

        A real clock always moves between two polls; far from zero a tiny timeout can vanish in
        rounding (or a timer be due at exactly now), and without the step the loop would spin
        forever short of a timer it can never reach.
        """
        moved = self._virtual_now + max(0.0, seconds)
        self._virtual_now = moved if moved > self._virtual_now else math.nextafter(self._virtual_now, math.inf)


class LoopClock:
    """The core's Clock on the running loop's own time (virtual on a VirtualTimeLoop)."""

    def now(self) -> float:
        """The loop's time."""
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        """Sleep on the loop."""
        await asyncio.sleep(max(0.0, seconds))

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        """No real I/O to hold for."""
        yield
