"""The port between a platform adapter and the conversations: where an event goes, who does a solo duty.

In one process every conversation is this process's and the engine itself is the `Inbound`. With
several workers (bot/workers/) an `Inbound` looks up the conversation's owner: its own events go
to its engine, the rest are handed to the owner through the database; a duty that must run once
(Telegram's long polling) runs where its lease is held.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.core.events import Event


class Inbound(Protocol):
    """Where an adapter puts what it received."""

    async def receive(self, event: Event) -> bool | None:
        """Return once the event is stored by its conversation, or durably handed to the conversation's owner
        (then False: whatever answers it, a slash command's answer too, comes from that worker)."""
        ...


Work = Callable[[asyncio.Event], Awaitable[None]]
RunAlone = Callable[[str, Work, asyncio.Event], Awaitable[None]]


async def run_here(name: str, work: Work, stop: asyncio.Event) -> None:
    """One process: a solo duty simply runs here, until `stop` is set."""
    await work(stop)
