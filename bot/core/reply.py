"""One reply session in flight: the responder hears the chat and yields intents; parts are read, typed, sent.

The job never changes its conversation's state: what it delivers, edits or takes back, and its end,
go back to the actor as inbox items (`post`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.core.clock import Clock
from bot.core.events import Event, HumanDelete, HumanEdit, HumanMessage, HumanTyping
from bot.core.outbox import Delivered, Outbox
from bot.core.ports import (
    Done,
    Edit,
    Heard,
    Hold,
    Intent,
    Line,
    NewMessages,
    Receipt,
    ReplyRequest,
    Responder,
    ResponderFailed,
    Say,
    StaySilent,
    Tracer,
    Unsend,
)
from bot.core.session import Feed
from bot.core.tasks import cancel_and_wait
from bot.core.typing_indicator import TypingIndicator
from bot.pacing import Pacing

log = logging.getLogger(__name__)


CONTINUE_NOTE = (
    "You were cut off in the middle of your last reply (your phone died). You had already sent: {sent}. "
    "Text the rest of what you meant to say, without repeating it; if nothing is left, say something short "
    "and natural to pick the conversation back up."
)


def continuation_note(sent: tuple[str, ...]) -> str:
    """The instruction for finishing a reply a crash cut short, after `sent` went out."""
    return CONTINUE_NOTE.format(sent=" / ".join(f'"{text}"' for text in sent))


@dataclass(frozen=True, slots=True)
class _Part:
    number: int
    text: str


@dataclass(frozen=True, slots=True)
class _Change:
    part: int
    text: str | None  # None: unsend


@dataclass(frozen=True, slots=True)
class _End:
    how: Done | StaySilent | Hold
    failure: ResponderFailed | None = None


def _future() -> asyncio.Future[None]:
    return asyncio.get_running_loop().create_future()


@dataclass(frozen=True, slots=True)
class PartDelivered:
    """Inbox item: a part of `job` reached the human; `recorded` resolves once the actor stored it."""

    job: ReplyJob
    delivered: Delivered
    recorded: asyncio.Future[None] = field(default_factory=_future)


@dataclass(frozen=True, slots=True)
class PartChanged:
    """Inbox item: a delivered part was edited (`text`) or taken back (`text` None)."""

    part_id: str
    text: str | None


@dataclass(frozen=True, slots=True)
class JobEnded:
    """Inbox item: `job` is over (finished, failed or stopped)."""

    job: ReplyJob


@dataclass
class ReplyOutcome:
    """What a finished (or stopped) reply did."""

    delivered: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    failure: ResponderFailed | None = None
    stop_reason: str | None = None
    silent: bool = False
    hold_until: float | None = None


@dataclass
class ReplyContext:
    """What a reply needs from its conversation."""

    clock: Clock
    responder: Responder
    outbox: Outbox
    pacing: Pacing
    trace: Tracer
    post: Callable[[PartDelivered | PartChanged | JobEnded], None]


class ReplyJob:
    """Runs one reply session and delivers its parts; can be paused (hold unsent parts), resumed, or stopped."""

    def __init__(self, ctx: ReplyContext, request: ReplyRequest, covers: tuple[str, ...], reply_to: str | None,
                 reply_id: str) -> None:
        self.ctx = ctx
        self.request = request
        self.covers = list(covers)
        self.reply_to = reply_to
        self.reply_id = reply_id
        self.outcome = ReplyOutcome()
        self.feed = Feed(ctx.clock)
        self.parts: dict[int, Delivered] = {}
        self._recorded: dict[int, asyncio.Future[None]] = {}
        self._gate = asyncio.Event()
        self._gate.set()
        self._queue: asyncio.Queue[_Part | _Change | _End] = asyncio.Queue()
        self._says = 0
        self._sending: asyncio.Task[Delivered | None] | None = None
        self._typing: _Part | None = None
        self._generation: asyncio.Task[None] | None = None
        self.task: asyncio.Task[None] | None = None

    @property
    def key(self) -> str:
        """The conversation, for logs and traces."""
        return str(self.ctx.outbox.key)

    @property
    def paused(self) -> bool:
        """True while unsent parts are being held back."""
        return not self._gate.is_set()

    def start(self) -> None:
        """Begin the session and the delivery in the background."""
        self.task = asyncio.create_task(self._run(), name=f"reply:{self.key}")

    def pause(self) -> None:
        """Hold every part not yet sent (called the instant new human input arrives)."""
        self._gate.clear()

    def resume(self) -> None:
        """Let held parts go out."""
        self._gate.set()

    def interrupted_by(self, event: Event, interrupt_policy: str) -> bool:
        """Whether this input must hold the unsent parts at once (before the actor even looks at it)."""
        if isinstance(event, HumanMessage):
            return bool(event.text.strip() or event.attachments)
        if isinstance(event, HumanTyping):
            return interrupt_policy != "finish"
        if isinstance(event, HumanEdit | HumanDelete):
            return event.message_id in self.covers and not self.outcome.delivered
        return False

    def hear(self, item: Heard) -> None:
        """Tell the session what happened in the chat."""
        self.feed.put(item)

    def relay(self, lines: tuple[Line, ...], message_ids: list[str]) -> None:
        """Hand new messages to the running session, which now covers them too."""
        self.covers.extend(message_ids)
        self.feed.put(NewMessages(lines))
        self.resume()

    async def stop(self, reason: str) -> Delivered | None:
        """Cancel the session and unsent parts; a send already on the wire is let finish and returned."""
        self.outcome.stop_reason = reason
        self.pause()
        sending, typing = self._sending, self._typing
        await cancel_and_wait(self.task)
        if sending is None or typing is None:
            return None
        await asyncio.wait([sending])
        if sending.cancelled() or sending.exception() is not None:
            return None  # not sent (the outbox logged and recorded it)
        delivered = sending.result()
        if delivered is None:
            self._withhold(typing.number, typing.text, reason)
            return None
        self._delivered(typing.number, delivered, post=False)  # the caller applies it before anything else
        return delivered

    async def _run(self) -> None:
        ctx = self.ctx
        store, key = ctx.outbox.store, ctx.outbox.key
        try:
            await store.reply_started(key, self.reply_id, list(self.covers), ctx.clock.now())
            self._generation = asyncio.create_task(self._generate(), name=f"generate:{self.key}")
            await self._deliver_all()
        except Exception as exc:  # a part could not be sent or recorded: the reply ends there
            log.warning("a reply in %s ended early: %s", self.key, type(exc).__name__)
            self.outcome.stop_reason = self.outcome.stop_reason or "send failed"
        finally:
            try:
                await cancel_and_wait(self._generation)
                self._cancel_unsent()
                if self.outcome.stop_reason != "shutdown":  # after a shutdown, the restart finishes it
                    await store.reply_ended(key, self.reply_id, ctx.clock.now())
            except Exception as exc:
                log.warning("could not record the end of a reply in %s: %s", self.key, type(exc).__name__)
            finally:
                ctx.post(JobEnded(self))

    async def _generate(self) -> None:
        ctx = self.ctx
        ctx.trace(ctx.outbox.key, "generation_start", ctx.clock.now(), covers=list(self.covers))
        end = _End(Done())
        try:
            async for intent in ctx.responder.reply(self.request, self.feed):
                if self._take(intent):
                    end = _End(intent)  # type: ignore[arg-type]
                    break
        except ResponderFailed as exc:
            end = _End(Done(), failure=exc)
        except Exception as exc:  # any responder error is a failed reply, never a silent one
            log.warning("the responder failed in %s: %s", self.key, type(exc).__name__)
            end = _End(Done(), failure=ResponderFailed(type(exc).__name__))
        finally:
            ctx.trace(ctx.outbox.key, "generation_end", ctx.clock.now())
        self._queue.put_nowait(end)

    def _take(self, intent: Intent) -> bool:
        """Queue one intent for delivery; True when it ends the session."""
        if isinstance(intent, Say):
            if intent.text.strip():
                self._queue.put_nowait(_Part(self._says, intent.text))
                self._says += 1
            return False
        if isinstance(intent, Edit | Unsend):
            self._queue.put_nowait(_Change(intent.part, intent.text if isinstance(intent, Edit) else None))
            return False
        return isinstance(intent, Done | StaySilent | Hold)

    async def _deliver_all(self) -> None:
        ctx = self.ctx
        chars = sum(len(line.text) for line in self.request.unanswered)
        await ctx.clock.sleep(ctx.pacing.read_delay(chars))
        first = True
        while True:
            item = await self._queue.get()
            if isinstance(item, _End):
                self._finish(item)
                return
            if isinstance(item, _Change):
                await self._change(item)
                continue
            if not first:
                await ctx.clock.sleep(ctx.pacing.part_pause())
            await self._type_and_send(item, first)
            first = False

    def _finish(self, end: _End) -> None:
        self.outcome.failure = end.failure
        if isinstance(end.how, StaySilent):
            self.outcome.silent = True
            self.ctx.trace(self.ctx.outbox.key, "silence", self.ctx.clock.now())
        elif isinstance(end.how, Hold):
            self.outcome.hold_until = end.how.until

    async def _type_and_send(self, part: _Part, first: bool) -> None:
        ctx = self.ctx
        self._typing = part  # from here until sent, a stop cancels this part
        await self._gate.wait()
        ctx.trace(ctx.outbox.key, "typing_start", ctx.clock.now())
        async with TypingIndicator(ctx.outbox.outlet, ctx.outbox.key, ctx.clock):
            await ctx.clock.sleep(ctx.pacing.typing_time(part.text))
        ctx.trace(ctx.outbox.key, "typing_stop", ctx.clock.now())
        while True:
            await self._gate.wait()
            # Checked and started in one step of the event loop: no human message can slip in between.
            self._sending = asyncio.create_task(self._send(part.text, self.reply_to if first else None))
            delivered = await asyncio.shield(self._sending)
            self._sending = None
            if delivered is not None:
                self._delivered(part.number, delivered)
                return
            # Withdrawn while the outlet made it wait: hold it until the gate opens again.

    async def _send(self, text: str, reply_to: str | None) -> Delivered | None:
        try:
            return await self.ctx.outbox.send(text, reply_to=reply_to, reply_id=self.reply_id,
                                              still_wanted=self._gate.is_set)
        except Exception:
            self._typing = None
            self.ctx.trace(self.ctx.outbox.key, "part_cancelled", self.ctx.clock.now(), text=text,
                           reason="send failed")
            raise

    def _delivered(self, number: int, delivered: Delivered, post: bool = True) -> None:
        self._typing = None
        self.parts[number] = delivered
        self.outcome.delivered.append(delivered.text)
        self.ctx.trace(self.ctx.outbox.key, "part_sent", delivered.at, text=delivered.text, covers=list(self.covers))
        self.feed.put(Receipt(number, True, delivered.text))
        if post:
            item = PartDelivered(self, delivered)
            self._recorded[number] = item.recorded
            self.ctx.post(item)

    async def _change(self, change: _Change) -> None:
        delivered = self.parts.get(change.part)
        if delivered is None:
            return  # never delivered (or not yet): nothing to change on the platform
        if change.part in self._recorded:
            await self._recorded[change.part]  # the store must know it was sent before it hears it changed
        outbox = self.ctx.outbox
        ok = await (outbox.unsend(delivered) if change.text is None else outbox.edit(delivered, change.text))
        if ok:
            self.ctx.post(PartChanged(delivered.part_id, change.text))

    def _cancel_unsent(self) -> None:
        reason = self.outcome.stop_reason or "stopped"
        if self._typing is not None and not (self._sending is not None and not self._sending.done()):
            self._withhold(self._typing.number, self._typing.text, reason)
            self._typing = None
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if isinstance(item, _Part):
                self._withhold(item.number, item.text, reason)

    def _withhold(self, number: int, text: str, reason: str) -> None:
        self.outcome.cancelled.append(text)
        self.ctx.trace(self.ctx.outbox.key, "part_cancelled", self.ctx.clock.now(), text=text, reason=reason)
        self.feed.put(Receipt(number, False, text, reason))
