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


@dataclass
class TerminalOutlet:
    """Prints the bot's messages and a "typing…" line to the terminal."""

    clock: Clock
    name: str
    out: TextIO = field(default_factory=lambda: sys.stdout)
    platform: str = "terminal"
    limit: int = 4096
    typing_ttl: float = 5.0
    has_typing_signal: bool = False
    _shown: bool = False
    _count: int = 0

    async def send(
        self, key: ConversationKey, text: str, reply_to: str | None, still_wanted: Callable[[], bool] = always_wanted
    ) -> str:
        """Print one message on its own line."""
        self._clear()
        self._count += 1
        self.out.write(f"{self.name}: {text}\n")
        self.out.flush()
        return f"t{self._count}"

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
