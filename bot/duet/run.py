"""A duet: two engines on one clock and one store, nudged to start, stopped after N messages or S seconds."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.core.actor import ConversationActor
from bot.core.clock import Clock
from bot.core.engine import Engine
from bot.core.events import ConversationKey, Nudge
from bot.core.ports import Outlet, Store, TraceEvent
from bot.core.tasks import cancel_and_wait
from bot.core.trace import TraceRecorder
from bot.duet.outlet import DuetOutlet, DuetSend, pair

DIM, PLAIN = "\x1b[2m", "\x1b[0m"
START_NOTE = "You are texting {other}. Text them first, about this: {topic}"


@dataclass(frozen=True, slots=True)
class DuetLine:
    """One line of a duet as a person watching sees it: a message, or a draft that never went out."""

    at: float
    name: str
    text: str
    draft: bool = False  # cancelled or refused: shown dimmed
    reason: str = ""


def format_line(line: DuetLine, local: Callable[[float], time.struct_time] = time.localtime) -> str:
    """`HH:MM:SS name: text`, dimmed (with why) for a draft that never went out."""
    stamp = time.strftime("%H:%M:%S", local(line.at))
    text = " / ".join(part.strip() for part in line.text.splitlines())  # one message, one printed line
    if not line.draft:
        return f"{stamp} {line.name}: {text}"
    why = f" ({line.reason})" if line.reason else ""
    return f"{DIM}{stamp} {line.name}: {text}{why}{PLAIN}"


@dataclass
class DuetResult:
    """What a duet did: its messages, its withheld drafts, when it started and how it ended."""

    sends: list[DuetSend]
    lines: list[DuetLine]
    started: float
    ended: float
    stopped_by: str  # "messages", "seconds" or "cancelled"
    refused_pushes: int = 0
    cancelled_parts: int = 0
    traces: dict[str, list[TraceEvent]] = field(default_factory=dict)

    @property
    def crossings(self) -> int:
        """Messages sent without the sender having seen the other's newest one."""
        return sum(1 for s in self.sends if s.crossed)

    def gaps(self) -> list[float]:
        """Seconds between consecutive messages (either bot)."""
        ats = [s.at for s in self.sends]
        return [b - a for a, b in itertools.pairwise(ats)]


class Duet:
    """Persona A and persona B texting each other; `build(outlet)` makes one engine (any factory's build)."""

    def __init__(self, clock: Clock, build: Callable[[Outlet], Engine], names: tuple[str, str], *,
                 run_id: str = "duet", responder: str | None = None, typing_ttl: float = 5.0,
                 on_line: Callable[[DuetLine], None] = lambda line: None) -> None:
        self.clock = clock
        self.names = names
        self.responder = responder
        self.on_line = on_line
        self.outlets = pair(clock, names, run_id, typing_ttl)
        self.engines = tuple(build(outlet) for outlet in self.outlets)
        self.lines: list[DuetLine] = []
        self.refused = 0
        self.cancelled = 0
        self._enough = asyncio.Event()
        self._limit = 0
        for outlet, engine, other in zip(self.outlets, self.engines, reversed(self.engines), strict=True):
            outlet.own, outlet.other = engine, other
            outlet.on_send = self._counted
            _recorder(engine).listeners.append(self._listener(outlet))

    @property
    def store(self) -> Store:
        """The one store both engines share."""
        return self.engines[0].deps.store

    def keys(self) -> tuple[ConversationKey, ConversationKey]:
        """A's and B's conversations."""
        return self.outlets[0].own_key, self.outlets[1].own_key

    async def run(self, topic: str, messages: int = 20, seconds: float = 300.0,
                  stop: asyncio.Event | None = None) -> DuetResult:
        """Nudge A with the topic; end after `messages`, `seconds`, `stop` or cancellation, engines closed."""
        self._limit = messages
        started, how = self.clock.now(), "cancelled"
        waits = {"messages": self._enough.wait(), "seconds": self.clock.sleep(seconds)}
        if stop is not None:
            waits["cancelled"] = stop.wait()
        tasks = {asyncio.create_task(w, name=f"duet:{name}"): name for name, w in waits.items()}
        try:
            await self._prepare()
            self.engines[0].submit(Nudge(self.keys()[0], "duet", START_NOTE.format(other=self.names[1], topic=topic)))
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            how = tasks[next(iter(done))]
        finally:
            for task in tasks:
                await cancel_and_wait(task)
            await self.close()
        return DuetResult(list(self._sends()), list(self.lines), started, self.clock.now(), how,
                          self.refused, self.cancelled, await self._traces())

    async def _prepare(self) -> None:
        """Each conversation speaks as its own persona (and the chosen responder kind) from its first event."""
        for key, name in zip(self.keys(), self.names, strict=True):
            overrides: dict[str, Any] = {"persona": name}
            if self.responder:
                overrides["responder"] = self.responder
            await self.store.save_overrides(key, overrides)

    async def close(self) -> None:
        """Stop both engines and their in-flight work, then write the timelines."""
        for outlet in self.outlets:
            outlet.closed = True
        actors = [actor for engine in self.engines for actor in engine.actors.values()]
        await asyncio.gather(*(engine.close() for engine in self.engines))
        await _stop_leftovers(actors)
        for engine in self.engines:
            recorder = _recorder(engine)
            if recorder.persist:
                await recorder.flush()
            # The recorder's own background flush may still be running: a closed duet leaves no task behind.
            flushing = getattr(recorder, "_flushing", None)
            if flushing is not None and not flushing.done():
                await asyncio.wait([flushing])

    def _sends(self) -> list[DuetSend]:
        return sorted((s for outlet in self.outlets for s in outlet.sent), key=lambda s: s.at)

    async def _traces(self) -> dict[str, list[TraceEvent]]:
        return {name: await self.store.load_trace(key) for name, key in zip(self.names, self.keys(), strict=True)}

    def _counted(self, send: DuetSend) -> None:
        if sum(len(o.sent) for o in self.outlets) >= self._limit:
            self._enough.set()

    def _listener(self, outlet: DuetOutlet) -> Callable[[ConversationKey, TraceEvent], None]:
        last_withheld: list[str] = []

        def listen(key: ConversationKey, event: TraceEvent) -> None:
            data = event.data
            if event.kind == "generation_start":
                outlet.seen.update(data.get("covers", ()))
            elif event.kind == "part_sent":
                self._show(DuetLine(event.at, outlet.name, str(data.get("text", ""))))
            elif event.kind == "part_cancelled":
                self.cancelled += data.get("reason") != "shutdown"  # the duet's own end is not a withheld draft
                last_withheld[:] = [str(data.get("text", ""))]
                self._show(DuetLine(event.at, outlet.name, last_withheld[0], True, str(data.get("reason", ""))))
            elif event.kind == "action_push" and not data.get("sent", True):
                self.refused += 1
                text = str(data.get("text", ""))
                if text.strip() and [text] != last_withheld:  # a withheld Say was shown once already
                    self._show(DuetLine(event.at, outlet.name, text, True, str(data.get("reason", "refused"))))
                last_withheld.clear()

        return listen

    def _show(self, line: DuetLine) -> None:
        self.lines.append(line)
        self.on_line(line)


async def _stop_leftovers(actors: list[ConversationActor]) -> None:
    """Stop a reply an actor started while it was closing, and the drain or timer it left.

    An actor handles its stopped reply's end while `close` waits for that reply; with messages still
    unanswered it starts the next reply there, after which `close` no longer sees it. These actors are
    closed for good, so what they left unanswered is dropped from their memory (the store keeps it).
    """
    for actor in actors:
        for _ in range(3):
            if actor.job is None and not actor.draining and not actor.timer_set:
                break
            actor.state.pending.clear()
            await actor.close()


def _recorder(engine: Engine) -> TraceRecorder:
    trace = engine.deps.trace
    if not isinstance(trace, TraceRecorder):
        raise TypeError("a duet watches its engines through a TraceRecorder (EngineDeps.trace)")
    return trace
