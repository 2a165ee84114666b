"""`textbot chat`: what was printed stays printed, so an edit or an unsend is a note under it."""

from __future__ import annotations

import io
import random
import re

from bot.adapters.terminal import KEY, TerminalOutlet, read_lines
from bot.core.config import EngineDeps
from bot.core.engine import Engine
from bot.core.memory_store import MemoryStore
from bot.core.ports import Edit, Intent, ReplyRequest, Unsend
from bot.testing import ScriptedResponder, VirtualClock
from persona import load_persona

TYPING_LINE = re.compile(r"\x1b\[2m[^\n]*?is typing…\x1b\[0m|\r\x1b\[2K")
STYLE = re.compile(r"\x1b\[[0-9]*m")


def screen(printed: str) -> list[str]:
    """The lines a person reads once every typing line was cleared."""
    return STYLE.sub("", TYPING_LINE.sub("", printed)).splitlines()


async def test_the_terminal_notes_an_unsent_and_an_edited_message_under_what_it_printed() -> None:
    def answer(request: ReplyRequest) -> list[str | Intent]:
        return ["see you at 5", "love you babe", Unsend(1), Edit(0, "see you at 6"), "bring snacks"]

    clock, out, store = VirtualClock(), io.StringIO(), MemoryStore()
    engine = Engine(EngineDeps(clock=clock, responder=ScriptedResponder(clock, answer), store=store,
                               outlet=TerminalOutlet(clock, "sunny", out), persona=load_persona("sunny"),
                               turn="fixed", rng=random.Random(3)))
    try:
        await read_lines(engine, io.StringIO("when r u coming\n"))
        await engine.until_idle(limit=120)
    finally:
        await engine.close()

    assert screen(out.getvalue()) == [
        "sunny: see you at 5",
        "sunny: love you babe",
        '  (sunny unsent: "love you babe")',
        '  (sunny edited: "see you at 6")',
        "sunny: bring snacks",
    ]
    history = (await store.load(KEY)).history
    assert [line.text for line in history] == ["when r u coming", "see you at 6", "bring snacks"]
