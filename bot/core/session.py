"""The engine's side of a reply session: a feed of what the chat did while the responder works."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bot.core.clock import Clock
from bot.core.ports import Heard, Receipt
from bot.core.tasks import cancel_and_wait


class Feed:
    """What a running reply session hears (new messages, edits, typing, receipts), in order, none lost."""

    def __init__(self, clock: Clock, note: Callable[..., None] | None = None) -> None:
        self._clock = clock
        self._note = note
        self._heard: list[Heard] = []
        self._receipts: dict[int, Receipt] = {}
        self._changed = asyncio.Event()

    def put(self, item: Heard) -> None:
        """The actor tells the session something happened."""
        self._heard.append(item)
        if isinstance(item, Receipt):
            self._receipts[item.part] = item
        self._changed.set()

    def take(self) -> list[Heard]:
        """Everything heard since the last take, without waiting."""
        heard, self._heard = self._heard, []
        self._changed.clear()
        return heard

    async def wait(self, seconds: float) -> list[Heard]:
        """Wait up to `seconds` (on the clock) for something to be heard, then take it all."""
        if not self._heard and seconds > 0:
            await self._until_changed(seconds)
        return self.take()

    async def receipt(self, part: int) -> Receipt:
        """Wait until Say number `part` was delivered or withheld."""
        while part not in self._receipts:
            self._changed.clear()
            await self._changed.wait()
        return self._receipts[part]

    def note(self, kind: str, **data: Any) -> None:
        """Put a step of the session on the conversation's timeline."""
        if self._note is not None:
            self._note(kind, **data)

    async def _until_changed(self, seconds: float) -> None:
        self._changed.clear()
        changed = asyncio.create_task(self._changed.wait(), name="feed:wait")
        timer = asyncio.create_task(self._clock.sleep(seconds), name="feed:timer")
        try:
            await asyncio.wait([changed, timer], return_when=asyncio.FIRST_COMPLETED)
        finally:
            await cancel_and_wait(changed)
            await cancel_and_wait(timer)
