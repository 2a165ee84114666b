"""Stand-in reply sessions for duets in virtual time: no model, a think time, and a line that says what it answers.

`QuickReplier` is the `stream` kind (it says its parts and is done); `DraftingReplier` is the `actions` kind
as seed 001 describes it: it drafts, checks what arrived before pushing, pushes guarded Says, and when a
push is refused (the other wrote first) it reads what arrived and drafts again.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from bot.core.clock import Clock
from bot.core.config import EngineDeps
from bot.core.engine import Engine
from bot.core.ports import Done, Heard, Intent, Line, NewMessages, Outlet, ReplyRequest, Say, SessionFeed, Store, Typing
from bot.core.trace import TraceRecorder
from persona import load_persona

UNREAD = "they wrote since your last step: read new_messages first"


def _newest(lines: list[Line] | tuple[Line, ...]) -> str:
    human = [line.text for line in lines if line.role == "human"]
    return human[-1] if human else ""


def _reply_text(name: str, count: int, newest: str) -> str:
    """A line that shows what it answers: `sunny 3 re "the newest line seen"` (or a first line)."""
    return f"{name} {count} re \"{newest[:40]}\"" if newest else f"{name} {count} starts"


@dataclass
class QuickReplier:
    """`stream` stand-in: thinks `think` seconds (jittered), says its answer, sometimes an afterthought later."""

    clock: Clock
    name: str
    rng: random.Random = field(default_factory=random.Random)
    think: tuple[float, float] = (1.0, 6.0)
    afterthought: float = 0.4  # how often a second message follows, while the other may be answering
    afterthought_delay: tuple[float, float] = (4.0, 20.0)
    count: int = 0

    async def reply(self, request: ReplyRequest, feed: SessionFeed) -> AsyncIterator[Intent]:
        """Think, then say what answers the newest line in the request (and maybe one more thing)."""
        await self.clock.sleep(self.rng.uniform(*self.think))
        self.count += 1
        yield Say(_reply_text(self.name, self.count, _newest(request.history + request.unanswered)))
        if self.rng.random() < self.afterthought:
            await self.clock.sleep(self.rng.uniform(*self.afterthought_delay))
            yield Say(f"{self.name} {self.count} also")
        yield Done()


@dataclass
class DraftingReplier:
    """`actions` stand-in: drafts for `think` seconds, pushes only with nothing unread, re-drafts when refused;
    sometimes drafts an afterthought once its answer is out, as QuickReplier does."""

    clock: Clock
    name: str
    rng: random.Random = field(default_factory=random.Random)
    think: tuple[float, float] = (1.0, 6.0)
    redraft: tuple[float, float] = (0.5, 2.0)
    afterthought: float = 0.4
    afterthought_delay: tuple[float, float] = (4.0, 20.0)
    tries: int = 4
    count: int = 0
    listens: bool = True  # new messages are relayed into the session instead of stopping it

    async def reply(self, request: ReplyRequest, feed: SessionFeed) -> AsyncIterator[Intent]:
        """Draft, push, and draft again on a refusal, up to `tries` pushes in all."""
        newest = _newest(request.history + request.unanswered)
        says, wanted, think = 0, 1 + (self.rng.random() < self.afterthought), self.think
        for _ in range(self.tries):
            yield Typing(True)
            await self.clock.sleep(self.rng.uniform(*think))
            self.count += 1
            text = _reply_text(self.name, self.count, newest)
            heard = _heard_lines(feed.take())
            if heard:  # the protocol looks before it pushes: what arrived makes this draft stale
                newest, think = _newest(heard), self.redraft
                feed.note("action_push", sent=False, text=text, reason=UNREAD)
                continue
            yield Say(text, guarded=True)
            receipt = await feed.receipt(says)
            says += 1
            if not receipt.delivered:
                feed.note("action_push", sent=False, text=text, reason=receipt.reason or "not delivered")
                newest, think = _newest(_heard_lines(feed.take())) or newest, self.redraft
                continue
            feed.note("action_push", sent=True, text=text, reason="")
            wanted -= 1
            if not wanted:
                break
            yield Typing(False)
            await self.clock.sleep(self.rng.uniform(*self.afterthought_delay))
            think = self.redraft
        yield Typing(False)
        yield Done()


def _heard_lines(items: list[Heard]) -> list[Line]:
    return [line for item in items if isinstance(item, NewMessages) for line in item.lines]


def standin_builder(clock: Clock, store: Store, rng: random.Random, *, interrupt: str | None = None,
                    think: tuple[float, float] = (1.0, 6.0), afterthought: float = 0.4) -> Callable[[Outlet], Engine]:
    """Engines for duets in virtual time: each bot's `stream` is a QuickReplier, its `actions` a DraftingReplier.

    The persona is the duet's choice for each conversation (a chat override); "sunny" is only the engine's default.
    """

    def build(outlet: Outlet) -> Engine:
        name = str(getattr(outlet, "name", outlet.platform))
        stream = QuickReplier(clock, name, rng, think, afterthought)
        actions = DraftingReplier(clock, name, rng, think, afterthought=afterthought)
        return Engine(EngineDeps(clock=clock, responder=stream, outlet=outlet, store=store,
                                 persona=load_persona("sunny"), interrupt=interrupt, responders={"actions": actions},
                                 trace=TraceRecorder(store), rng=rng))

    return build
