"""The Telegram outlet: parts become sendMessage calls, edits and unsends editMessageText and deleteMessage,
typing sendChatAction."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from telegram import Bot, Message, ReplyParameters
from telegram.constants import ChatAction
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.adapters.telegram.delivery import SendRetry, retry_seconds, send_at_most_once
from bot.adapters.telegram.lanes import ChatLanes
from bot.adapters.telegram.translate import PLATFORM
from bot.core.clock import Clock
from bot.core.events import ConversationKey
from bot.core.ports import CannotChange, PartWithdrawn, always_wanted

log = logging.getLogger(__name__)
DELETE_WINDOW = 48 * 3600.0  # a bot may delete its own messages for 48 hours after sending them


def _thread(key: ConversationKey) -> int | None:
    return int(key.thread) if key.thread else None


class DeleteWindow:
    """Which of the bot's messages Telegram would refuse to delete because they are 48 hours old."""

    def __init__(self, clock: Clock, seconds: float = DELETE_WINDOW) -> None:
        self._clock = clock
        self._seconds = seconds
        self._sent: deque[tuple[float, str, int]] = deque()  # (sent at, chat, message id), oldest first
        self._closed_up_to: dict[str, int] = {}  # chat -> newest message id past the window

    def note_sent(self, chat: str, message_id: int) -> None:
        """The bot's message `message_id` reached `chat` now."""
        self._sent.append((self._clock.now(), chat, message_id))
        self._expire()

    def closed(self, chat: str, message_id: int) -> bool:
        """True if the message is known to be too old to delete (one sent before a restart: Telegram decides)."""
        self._expire()
        # Telegram numbers a chat's messages in order, so anything up to an expired id is older still.
        return message_id <= self._closed_up_to.get(chat, 0)

    def _expire(self) -> None:
        cutoff = self._clock.now() - self._seconds
        while self._sent and self._sent[0][0] <= cutoff:
            _, chat, message_id = self._sent.popleft()
            self._closed_up_to[chat] = max(self._closed_up_to.get(chat, 0), message_id)


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

    def __init__(self, bot: Bot, clock: Clock, retry: SendRetry | None = None) -> None:
        self._bot = bot
        self._clock = clock
        self._retry = retry or SendRetry()
        self._lanes = ChatLanes(clock)
        self._typing: dict[ConversationKey, asyncio.Task[None]] = {}
        self._deletable = DeleteWindow(clock)

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
        self._deletable.note_sent(key.chat, message.message_id)
        return str(message.message_id)

    async def edit(self, key: ConversationKey, platform_id: str, text: str) -> None:
        """Change a sent message's text (editMessageText), paced in its chat's lane like a send."""
        async def call() -> object:
            return await self._bot.edit_message_text(text, chat_id=int(key.chat), message_id=int(platform_id))

        await self._change(key, call)

    async def delete(self, key: ConversationKey, platform_id: str) -> None:
        """Take a sent message back (deleteMessage); one past Telegram's 48 h window is refused here."""
        if self._deletable.closed(key.chat, int(platform_id)):
            raise CannotChange("Telegram lets a bot delete its messages for 48 hours only")

        async def call() -> object:
            return await self._bot.delete_message(int(key.chat), int(platform_id))

        await self._change(key, call)

    async def _change(self, key: ConversationKey, call: Callable[[], Awaitable[object]]) -> None:
        """Run an edit or delete in the chat's lane; Telegram's refusals (gone, too old, unchanged) → CannotChange."""
        lane = self._lanes.get(key.chat)
        async with lane.lock:
            try:
                await send_at_most_once(self._clock, lane, self._retry, call)
            except (BadRequest, Forbidden) as exc:
                raise CannotChange(exc.message) from exc

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
