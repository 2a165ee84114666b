"""A conversation test kit: a recording outlet, a scripted responder and a chat driven in virtual time."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from typing import Any

from bot.core.clock import VirtualClock
from bot.core.config import EngineDeps
from bot.core.duplex_port import TurnPredictor
from bot.core.engine import Engine
from bot.core.events import (
    Author,
    Command,
    ConversationKey,
    Event,
    HumanDelete,
    HumanEdit,
    HumanMessage,
    HumanTyping,
)
from bot.core.memory_port import Memories
from bot.core.memory_store import MemoryStore
from bot.core.ports import Intent, ReplyRequest, Responder, Store
from bot.testing import RecordingOutlet, ScriptedResponder, Sent, unanswered_texts
from persona import load_persona

__all__ = ["ChatScene", "RecordingOutlet", "ScriptedResponder", "Sent", "unanswered_texts"]


class ChatScene:
    """One human texting the bot in one chat, in virtual time."""

    def __init__(self, *, persona: str = "sunny", turn: str | None = "fixed", interrupt: str | None = None,
                 typing_signal: bool = False, script: Callable[[ReplyRequest], Sequence[str | Intent]] | None = None,
                 latency: float = 1.0, failure_reply: str = "message", overrides: dict[str, Any] | None = None,
                 idle_seconds: float = 300.0, store: Callable[[VirtualClock], Store] | None = None,
                 late_reply: str = "late", responder: Callable[[VirtualClock], Responder] | None = None,
                 duplex: Callable[[VirtualClock], TurnPredictor] | None = None,
                 responders: dict[str, Callable[[VirtualClock], Responder]] | None = None,
                 memories: Callable[[], Memories] | None = None) -> None:
        self.clock = VirtualClock()
        self.outlet = RecordingOutlet(self.clock, has_typing_signal=typing_signal)
        self.responder = ScriptedResponder(self.clock, latency=latency)
        if script is not None:
            self.responder.script = script
        self.store: Store = store(self.clock) if store is not None else MemoryStore()
        self.key = ConversationKey("test", "chat1")
        self.trace: list[tuple[str, float, dict[str, Any]]] = []
        self.memories = memories() if memories is not None else None  # after the store: it may share its database
        deps = EngineDeps(
            clock=self.clock, responder=responder(self.clock) if responder else self.responder, outlet=self.outlet,
            store=self.store,
            persona=load_persona(persona), turn=turn, interrupt=interrupt, failure_reply=failure_reply,
            rng=random.Random(7), idle_seconds=idle_seconds, late_reply=late_reply,
            trace=lambda key, kind, at, **data: self.trace.append((kind, at, data)),
            duplex=duplex(self.clock) if duplex else None,
            responders={kind: make(self.clock) for kind, make in (responders or {}).items()}, memories=self.memories,
        )
        self.engine = Engine(deps)
        self.human_author = Author("u1", "Alex")
        self._ids = 0
        self._overrides = overrides

    async def setup(self) -> None:
        """Apply initial overrides before the scene starts."""
        if self._overrides:
            saving = asyncio.ensure_future(self.store.save_overrides(self.key, self._overrides))
            await self.clock.run_until(saving.done)  # a slow store takes its (virtual) time
            saving.result()

    async def says(self, text: str, *, attachments: tuple[str, ...] = (), key: ConversationKey | None = None,
                   is_group: bool = False, addressed: bool = False) -> str:
        """The human sends a message; returns its id."""
        self._ids += 1
        mid = f"h{self._ids}"
        await self.delivers(HumanMessage(key or self.key, mid, self.human_author, text, attachments,
                                         is_group=is_group, addressed=addressed))
        return mid

    async def delivers(self, event: Event) -> None:
        """The platform hands the engine an event; time runs (a slow store takes it) until it is received."""
        received = self.engine.submit(event)
        await self.clock.run_until(received.done)
        received.result()
        await self.clock.settle()

    async def types(self, ttl: float = 10.0) -> None:
        """The platform says the human started typing."""
        await self.delivers(HumanTyping(self.key, self.human_author, ttl))

    async def edits(self, message_id: str, text: str) -> None:
        """The human edits a message."""
        await self.delivers(HumanEdit(self.key, message_id, text))

    async def deletes(self, message_id: str) -> None:
        """The human deletes a message."""
        await self.delivers(HumanDelete(self.key, message_id))

    async def command(self, name: str, *args: str, admin: bool = True) -> str:
        """Run a command and return what the bot answered."""
        before = len(self.outlet.sent)
        await self.delivers(Command(self.key, self.human_author, name, args, is_admin=admin))
        return "\n".join(s.text for s in self.outlet.sent[before:])

    async def waits(self, seconds: float) -> None:
        """Let `seconds` of virtual time pass."""
        await self.clock.advance(seconds)

    async def until_quiet(self, limit: float = 300.0) -> None:
        """Let time pass until the bot has nothing left to do."""
        await self.engine.until_idle(limit=limit)

    def bot_texts(self) -> list[str]:
        """Every message the bot delivered, in order."""
        return [s.text for s in self.outlet.sent]

    def cancelled(self) -> list[str]:
        """Texts of parts that were planned and never sent."""
        return [d["text"] for kind, _, d in self.trace if kind == "part_cancelled"]

    async def close(self) -> None:
        """Stop the engine."""
        await self.engine.close()
        await asyncio.sleep(0)
