"""Per-chat send lanes: one message at a time, ~1 per second per chat, ≤20 a minute per group, on the Clock."""

from __future__ import annotations

import asyncio
from collections import deque

from bot.core.clock import Clock

PER_CHAT_GAP = 1.0  # seconds between two messages to one chat
GROUP_WINDOW = 60.0  # seconds
GROUP_MAX = 20  # messages per GROUP_WINDOW in a group
IDLE_AFTER = GROUP_WINDOW  # a lane unused this long has nothing left to remember


class ChatLane:
    """One chat's outgoing queue: sends wait their turn here instead of being dropped."""

    def __init__(self, clock: Clock, is_group: bool) -> None:
        self.lock = asyncio.Lock()  # FIFO: parts leave in the order they were queued
        self._clock = clock
        self._is_group = is_group
        self._recent: deque[float] = deque(maxlen=GROUP_MAX if is_group else 1)
        self._hold_until = 0.0
        self._used = clock.now()

    def ready_at(self) -> float:
        """The earliest instant the next message may go out."""
        due = self._hold_until
        if self._recent:
            due = max(due, self._recent[-1] + PER_CHAT_GAP)
        if self._is_group and len(self._recent) == GROUP_MAX:
            due = max(due, self._recent[0] + GROUP_WINDOW)
        return due

    async def wait_turn(self) -> None:
        """Sleep on the clock until this chat may receive another message."""
        while (delay := self.ready_at() - self._clock.now()) > 0:
            await self._clock.sleep(delay)

    def note_sent(self) -> None:
        """A message went out now."""
        self._used = self._clock.now()
        self._recent.append(self._used)

    def hold_off(self, seconds: float) -> None:
        """Send nothing here for `seconds` (Telegram asked us to wait, or the network is failing)."""
        self._used = self._clock.now()
        self._hold_until = max(self._hold_until, self._used + seconds)

    @property
    def held(self) -> bool:
        """True while a flood wait or a backoff is running."""
        return self._hold_until > self._clock.now()

    @property
    def idle(self) -> bool:
        """True when forgetting this lane loses nothing."""
        return not self.lock.locked() and self._clock.now() - self._used > IDLE_AFTER and not self.held


class ChatLanes:
    """The lanes of every chat the bot writes to, forgotten once idle."""

    def __init__(self, clock: Clock, prune_above: int = 256) -> None:
        self._clock = clock
        self._lanes: dict[str, ChatLane] = {}
        self._prune_above = prune_above

    def get(self, chat: str) -> ChatLane:
        """The lane for `chat` (a Telegram chat id; negative ids are groups)."""
        lane = self._lanes.get(chat)
        if lane is None:
            if len(self._lanes) >= self._prune_above:
                self._lanes = {c: kept for c, kept in self._lanes.items() if not kept.idle}
            lane = self._lanes[chat] = ChatLane(self._clock, is_group=chat.startswith("-"))
        return lane
