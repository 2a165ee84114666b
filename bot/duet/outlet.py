"""The outlet of one bot in a duet: what it sends or types arrives at the other bot's engine as a human's."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.core.clock import Clock
from bot.core.engine import Engine
from bot.core.events import Author, ConversationKey, HumanDelete, HumanEdit, HumanMessage, HumanTyping
from bot.core.ports import CannotChange, PartWithdrawn, always_wanted

_ids = itertools.count(1)


@dataclass(frozen=True, slots=True)
class DuetSend:
    """One message a duet bot sent, and whether it crossed the other's newest one (sent without seeing it)."""

    at: float
    name: str
    text: str
    message_id: str
    crossed: bool


@dataclass
class DuetOutlet:
    """Delivers to the other engine with `submit` (never waiting for it), so the two bots can cross."""

    clock: Clock
    name: str  # this bot's persona name: the author the other bot sees
    own_key: ConversationKey  # this bot's conversation in its own engine
    other_key: ConversationKey  # the other bot's conversation in the other engine
    platform: str = "duet"
    limit: int = 2000
    typing_ttl: float = 5.0
    has_typing_signal: bool = True
    own: Engine | None = None
    other: Engine | None = None
    peer: DuetOutlet | None = None  # the other bot's outlet (it knows what it delivered to us)
    on_send: Callable[[DuetSend], None] = lambda send: None
    received: list[str] = field(default_factory=list)  # ids of the other's messages delivered to this bot
    seen: set[str] = field(default_factory=set)  # ids any reply session of this bot covered
    sent: list[DuetSend] = field(default_factory=list)
    closed: bool = False  # the duet is over: nothing more reaches the other engine (it may be closed)

    async def send(
        self, key: ConversationKey, text: str, reply_to: str | None, still_wanted: Callable[[], bool] = always_wanted
    ) -> str:
        """Hand the text to the other bot as a human message, note whether it crossed, return its id."""
        assert self.other is not None and self.peer is not None
        if key != self.own_key:
            # Another conversation of this engine (one an earlier duet left unanswered) has no one to text: a
            # failed send ends its reply (a withdrawn part would be offered again and again).
            raise LookupError("not this duet's conversation")
        if self.closed or not still_wanted():
            raise PartWithdrawn("the duet is over" if self.closed else "withdrawn")
        message_id = f"{self.name}-{next(_ids)}"
        crossed = self._crosses()
        sent = DuetSend(self.clock.now(), self.name, text, message_id, crossed)
        self.sent.append(sent)
        self.peer.received.append(message_id)
        _forget_result(self.other.submit(HumanMessage(
            self.other_key, message_id, Author(self.name, self.name), text, at=sent.at)))
        self.on_send(sent)
        return message_id

    def _crosses(self) -> bool:
        """True when the other's newest message reached this bot but no session of it covered it."""
        actor = self.own.actors.get(self.own_key) if self.own is not None else None
        if actor is not None and actor.job is not None:
            self.seen.update(actor.job.covers)
        return bool(self.received) and self.received[-1] not in self.seen

    async def typing(self, key: ConversationKey) -> None:
        """The other bot sees this one typing, for `typing_ttl` seconds (not while it holds a finished part)."""
        assert self.other is not None
        if self.closed or key != self.own_key or self._holding():
            return
        _forget_result(self.other.submit(HumanTyping(self.other_key, Author(self.name, self.name), self.typing_ttl)))

    async def stop_typing(self, key: ConversationKey) -> None:
        """Nothing to send: the other's typing signal lapses by itself, as on Discord."""

    async def edit(self, key: ConversationKey, platform_id: str, text: str) -> None:
        """The other bot sees one of this bot's messages edited."""
        self._own_message(platform_id)
        assert self.other is not None
        if self.closed:
            return
        _forget_result(self.other.submit(HumanEdit(self.other_key, platform_id, text)))

    async def delete(self, key: ConversationKey, platform_id: str) -> None:
        """The other bot sees one of this bot's messages taken back."""
        self._own_message(platform_id)
        assert self.other is not None and self.peer is not None
        if self.closed:
            return
        if platform_id in self.peer.received:
            self.peer.received.remove(platform_id)  # gone from its chat: no longer "the newest" to cross
        _forget_result(self.other.submit(HumanDelete(self.other_key, platform_id)))

    def _holding(self) -> bool:
        """This bot holds a part back because the other is typing: a finished text waiting is not typing.

        Were it shown as typing, two bots holding at once would each wait for the other forever (the
        engine holds unsent parts while the human types, and a composing session keeps "typing…" on).
        """
        actor = self.own.actors.get(self.own_key) if self.own is not None else None
        return actor is not None and actor.job is not None and actor.job.paused

    def _own_message(self, platform_id: str) -> None:
        if not any(s.message_id == platform_id for s in self.sent):
            raise CannotChange("not a message of this bot")


def _forget_result(done: asyncio.Future[None]) -> None:
    """The sender does not wait for the other side; a failure there is the other's to log, not ours."""
    done.add_done_callback(lambda fut: fut.cancelled() or fut.exception())


def pair(clock: Clock, names: tuple[str, str], run_id: str, typing_ttl: float = 5.0) -> tuple[DuetOutlet, DuetOutlet]:
    """Two outlets facing each other: A's conversation key is the one B's outlet delivers to, and back."""
    key_a, key_b = ConversationKey("duet", run_id, "a"), ConversationKey("duet", run_id, "b")
    a = DuetOutlet(clock, names[0], key_a, key_b, typing_ttl=typing_ttl)
    b = DuetOutlet(clock, names[1], key_b, key_a, typing_ttl=typing_ttl)
    a.peer, b.peer = b, a
    return a, b
