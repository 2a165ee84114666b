"""An update processor that keeps each chat's updates in order while different chats proceed concurrently."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

MAX_CONCURRENT_UPDATES = 256


def chat_of(update: object) -> int | None:
    """The chat an update belongs to (None for updates without one)."""
    chat = update.effective_chat if isinstance(update, Update) else None
    return chat.id if chat is not None else None


class ChatOrder(BaseUpdateProcessor):
    """One lane per chat: a slow chat (a paced reply, a flood wait) never holds up the others.

    Updates enter `process_update` in the order they were fetched, and asyncio locks wake their
    waiters first come, first served, so a chat's updates reach the engine in Telegram's order.
    """

    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        self._lanes: dict[int | None, tuple[asyncio.Lock, int]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Await `coroutine` once every earlier update of the same chat has been handled."""
        chat = chat_of(update)
        lock, users = self._lanes.get(chat, (asyncio.Lock(), 0))
        self._lanes[chat] = (lock, users + 1)
        try:
            await self._in_turn(lock, coroutine)
        finally:
            lock, users = self._lanes[chat]
            if users == 1:
                del self._lanes[chat]
            else:
                self._lanes[chat] = (lock, users - 1)

    @staticmethod
    async def _in_turn(lock: asyncio.Lock, coroutine: Awaitable[Any]) -> None:
        try:
            await lock.acquire()
        except BaseException:
            if asyncio.iscoroutine(coroutine):
                coroutine.close()  # cancelled before its turn: it never started, so say so quietly
            raise
        try:
            await coroutine
        finally:
            lock.release()

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""
