"""An outlet that sends only while this worker surely still owns the conversation.

Another worker may take a conversation once this worker's lease period is over; a worker whose
heartbeat has stalled (a frozen VM, a lost database) must not send into a chat the new owner is
answering. So every send, edit and delete first asks the cluster; the core treats a refused part as
withdrawn (nothing was sent) and ends the reply.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.core.events import ConversationKey
from bot.core.ports import CannotChange, Outlet, PartWithdrawn, always_wanted


class FencedOutlet:
    """Wraps a platform's outlet; refuses when `holds(key)` says the conversation may be someone else's now."""

    def __init__(self, outlet: Outlet, holds: Callable[[ConversationKey], bool]) -> None:
        self.outlet = outlet
        self.holds = holds
        self.platform = outlet.platform
        self.limit = outlet.limit
        self.typing_ttl = outlet.typing_ttl
        self.has_typing_signal = outlet.has_typing_signal

    async def send(
        self, key: ConversationKey, text: str, reply_to: str | None, still_wanted: Callable[[], bool] = always_wanted
    ) -> str:
        """Send through the platform unless the lease may be lost."""
        if not self.holds(key):
            raise PartWithdrawn(f"{key} may belong to another worker now")
        return await self.outlet.send(key, text, reply_to, lambda: self.holds(key) and still_wanted())

    async def typing(self, key: ConversationKey) -> None:
        """Show typing while the lease holds."""
        if self.holds(key):
            await self.outlet.typing(key)

    async def stop_typing(self, key: ConversationKey) -> None:
        """Hide typing (harmless whoever owns the chat)."""
        await self.outlet.stop_typing(key)

    async def edit(self, key: ConversationKey, platform_id: str, text: str) -> None:
        """Edit while the lease holds."""
        if not self.holds(key):
            raise CannotChange(f"{key} may belong to another worker now")
        await self.outlet.edit(key, platform_id, text)

    async def delete(self, key: ConversationKey, platform_id: str) -> None:
        """Delete while the lease holds."""
        if not self.holds(key):
            raise CannotChange(f"{key} may belong to another worker now")
        await self.outlet.delete(key, platform_id)
