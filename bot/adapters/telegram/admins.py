"""Who may run admin commands on Telegram: ADMIN_USER_IDS anywhere, plus each group's own administrators."""

from __future__ import annotations

import logging

from telegram import Bot, Message
from telegram.error import TelegramError

from bot.adapters.telegram.translate import PLATFORM, is_group
from bot.core.clock import Clock

log = logging.getLogger(__name__)
ADMINS_TTL = 60.0  # seconds a group's administrator list is trusted before asking again


class AdminCheck:
    """Decides `is_admin` for a command, asking getChatAdministrators (cached briefly) in groups."""

    def __init__(self, bot: Bot, clock: Clock, admin_ids: frozenset[str], ttl: float = ADMINS_TTL) -> None:
        self._bot = bot
        self._clock = clock
        self._admin_ids = admin_ids
        self._ttl = ttl
        self._groups: dict[int, tuple[float, frozenset[int]]] = {}

    async def is_admin(self, message: Message) -> bool:
        """ADMIN_USER_IDS everywhere; in groups also the chat's administrators; in DMs nobody else."""
        user = message.from_user
        if user is not None and f"{PLATFORM}:{user.id}" in self._admin_ids:
            return True
        if not is_group(message):
            return False
        if message.sender_chat is not None:  # an anonymous administrator posts as the group itself
            return message.sender_chat.id == message.chat.id
        return user is not None and user.id in await self._group_admins(message.chat.id)

    async def _group_admins(self, chat_id: int) -> frozenset[int]:
        now = self._clock.now()
        cached = self._groups.get(chat_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            async with self._clock.hold():
                members = await self._bot.get_chat_administrators(chat_id)
        except TelegramError as exc:  # refuse rather than guess
            log.warning("could not list the administrators of %s: %s", chat_id, type(exc).__name__)
            return frozenset()
        admins = frozenset(member.user.id for member in members)
        self._groups = {c: v for c, v in self._groups.items() if v[0] > now}
        self._groups[chat_id] = (now + self._ttl, admins)
        return admins
