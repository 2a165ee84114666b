"""The Telegram outlet: the core's parts become sendMessage calls, its typing becomes sendChatAction."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable

from telegram import Bot, Message, ReplyParameters
from telegram.constants import ChatAction
from telegram.error import RetryAfter, TelegramError

from bot.adapters.telegram.delivery import RetryPolicy, retry_seconds, send_at_most_once
from bot.adapters.telegram.pacing import ChatLanes
from bot.adapters.telegram.translate import PLATFORM
from bot.core.clock import Clock
from bot.core.events import ConversationKey
from bot.core.ports import PartWithdrawn, always_wanted

log = logging.getLogger(__name__)


def _thread(key: ConversationKey) -> int | None:
    return int(key.thread) if key.thread else None


class TelegramOutlet:
    """Sends parts through per-chat lanes (paced, flood-aware, at most once) and shows "typing…".

    Telegram has no way to hide the indicator: it lapses after ~5 s or when the bot's next message
    arrives. So the outlet makes sure a typing request still on the wire lands *before* the part
    that follows it, and `stop_typing` does nothing.
    """

    platform: str = PLATFORM
    limit: int = 4096
    typing_ttl: float = 5.0
    has_typing_signal: bool = False

    def __init__(self, bot: Bot, clock: Clock, retry: RetryPolicy | None = None) -> None:
        self._bot = bot
        self._clock = clock
        self._retry = retry or RetryPolicy()
        self._lanes = ChatLanes(clock)
        self._typing: dict[ConversationKey, asyncio.Task[None]] = {}

    async def send(
        self, key: ConversationKey, text: str, reply_to: str | None, still_wanted: Callable[[], bool] = always_wanted
    ) -> str:
        """Queue one message in its chat's lane; return its Telegram message id once delivered."""
        lane = self._lanes.get(key.chat)

        async def call() -> Message:
            if not still_wanted():  # withdrawn while it waited its turn: never put it on the wire
                raise PartWithdrawn(text)
            return await self._send_message(key, text, reply_to)

        async with lane.lock:
            await self._typing_landed(key)
            message = await send_at_most_once(self._clock, lane, self._retry, call)
        return str(message.message_id)

    async def _send_message(self, key: ConversationKey, text: str, reply_to: str | None) -> Message:
        reply = None if reply_to is None else ReplyParameters(int(reply_to), allow_sending_without_reply=True)
        return await self._bot.send_message(
            int(key.chat), text, message_thread_id=_thread(key), reply_parameters=reply)

    async def typing(self, key: ConversationKey) -> None:
        """Show "typing…" in the chat (or topic) unless Telegram asked us to hold off there."""
        if self._lanes.get(key.chat).held:
            return
        task = self._typing.get(key)
        if task is None or task.done():
            task = asyncio.create_task(self._send_typing(key), name=f"telegram-typing:{key}")
            self._typing[key] = task
            task.add_done_callback(functools.partial(self._forget_typing, key))
        # Shielded: a cancelled indicator must not abort a request mid-flight, or it could land late.
        await asyncio.shield(task)

    async def _send_typing(self, key: ConversationKey) -> None:
        try:
            async with self._clock.hold():
                await self._bot.send_chat_action(int(key.chat), ChatAction.TYPING, message_thread_id=_thread(key))
        except RetryAfter as exc:
            self._lanes.get(key.chat).hold_off(retry_seconds(exc))
        except TelegramError as exc:  # a lost indicator is cosmetic
            log.debug("typing indicator failed in %s: %s", key, type(exc).__name__)

    async def _typing_landed(self, key: ConversationKey) -> None:
        task = self._typing.get(key)
        if task is not None:
            await asyncio.wait([task])

    def _forget_typing(self, key: ConversationKey, task: asyncio.Task[None]) -> None:
        if self._typing.get(key) is task:
            del self._typing[key]

    async def stop_typing(self, key: ConversationKey) -> None:
        """Nothing to do: Telegram clears "typing…" with the next message or after ~5 s."""

    async def close(self) -> None:
        """Let typing requests still on the wire finish (after the engine has stopped)."""
        tasks = list(self._typing.values())
        self._typing.clear()
        if tasks:
            await asyncio.wait(tasks)
