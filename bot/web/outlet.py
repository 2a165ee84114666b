"""The Outlet for browser tabs: the bot's messages become bubbles (edited or unsent as in a messenger), its
typing a "typing…" bubble."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable

from bot.core.events import ConversationKey
from bot.core.ports import CannotChange, always_wanted
from bot.web.rooms import Rooms, bubble

# A command sent from the page's controls carries this prefix as its reply_to, so its answer is shown
# next to the control (a notice) instead of as a chat bubble; the rest names the control.
CONTROL_REPLY = "web-control:"


class WebOutlet:
    """Pushes bubbles and typing on/off to every socket of a tab's room; a closed tab still 'receives'."""

    platform: str = "web"
    limit: int = 4096
    typing_ttl: float = 5.0
    has_typing_signal: bool = True

    def __init__(self, rooms: Rooms) -> None:
        self.rooms = rooms
        self._ids = itertools.count(1)
        self._run = secrets.token_hex(3)  # ids stay unique across restarts of the bot

    async def send(
        self, key: ConversationKey, text: str, reply_to: str | None, still_wanted: Callable[[], bool] = always_wanted
    ) -> str:
        """Show one bot message (or, for a control's command, a notice by that control)."""
        message_id = f"b{self._run}-{next(self._ids)}"
        room = self.rooms.rooms.get(key)
        if room is None:
            return message_id  # no room: the tab is closed; the store has the message for when it opens
        if reply_to is not None and reply_to.startswith(CONTROL_REPLY):
            room.broadcast({"type": "notice", "ok": True, "field": reply_to[len(CONTROL_REPLY):], "text": text})
            return message_id
        room.typing = False
        item = bubble("bot", text, message_id)
        room.show(item)
        room.broadcast(item)
        return message_id

    async def edit(self, key: ConversationKey, platform_id: str, text: str) -> None:
        """Change a bot bubble's text in every window of the tab; it shows an "edited" mark."""
        self._change(key, platform_id, {"type": "edit", "id": platform_id, "text": text}, text=text, edited=True)

    async def delete(self, key: ConversationKey, platform_id: str) -> None:
        """Replace a bot bubble with an "unsent" mark in every window of the tab (its text is gone)."""
        self._change(key, platform_id, {"type": "unsend", "id": platform_id}, text="", unsent=True)

    def _change(self, key: ConversationKey, platform_id: str, message: dict[str, object], **fields: object) -> None:
        room = self.rooms.rooms.get(key)
        if room is None:
            return  # the tab is closed: the store holds the change for when it opens
        if not room.change(platform_id, **fields):
            raise CannotChange("this tab no longer shows that message")
        room.broadcast(message)

    async def typing(self, key: ConversationKey) -> None:
        """Show "typing…" in the tab; the page lets it lapse if no refresh or stop arrives."""
        room = self.rooms.rooms.get(key)
        if room is None:
            return
        room.typing = True
        room.broadcast({"type": "typing", "on": True, "ttl": self.typing_ttl})

    async def stop_typing(self, key: ConversationKey) -> None:
        """Hide "typing…"."""
        room = self.rooms.rooms.get(key)
        if room is None:
            return
        room.typing = False
        room.broadcast({"type": "typing", "on": False})
