"""One reply in flight: the generation streams parts into a queue; each is read, typed, then sent."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.core.clock import Clock
from bot.core.events import ConversationKey
from bot.core.ports import Outlet, PartWithdrawn, ReplyRequest, Responder, ResponderFailed, Say, Store, Tracer
from bot.core.tasks import cancel_and_wait
from bot.core.typing_indicator import TypingIndicator
from bot.pacing import Pacing

log = logging.getLogger(__name__)
_part_ids = itertools.count(1)


@dataclass(frozen=True, slots=True)
class _End:
    failure: ResponderFailed | None = None


@dataclass
class ReplyOutcome:
    """What a finished (or stopped) reply did."""

    delivered: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    failure: ResponderFailed | None = None
    stop_reason: str | None = None


@dataclass
class ReplyContext:
    """What a reply needs from its conversation."""

    key: ConversationKey
    clock: Clock
    responder: Responder
    outlet: Outlet
    store: Store
    pacing: Pacing
    trace: Tracer
    on_delivered: Callable[[ReplyJob, str, float], Awaitable[None]]


class ReplyJob:
    """Generates and delivers one reply; can be paused (hold unsent parts), resumed, or stopped."""

    def __init__(self, ctx: ReplyContext, request: ReplyRequest, covers: tuple[str, ...], reply_to: str | None):
        self.ctx = ctx
        self.request = request
        self.covers = covers
        self.reply_to = reply_to
        self.outcome = ReplyOutcome()
        self.started_at = ctx.clock.now()
        self._gate = asyncio.Event()
        self._gate.set()
        self._queue: asyncio.Queue[Say | _End] = asyncio.Queue()
        self._sending: asyncio.Task[bool] | None = None
        self._typing_text: str | None = None
        self._generation: asyncio.Task[None] | None = None
        self.task: asyncio.Task[None] | None = None

    @property
    def paused(self) -> bool:
        """True while unsent parts are being held back."""
        return not self._gate.is_set()

    def start(self, on_end: Callable[[ReplyJob], None]) -> None:
        """Begin generating and delivering in the background."""
        self.task = asyncio.create_task(self._run(on_end), name=f"reply:{self.ctx.key}")

    def pause(self) -> None:
        """Hold every part not yet sent (called the instant new human input arrives)."""
        self._gate.clear()

    def resume(self) -> None:
        """Let held parts go out."""
        self._gate.set()

    async def stop(self, reason: str) -> ReplyOutcome:
        """Cancel generation and unsent parts; a send already on the wire is let finish."""
        self.outcome.stop_reason = reason
        self.pause()
        await cancel_and_wait(self.task)
        if self._sending is not None:
            await asyncio.wait([self._sending])
            if not self._sending.cancelled():
                self._sending.exception()  # already logged in _send; mark it seen
        return self.outcome

    async def _run(self, on_end: Callable[[ReplyJob], None]) -> None:
        self._generation = asyncio.create_task(self._generate(), name=f"generate:{self.ctx.key}")
        try:
            await self._deliver_all()
        except Exception:  # a part could not be sent (logged in _send): the reply ends there
            self.outcome.stop_reason = self.outcome.stop_reason or "send failed"
        finally:
            await cancel_and_wait(self._generation)
            await self._cancel_unsent()
            on_end(self)

    async def _generate(self) -> None:
        ctx = self.ctx
        ctx.trace(ctx.key, "generation_start", ctx.clock.now(), covers=list(self.covers))
        try:
            async for intent in ctx.responder.reply(self.request):
                if isinstance(intent, Say) and intent.text.strip():
                    self._queue.put_nowait(intent)
            self._queue.put_nowait(_End())
        except ResponderFailed as exc:
            self._queue.put_nowait(_End(failure=exc))
        finally:
            ctx.trace(ctx.key, "generation_end", ctx.clock.now())

    async def _deliver_all(self) -> None:
        ctx = self.ctx
        chars = sum(len(line.text) for line in self.request.unanswered)
        await ctx.clock.sleep(ctx.pacing.read_delay(chars))
        first = True
        while True:
            item = await self._queue.get()
            if isinstance(item, _End):
                self.outcome.failure = item.failure
                return
            if not first:
                await ctx.clock.sleep(ctx.pacing.part_pause())
            await self._type_and_send(item.text, first)
            first = False

    async def _type_and_send(self, text: str, first: bool) -> None:
        ctx = self.ctx
        self._typing_text = text  # from here until sent, a stop cancels this part
        await self._gate.wait()
        ctx.trace(ctx.key, "typing_start", ctx.clock.now())
        async with TypingIndicator(ctx.outlet, ctx.key, ctx.clock):
            await ctx.clock.sleep(ctx.pacing.typing_time(text))
        ctx.trace(ctx.key, "typing_stop", ctx.clock.now())
        while True:
            await self._gate.wait()
            # Checked and sent in one step of the event loop: no human message can slip in between.
            self._sending = asyncio.create_task(self._send(text, self.reply_to if first else None))
            if await asyncio.shield(self._sending):
                return
            # Withdrawn while the outlet made it wait: hold it until the gate opens again.

    async def _send(self, text: str, reply_to: str | None) -> bool:
        """Send one part; True once delivered, False if it was withdrawn before going on the wire."""
        ctx = self.ctx
        part_id = f"p{next(_part_ids)}"
        await ctx.store.plan_part(ctx.key, part_id, text, ctx.clock.now())
        try:
            platform_id = await ctx.outlet.send(ctx.key, text, reply_to, still_wanted=self._gate.is_set)
        except PartWithdrawn:
            await ctx.store.part_cancelled(ctx.key, part_id, "withdrawn while queued")
            return False
        except Exception as exc:
            log.warning("could not send a part to %s: %s", ctx.key, type(exc).__name__)
            await ctx.store.part_cancelled(ctx.key, part_id, "send failed")
            ctx.trace(ctx.key, "part_cancelled", ctx.clock.now(), text=text, reason="send failed")
            self._typing_text = None
            raise
        self._typing_text = None
        now = ctx.clock.now()
        self.outcome.delivered.append(text)
        ctx.trace(ctx.key, "part_sent", now, text=text, covers=list(self.covers))
        await ctx.on_delivered(self, text, now)  # the messages it answers go into history first
        await ctx.store.part_sent(ctx.key, part_id, platform_id, now)
        return True

    async def _cancel_unsent(self) -> None:
        ctx = self.ctx
        reason = self.outcome.stop_reason or "stopped"
        if self._typing_text is not None:
            self.outcome.cancelled.append(self._typing_text)
            ctx.trace(ctx.key, "part_cancelled", ctx.clock.now(), text=self._typing_text, reason=reason)
            self._typing_text = None
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if isinstance(item, Say):
                self.outcome.cancelled.append(item.text)
                ctx.trace(ctx.key, "part_cancelled", ctx.clock.now(), text=item.text, reason=reason)
