"""An outlet and a store that act only while this worker surely still owns the conversation.

Another worker may take a conversation once this worker's lease period is over; a worker whose
heartbeat has stalled (a frozen VM, a starved CPU, a lost database) must not send into a chat the new
owner is answering, nor write its state: a reply it could not send would otherwise be recorded as
answering the messages, and the new owner would find nothing left to answer. So every send, edit and
delete, and every write of conversation state, first asks the cluster. The core treats a refused
part as withdrawn (nothing was sent); a refused write fails the item, which stays unanswered in the
store for the new owner.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

from bot.core.events import ConversationKey, HumanMessage
from bot.core.ports import CannotChange, Outlet, PartWithdrawn, Store, always_wanted

Holds = Callable[[ConversationKey], bool]
# The Store methods that change a conversation (reads and the timeline's trace pass through).
WRITES = frozenset({
    "save_human", "edit_human", "mark_answered", "plan_part", "part_sent", "part_cancelled", "part_edited",
    "part_unsent", "reply_started", "reply_ended", "forget", "save_overrides", "save_rhythm"})


class LeaseLost(Exception):
    """This worker may no longer own the conversation: the write was not made."""


class FencedOutlet:
    """Wraps a platform's outlet; refuses when `holds(key)` says the conversation may be someone else's now."""

    def __init__(self, outlet: Outlet, holds: Holds) -> None:
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


class FencedStore:
    """Wraps the store; a write for a conversation this worker may have lost raises LeaseLost instead."""

    def __init__(self, store: Store, holds: Holds) -> None:
        self._store = store
        self._holds = holds

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._store, name)
        if name not in WRITES:
            return found
        write = cast(Callable[..., Awaitable[Any]], found)

        async def fenced(first: Any, *args: Any, **kwargs: Any) -> Any:
            key = first.key if isinstance(first, HumanMessage) else first
            if not self._holds(key):
                raise LeaseLost(f"{key} may belong to another worker now; {name} not written")
            return await write(first, *args, **kwargs)

        return fenced


def fenced(outlet: Outlet, store: Store, holds: Holds) -> tuple[Outlet, Store]:
    """The outlet and the store an engine uses on this worker."""
    return FencedOutlet(outlet, holds), cast(Store, FencedStore(store, holds))
