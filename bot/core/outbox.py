"""The one way a conversation's messages go out: recorded before they are sent, their fate recorded after."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.core.clock import Clock
from bot.core.events import ConversationKey
from bot.core.ports import CannotChange, Outlet, PartWithdrawn, Store, Tracer, always_wanted

log = logging.getLogger(__name__)
_part_ids = itertools.count(1)


def new_part_id() -> str:
    """A process-unique id for an outgoing part."""
    return f"p{next(_part_ids)}"


@dataclass(frozen=True, slots=True)
class Delivered:
    """A message that reached the platform."""

    part_id: str
    platform_id: str
    text: str
    at: float


class Outbox:
    """Records, sends, edits and takes back one conversation's messages (reply parts, canned lines, commands)."""

    def __init__(self, key: ConversationKey, outlet: Outlet, store: Store, clock: Clock, trace: Tracer) -> None:
        self.key = key
        self.outlet = outlet
        self.store = store
        self.clock = clock
        self.trace = trace

    async def send(
        self, text: str, *, reply_to: str | None = None, kind: str = "reply", reply_id: str = "",
        still_wanted: Callable[[], bool] = always_wanted,
    ) -> Delivered | None:
        """Record the message, send it; None if it was withdrawn before reaching the wire.

        Raises whatever the outlet raised when the send failed (the part is recorded as cancelled).
        The caller confirms a delivery with `confirm` once it has put what it answers into history.
        """
        part_id = new_part_id()
        await self.store.plan_part(self.key, part_id, text, self.clock.now(), kind=kind, reply_id=reply_id)
        if not still_wanted():  # the human wrote while the part was being recorded
            await self.store.part_cancelled(self.key, part_id, "withdrawn while queued")
            return None
        try:
            platform_id = await self.outlet.send(self.key, text, reply_to, still_wanted=still_wanted)
        except PartWithdrawn:
            await self.store.part_cancelled(self.key, part_id, "withdrawn while queued")
            return None
        except Exception as exc:
            log.warning("could not send a %s to %s: %s", kind, self.key, type(exc).__name__)
            await self.store.part_cancelled(self.key, part_id, "send failed")
            raise
        return Delivered(part_id, platform_id, text, self.clock.now())

    async def confirm(self, delivered: Delivered) -> None:
        """Record that the message was delivered (after what it answers went into history)."""
        await self.store.part_sent(self.key, delivered.part_id, delivered.platform_id, delivered.at)

    async def send_or_none(self, text: str, *, kind: str) -> Delivered | None:
        """Send (not yet confirmed); None if it was withdrawn or failed (the failure is logged and recorded)."""
        try:
            return await self.send(text, kind=kind)
        except Exception:
            return None

    async def say(self, text: str, *, reply_to: str | None = None, kind: str = "line") -> Delivered | None:
        """Send and confirm at once (canned lines, command answers); None if it could not be sent."""
        try:
            delivered = await self.send(text, reply_to=reply_to, kind=kind)
        except Exception:  # logged and recorded by send
            return None
        if delivered is not None:
            await self.confirm(delivered)
        return delivered

    async def edit(self, delivered: Delivered, text: str) -> bool:
        """Change a delivered message's text; False where the platform refuses."""
        try:
            await self.outlet.edit(self.key, delivered.platform_id, text)
        except Exception as exc:  # CannotChange, or the platform failed: the old text stands
            log.info("could not edit a message in %s: %s", self.key, _why(exc))
            return False
        await self.store.part_edited(self.key, delivered.part_id, text, self.clock.now())
        self.trace(self.key, "part_edited", self.clock.now(), text=text, was=delivered.text)
        return True

    async def unsend(self, delivered: Delivered) -> bool:
        """Take back a delivered message; False where the platform refuses."""
        try:
            await self.outlet.delete(self.key, delivered.platform_id)
        except Exception as exc:  # CannotChange, or the platform failed: the message stays
            log.info("could not unsend a message in %s: %s", self.key, _why(exc))
            return False
        await self.store.part_unsent(self.key, delivered.part_id, self.clock.now())
        self.trace(self.key, "part_unsent", self.clock.now(), text=delivered.text)
        return True


def _why(exc: Exception) -> str:
    return str(exc) if isinstance(exc, CannotChange) else type(exc).__name__
