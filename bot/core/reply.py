"""One reply session in flight: the responder hears the chat and yields intents; parts are read, typed, sent.

The job never changes its conversation's state: what it delivers, edits or takes back, and its end,
go back to the actor as inbox items (`post`).
"""

from __future__ import annotations

import asyncio
import logging

from bot.core.events import Event, HumanDelete, HumanEdit, HumanMessage, HumanTyping
from bot.core.outbox import Delivered
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
    ResponderFailed,
    Say,
    StaySilent,
    Typing,
    Unsend,
)
from bot.core.reply_items import (
    JobEnded,
    PartChanged,
    PartDelivered,
    QueuedChange,
    QueuedPart,
    ReplyContext,
    ReplyOutcome,
    SessionEnd,
)
from bot.core.session import Feed
from bot.core.tasks import cancel_and_wait
from bot.core.typing_indicator import TypingIndicator

log = logging.getLogger(__name__)


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
        self.paused_at: float | None = None  # when this reply's parts were first held back
        self.listens = bool(getattr(ctx.responder, "listens", False))
        self.feed = Feed(ctx.clock, note=lambda kind, **data: ctx.trace(ctx.outbox.key, kind, ctx.clock.now(), **data))
        self._unsent: dict[int, QueuedPart] = {}  # said by the session, not yet delivered or withheld
        self._withdrawn: set[int] = set()  # guarded parts the human's newer words made stale
        self._withdraw = asyncio.Event()
        self._composing: TypingIndicator | None = None
        self.parts: dict[int, Delivered] = {}
        self._recorded: dict[int, asyncio.Future[None]] = {}
        self._gate = asyncio.Event()
        self._gate.set()
        self._queue: asyncio.Queue[QueuedPart | QueuedChange | SessionEnd] = asyncio.Queue()
        self._says = 0
        self._sending: asyncio.Task[Delivered | None] | None = None
        self._typing: QueuedPart | None = None
        self._generation: asyncio.Task[None] | None = None
        self.task: asyncio.Task[None] | None = None

    @property
    def key(self) -> str:
        """The conversation, for logs and traces."""
        return str(self.ctx.outbox.key)

    @property
    def hearing(self) -> bool:
        """True while a listening session can still be told something (it has not ended)."""
        return self.listens and not (self._generation is not None and self._generation.done())

    @property
    def paused(self) -> bool:
        """True while unsent parts are being held back."""
        return not self._gate.is_set()

    def start(self) -> None:
        """Begin the session and the delivery in the background."""
        self.task = asyncio.create_task(self._run(), name=f"reply:{self.key}")

    def pause(self) -> None:
        """Hold every part not yet sent (called the instant new human input arrives)."""
        if self.paused_at is None:
            self.paused_at = self.ctx.clock.now()
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

    def held_texts(self) -> tuple[str, ...]:
        """What the session said that has not gone out yet, in order."""
        return tuple(self._unsent[number].text for number in sorted(self._unsent))

    def hear(self, item: Heard) -> None:
        """Tell the session what happened in the chat."""
        self.feed.put(item)

    def relay(self, lines: tuple[Line, ...], message_ids: list[str]) -> None:
        """Hand new messages to the running session, which now covers them too."""
        self.covers.extend(message_ids)
        self._withdrawn.update(number for number, part in self._unsent.items() if part.guarded)
        if self._withdrawn:
            self._withdraw.set()
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
        end = SessionEnd(Done())
        try:
            async for intent in ctx.responder.reply(self.request, self.feed):
                if await self._take(intent):
                    end = SessionEnd(intent)  # type: ignore[arg-type]
                    break
        except ResponderFailed as exc:
            end = SessionEnd(Done(), failure=exc)
        except Exception as exc:  # any responder error is a failed reply, never a silent one
            log.warning("the responder failed in %s: %s", self.key, type(exc).__name__)
            end = SessionEnd(Done(), failure=ResponderFailed(type(exc).__name__))
        finally:
            await self._compose(False)
            ctx.trace(ctx.outbox.key, "generation_end", ctx.clock.now())
        self._queue.put_nowait(end)

    async def _take(self, intent: Intent) -> bool:
        """Queue one intent for delivery; True when it ends the session."""
        if isinstance(intent, Say):
            if intent.text.strip():
                part = QueuedPart(self._says, intent.text, intent.guarded)
                self._unsent[part.number] = part
                self._queue.put_nowait(part)
                self._says += 1
            return False
        if isinstance(intent, Typing):
            await self._compose(intent.on)
            return False
        if isinstance(intent, Edit | Unsend):
            self._queue.put_nowait(QueuedChange(intent.part, intent.text if isinstance(intent, Edit) else None))
            return False
        return isinstance(intent, Done | StaySilent | Hold)

    async def _deliver_all(self) -> None:
        ctx = self.ctx
        chars = sum(len(line.text) for line in self.request.unanswered)
        await ctx.clock.sleep(ctx.pacing.read_delay(chars))
        first = True
        while True:
            item = await self._queue.get()
            if isinstance(item, SessionEnd):
                self._finish(item)
                return
            if isinstance(item, QueuedChange):
                await self._change(item)
                continue
            if item.number in self._withdrawn:
                self._withhold(item.number, item.text, "the human wrote again")
                continue
            if not first:
                await ctx.clock.sleep(ctx.pacing.part_pause())
            await self._type_and_send(item, first)
            first = False

    def _finish(self, end: SessionEnd) -> None:
        self.outcome.failure = end.failure
        if isinstance(end.how, StaySilent):
            self.outcome.silent = True
            self.ctx.trace(self.ctx.outbox.key, "silence", self.ctx.clock.now())
        elif isinstance(end.how, Hold):
            self.outcome.hold_until = end.how.until

    async def _type_and_send(self, part: QueuedPart, first: bool) -> None:
        ctx = self.ctx
        self._typing = part  # from here until sent, a stop cancels this part
        await self._gate.wait()
        ctx.trace(ctx.outbox.key, "typing_start", ctx.clock.now())
        async with TypingIndicator(ctx.outbox.outlet, ctx.outbox.key, ctx.clock):
            await self._sleep_unless_withdrawn(ctx.pacing.typing_time(part.text), part)
        ctx.trace(ctx.outbox.key, "typing_stop", ctx.clock.now())
        while True:
            await self._gate.wait()
            if part.number in self._withdrawn:
                self._typing = None
                self._withhold(part.number, part.text, "the human wrote again")
                return
            # Checked and started in one step of the event loop: no human message can slip in between.
            self._sending = asyncio.create_task(self._send(part, self.reply_to if first else None))
            delivered = await asyncio.shield(self._sending)
            self._sending = None
            if delivered is not None:
                self._delivered(part.number, delivered)
                return
            if self._gate.is_set() and part.number not in self._withdrawn:
                raise RuntimeError("the outlet withdrew a part that was still wanted")  # never retry forever
            # Withdrawn while the outlet made it wait: hold it until the gate opens again.

    async def _send(self, part: QueuedPart, reply_to: str | None) -> Delivered | None:
        text = part.text
        try:
            return await self.ctx.outbox.send(
                text, reply_to=reply_to, reply_id=self.reply_id,
                still_wanted=lambda: self._gate.is_set() and part.number not in self._withdrawn)
        except Exception:
            self._typing = None
            self.ctx.trace(self.ctx.outbox.key, "part_cancelled", self.ctx.clock.now(), text=text,
                           reason="send failed")
            raise

    def _delivered(self, number: int, delivered: Delivered, post: bool = True) -> None:
        self._typing = None
        self._unsent.pop(number, None)
        self.parts[number] = delivered
        self.outcome.delivered.append(delivered.text)
        self.ctx.trace(self.ctx.outbox.key, "part_sent", delivered.at, text=delivered.text, covers=list(self.covers))
        self.feed.put(Receipt(number, True, delivered.text))
        if post:
            item = PartDelivered(self, delivered)
            self._recorded[number] = item.recorded
            self.ctx.post(item)

    async def _sleep_unless_withdrawn(self, seconds: float, part: QueuedPart) -> None:
        """Type `part` for `seconds`, cut short if a relay withdraws it (only a guarded part can be)."""
        if not part.guarded:  # the common case: a plain sleep, no extra tasks
            await self.ctx.clock.sleep(seconds)
            return
        number = part.number
        typing = asyncio.create_task(self.ctx.clock.sleep(seconds), name=f"typing-time:{self.key}")
        try:
            while not typing.done() and number not in self._withdrawn:
                waiting = asyncio.create_task(self._withdraw.wait(), name=f"withdraw:{self.key}")
                try:
                    await asyncio.wait([waiting, typing], return_when=asyncio.FIRST_COMPLETED)
                finally:
                    await cancel_and_wait(waiting)
                self._withdraw.clear()  # heard; other withdrawn parts are checked by number before they go
        finally:
            await cancel_and_wait(typing)

    async def _compose(self, on: bool) -> None:
        """Show "typing…" while the session composes (a draft that is not empty)."""
        if on and self._composing is None:
            self._composing = TypingIndicator(self.ctx.outbox.outlet, self.ctx.outbox.key, self.ctx.clock)
            await self._composing.__aenter__()
        elif not on and self._composing is not None:
            composing, self._composing = self._composing, None
            await composing.__aexit__(None, None, None)

    async def _change(self, change: QueuedChange) -> None:
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
            if isinstance(item, QueuedPart):
                self._withhold(item.number, item.text, reason)

    def _withhold(self, number: int, text: str, reason: str) -> None:
        self._unsent.pop(number, None)
        self.outcome.cancelled.append(text)
        self.ctx.trace(self.ctx.outbox.key, "part_cancelled", self.ctx.clock.now(), text=text, reason=reason)
        self.feed.put(Receipt(number, False, text, reason))
