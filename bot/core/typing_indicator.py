"""Keeps a platform's "typing…" indicator alive while held, refreshed before it lapses."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType

from bot.core.clock import Clock
from bot.core.events import ConversationKey
from bot.core.ports import Outlet
from bot.core.tasks import cancel_and_wait

log = logging.getLogger(__name__)
REFRESH_MARGIN = 0.8  # refresh at 80% of the indicator's lifetime


class TypingIndicator:
    """`async with TypingIndicator(...)`: typing shown for the whole block, stopped after it."""

    def __init__(self, outlet: Outlet, key: ConversationKey, clock: Clock) -> None:
        self._outlet = outlet
        self._key = key
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> TypingIndicator:
        self._task = asyncio.create_task(self._keep_alive(), name=f"typing:{self._key}")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        with contextlib.suppress(Exception):
            await self._outlet.stop_typing(self._key)

    async def _keep_alive(self) -> None:
        interval = max(0.5, self._outlet.typing_ttl * REFRESH_MARGIN)
        while True:
            try:
                await self._outlet.typing(self._key)
            except Exception as exc:  # a lost indicator is cosmetic; the reply must go on
                log.debug("typing indicator failed for %s: %s", self._key, type(exc).__name__)
            await self._clock.sleep(interval)
