"""`textbot chat`: text the bot from a terminal; each line you enter is one message."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from bot.core.clock import Clock
from bot.core.engine import Engine
from bot.core.events import Author, ConversationKey, HumanMessage
from bot.core.ports import always_wanted

KEY = ConversationKey("terminal", "local")
REMEMBERED = 1000  # messages whose text an unsend note can still quote


@dataclass
class TerminalOutlet:
    """Prints the bot's messages, a "typing…" line, and a note when it edits or takes back a message."""

    clock: Clock
    name: str
    out: TextIO = field(default_factory=lambda: sys.stdout)
    platform: str = "terminal"
    limit: int = 4096
    typing_ttl: float = 5.0
    has_typing_signal: bool = False
    _shown: bool = False
    _count: int = 0
    _said: dict[str, str] = field(default_factory=dict)  # platform id -> text, newest last

    async def send(
        self, key: ConversationKey, text: str, reply_to: str | None, still_wanted: Callable[[], bool] = always_wanted
    ) -> str:
        """Print one message on its own line."""
        self._clear()
        self._count += 1
        self.out.write(f"{self.name}: {text}\n")
        self.out.flush()
        platform_id = f"t{self._count}"
        self._said[platform_id] = text
        if len(self._said) > REMEMBERED:
            del self._said[next(iter(self._said))]
        return platform_id

    async def edit(self, key: ConversationKey, platform_id: str, text: str) -> None:
        """A printed line cannot change: print a note with the new text under it."""
        self._said[platform_id] = text
        self._note(f'edited: "{text}"')

    async def delete(self, key: ConversationKey, platform_id: str) -> None:
        """A printed line cannot be taken back: print a note saying which one was."""
        text = self._said.pop(platform_id, None)
        self._note("unsent a message" if text is None else f'unsent: "{text}"')

    def _note(self, what: str) -> None:
        self._clear()
        self.out.write(f"\x1b[2m  ({self.name} {what})\x1b[0m\n")
        self.out.flush()

    async def typing(self, key: ConversationKey) -> None:
        """Show a typing line (once per typing spell)."""
        if not self._shown:
            self.out.write(f"\x1b[2m{self.name} is typing…\x1b[0m")
            self.out.flush()
            self._shown = True

    async def stop_typing(self, key: ConversationKey) -> None:
        """Clear the typing line."""
        self._clear()

    def _clear(self) -> None:
        if self._shown:
            self.out.write("\r\x1b[2K")
            self.out.flush()
            self._shown = False


async def read_lines(engine: Engine, source: TextIO = sys.stdin) -> None:
    """Feed each line typed in the terminal to the engine until end of input."""
    loop = asyncio.get_running_loop()
    me = Author("you", "you")
    run = uuid.uuid4().hex[:8]  # message ids unique across runs: a stored chat never takes a new line for an old one
    count = 0
    while True:
        line = await loop.run_in_executor(None, source.readline)
        if not line:
            return
        count += 1
        await engine.receive(HumanMessage(KEY, f"{run}-{count}", me, line.rstrip("\n")))
