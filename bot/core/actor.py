"""One conversation's actor: its own inbox and task; decides when to answer and what to do when interrupted."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

from bot.core.commands import CommandResult, run_command
from bot.core.config import ChatConfig, EngineDeps
from bot.core.events import (
    Command,
    ConversationKey,
    Event,
    HumanDelete,
    HumanEdit,
    HumanMessage,
    HumanTyping,
    Nudge,
    describe_attachments,
)
from bot.core.ports import HISTORY_LIMIT, Line, ReplyRequest
from bot.core.reply import ReplyContext, ReplyJob
from bot.core.tasks import cancel_and_wait
from policies.interrupt import Defer, Finish, Revise
from policies.view import ConversationView, Ignore, Respond, Rhythm, Said, WaitUntil

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Tick:
    """The actor's timer went off."""


@dataclass(frozen=True, slots=True)
class _JobEnded:
    job: ReplyJob


@dataclass
class _Pending:
    msg: HumanMessage
    at: float

    def text(self) -> str:
        note = describe_attachments(self.msg.attachments)
        return f"{self.msg.text} {note}".strip()


@dataclass
class _State:
    history: list[Line] = field(default_factory=list)
    pending: list[_Pending] = field(default_factory=list)
    overrides: dict[str, Any] = field(default_factory=dict)
    rhythms: dict[str, Rhythm] = field(default_factory=dict)
    typing_until: float | None = None
    new_since_job: list[_Pending] = field(default_factory=list)
    deferred_once: bool = False


class ConversationActor:
    """Owns one chat's state and handles its events strictly in order."""

    def __init__(self, key: ConversationKey, deps: EngineDeps) -> None:
        self.key = key
        self.deps = deps
        self.state = _State()
        self.job: ReplyJob | None = None
        self.inbox: deque[tuple[Event | _Tick | _JobEnded, asyncio.Future[None] | None]] = deque()
        self.task: asyncio.Task[None] | None = None
        self._timer: asyncio.Task[None] | None = None
        self._timer_at: float | None = None
        self._restored = False
        self.last_active = deps.clock.now()

    def post(self, event: Event) -> asyncio.Future[None]:
        """Queue an event; the future resolves once the event is stored and counted as received."""
        if self.job is not None and self._interrupts(event):
            self.job.pause()  # at once: nothing unsent may leave after this input arrived
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._enqueue(event, done)
        return done

    def wake(self) -> None:
        """Restore from the store if not yet done and act on what is unanswered (used after a restart)."""
        self._enqueue(_Tick())

    def _enqueue(self, item: Event | _Tick | _JobEnded, done: asyncio.Future[None] | None = None) -> None:
        self.inbox.append((item, done))
        if self.task is None or self.task.done():
            # No task while idle: an idle conversation costs only its state, not a parked coroutine.
            self.task = asyncio.create_task(self._drain(), name=f"actor:{self.key}")

    def _interrupts(self, event: Event) -> bool:
        if isinstance(event, HumanMessage):
            return bool(event.text.strip() or event.attachments)
        if isinstance(event, HumanTyping):
            return self.config().interrupt_policy.name != "finish"
        if isinstance(event, HumanEdit | HumanDelete) and self.job is not None:
            return event.message_id in self.job.covers and not self.job.outcome.delivered
        return False

    def config(self) -> ChatConfig:
        """The chat's effective persona, timing and policies."""
        return self.deps.chat_config(self.state.overrides)

    @property
    def idle(self) -> bool:
        """True when nothing is pending, in flight, queued or scheduled."""
        return (
            not self.state.pending and self.job is None and not self.inbox
            and (self._timer is None or self._timer.done()) and (self.task is None or self.task.done())
        )

    async def _drain(self) -> None:
        if not self._restored:
            self._restored = True
            await self._restore()
        while self.inbox:
            item, done = self.inbox.popleft()
            try:
                await self._handle(item)
            except Exception:
                log.exception("conversation %s failed to handle %s", self.key, type(item).__name__)
            finally:
                if done is not None and not done.done():
                    done.set_result(None)
        self.last_active = self.deps.clock.now()

    async def _restore(self) -> None:
        stored = await self.deps.store.load(self.key)
        self.state.history = stored.history
        self.state.overrides = stored.overrides
        self.state.rhythms = stored.rhythms
        now = self.deps.clock.now()
        self.state.pending = [_Pending(m, m.at or now) for m in stored.pending]
        stale = [p for p in self.state.pending if now - p.at > self.deps.fresh_seconds]
        if stale:
            await self._late(stale)
        if self.state.pending:
            self._evaluate()

    async def _late(self, stale: list[_Pending]) -> None:
        """Messages that waited past the freshness window (the bot was down): the late line, or nothing."""
        ids = [p.msg.message_id for p in stale]
        self.deps.trace(self.key, "late", self.deps.clock.now(), ids=ids, reply=self.deps.late_reply)
        if self.deps.late_reply == "silent" or await self._say_line("late", f"late-{ids[-1]}", ids):
            await self._answered(ids)
        # if the late line could not be sent, they stay unanswered and get a normal reply

    async def _say_line(self, what: str, part_id: str, answers: list[str]) -> bool:
        """Send one of the persona's canned lines, answering `answers`; False if it could not be sent."""
        text = self.config().persona.line(what)
        await self.deps.store.plan_part(self.key, part_id, text, self.deps.clock.now())
        try:
            platform_id = await self.deps.outlet.send(self.key, text, None)
        except Exception as exc:
            log.warning("could not send the %s line to %s: %s", what, self.key, type(exc).__name__)
            await self.deps.store.part_cancelled(self.key, part_id, "send failed")
            return False
        now = self.deps.clock.now()
        await self._answered(answers)  # in history the messages come before the line that answers them
        await self.deps.store.part_sent(self.key, part_id, platform_id, now)
        self._remember([Line("bot", text, now)])
        self.deps.trace(self.key, "part_sent", now, text=text, covers=answers)
        return True

    async def _handle(self, item: Event | _Tick | _JobEnded) -> None:
        if isinstance(item, HumanMessage):
            await self._on_message(item)
        elif isinstance(item, HumanTyping):
            self.state.typing_until = self.deps.clock.now() + item.ttl
            self.deps.trace(self.key, "human_typing", self.deps.clock.now(), until=self.state.typing_until)
            self._schedule(self.state.typing_until)
        elif isinstance(item, HumanEdit):
            await self._on_edit(item.message_id, item.text)
        elif isinstance(item, HumanDelete):
            await self._on_edit(item.message_id, None)
        elif isinstance(item, Command):
            await self._on_command(item)
            return
        elif isinstance(item, Nudge):
            self._on_nudge(item)
            return
        elif isinstance(item, _JobEnded):
            await self._on_job_ended(item.job)
        await self._after_input()

    async def _on_message(self, msg: HumanMessage) -> None:
        now = self.deps.clock.now()
        if not (msg.text.strip() or msg.attachments):
            self.deps.trace(self.key, "ignored_empty", now)
            return
        if not await self.deps.store.save_human(msg, now):
            return  # a redelivery of a message we already have
        pending = _Pending(msg, now)
        self.state.pending.append(pending)
        self.state.typing_until = None  # sending a message ends that typing spell
        self.deps.trace(self.key, "human_message", now, text=msg.text, id=msg.message_id)
        if self.job is not None:
            self.state.new_since_job.append(pending)

    async def _on_edit(self, message_id: str, text: str | None) -> None:
        index = next((i for i, p in enumerate(self.state.pending) if p.msg.message_id == message_id), None)
        if index is None:
            return  # an edit of something long answered changes nothing now
        await self.deps.store.edit_human(self.key, message_id, text)
        if text is None:
            removed = self.state.pending.pop(index)
            self.state.new_since_job = [p for p in self.state.new_since_job if p is not removed]
            if self.job is not None and message_id in self.job.covers and not self.state.pending:
                await self._stop_job("the message it answered was deleted")
        else:
            edited = _Pending(replace(self.state.pending[index].msg, text=text), self.state.pending[index].at)
            self.state.pending[index] = edited
            if self.job is not None and message_id in self.job.covers:
                self.state.new_since_job.append(edited)

    async def _after_input(self) -> None:
        if self.job is None:
            self._evaluate()
            return
        if not self.job.paused:
            return
        if self.state.new_since_job:
            await self._decide_interruption()
        elif self.state.typing_until is not None and self.state.typing_until > self.deps.clock.now():
            self._schedule(self.state.typing_until)
        else:
            self.job.resume()  # they stopped typing without sending: keep the part

    async def _decide_interruption(self) -> None:
        assert self.job is not None
        now = self.deps.clock.now()
        decision = self.config().interrupt_policy.decide(self._view(), now, self.state.deferred_once)
        self.deps.trace(self.key, "interrupt", now, decision=type(decision).__name__.lower())
        if isinstance(decision, Finish):
            self.state.new_since_job = []
            self.job.resume()
        elif isinstance(decision, Defer):
            self.state.deferred_once = True
            self._schedule(decision.until)
        elif isinstance(decision, Revise):
            await self._stop_job("revised: the human wrote again")
            self._evaluate()

    async def _stop_job(self, reason: str) -> None:
        job, self.job = self.job, None
        if job is not None:
            await job.stop(reason)
        self.state.new_since_job = []
        self.state.deferred_once = False

    async def _on_job_ended(self, job: ReplyJob) -> None:
        if job is not self.job:
            return
        self.job = None
        outcome = job.outcome
        unanswered = [p.msg.message_id for p in self.state.pending if p.msg.message_id in job.covers]
        if outcome.failure is not None and not outcome.delivered and self.deps.failure_reply != "silent":
            await self._say_line("llm_down", f"down-{self.deps.clock.now():.6f}", unanswered)
        if unanswered and not outcome.delivered:
            await self._answered(unanswered)  # silence or failure: do not loop on the same messages
        self.state.deferred_once = False
        self.state.new_since_job = []

    def _evaluate(self) -> None:
        if self.job is not None or not self.state.pending:
            return
        now = self.deps.clock.now()
        cfg = self.config()
        view = self._view()
        decision = cfg.turn_policy.decide(view, now)
        if isinstance(decision, Respond) and view.is_group and not cfg.group_policy.should_answer(view, self.deps.rng):
            decision = Ignore("group policy: not for the bot")
        self.deps.trace(self.key, "decision", now, decision=type(decision).__name__.lower(),
                        until=getattr(decision, "at", None))
        if isinstance(decision, WaitUntil):
            self._schedule(decision.at)
        elif isinstance(decision, Respond):
            self._start_job(cfg)
        else:
            asyncio.get_running_loop().create_task(
                self._answered([p.msg.message_id for p in self.state.pending]), name=f"ignore:{self.key}"
            )

    def _on_nudge(self, nudge: Nudge) -> None:
        now = self.deps.clock.now()
        if self.state.pending or self.job is not None:
            self.deps.trace(self.key, "nudge_dropped", now, reason=nudge.reason)
            return  # the human wrote first, or a reply is under way
        self.deps.trace(self.key, "nudge", now, reason=nudge.reason)
        self._start_job(self.config(), note=nudge.note, is_group=nudge.is_group)

    def _start_job(self, cfg: ChatConfig, note: str = "", is_group: bool = False) -> None:
        pending = self.state.pending
        request = ReplyRequest(
            system=f"{cfg.persona.style}\n\n{note}" if note else cfg.persona.style,
            history=tuple(self.state.history),
            unanswered=tuple(Line("human", p.text(), p.at, p.msg.author.name) for p in pending),
            max_parts=cfg.timing.max_parts,
            max_part_chars=cfg.persona.typing.max_part_chars,
            limit=self.deps.outlet.limit,
            is_group=pending[-1].msg.is_group if pending else is_group,
        )
        if pending:
            self._note_turn(pending)
        ctx = ReplyContext(self.key, self.deps.clock, self.deps.responder, self.deps.outlet, self.deps.store,
                           cfg.pacing(self.deps.rng), self.deps.trace, self._on_delivered)
        # In a group, quote the message that called the bot, not whatever came last.
        quoted = [p for p in pending if p.msg.addressed] or pending
        reply_to = quoted[-1].msg.message_id if pending and pending[-1].msg.is_group else None
        self.job = ReplyJob(ctx, request, tuple(p.msg.message_id for p in pending), reply_to)
        self.state.new_since_job = []
        self.job.start(lambda job: self._enqueue(_JobEnded(job)))

    async def _on_delivered(self, job: ReplyJob, text: str, at: float) -> None:
        covered = [p.msg.message_id for p in self.state.pending if p.msg.message_id in job.covers]
        if covered:
            await self._answered(covered)
        self._remember([Line("bot", text, at)])

    async def _answered(self, message_ids: list[str]) -> None:
        ids = set(message_ids)
        moved = [p for p in self.state.pending if p.msg.message_id in ids]
        self.state.pending = [p for p in self.state.pending if p.msg.message_id not in ids]
        self._remember([Line("human", p.text(), p.at, p.msg.author.name) for p in moved])
        await self.deps.store.mark_answered(self.key, [p.msg.message_id for p in moved])

    def _remember(self, lines: list[Line]) -> None:
        """Add delivered lines to the history the prompt sees, keeping only the newest (as the store does)."""
        self.state.history.extend(lines)
        del self.state.history[:-HISTORY_LIMIT]

    def _view(self) -> ConversationView:
        pending = self.state.pending
        author = pending[-1].msg.author.id if pending else ""
        return ConversationView(
            pending=tuple(Said(p.text(), p.at, p.msg.author.id) for p in pending),
            timing=self.config().timing,
            typing_until=self.state.typing_until,
            has_typing_signal=self.deps.outlet.has_typing_signal,
            is_group=bool(pending) and pending[-1].msg.is_group,
            addressed=any(p.msg.addressed for p in pending),
            rhythm=self.state.rhythms.get(author, Rhythm()),
            new_since_reply=tuple(Said(p.text(), p.at, p.msg.author.id) for p in self.state.new_since_job),
        )

    def _note_turn(self, pending: list[_Pending]) -> None:
        """The bot answers now: the newest author's burst is a finished turn to learn their rhythm from."""
        author = pending[-1].msg.author.id
        times = [p.at for p in pending if p.msg.author.id == author]
        new = self.state.rhythms.get(author, Rhythm()).observe_turn(times)
        self.state.rhythms[author] = new
        asyncio.get_running_loop().create_task(
            self.deps.store.save_rhythm(self.key, author, new), name=f"rhythm:{self.key}"
        )

    def _schedule(self, at: float) -> None:
        """Wake the actor at `at`; replaces any earlier timer."""
        if self._timer is not None and not self._timer.done():
            if self._timer_at == at:
                return
            self._timer.cancel()
        self._timer_at = at
        self._timer = asyncio.create_task(self._fire(at), name=f"timer:{self.key}")

    async def _fire(self, at: float) -> None:
        await self.deps.clock.sleep(at - self.deps.clock.now())
        self._enqueue(_Tick())

    async def _on_command(self, cmd: Command) -> None:
        result: CommandResult = run_command(self.deps.chat_config, self.state.overrides, cmd)
        if result.forget:
            await self._stop_job("history reset")
            self.state.pending = []
            self.state.history = []
            await self.deps.store.forget(self.key)
        if result.overrides is not None:
            self.state.overrides = result.overrides
            await self.deps.store.save_overrides(self.key, result.overrides)
        if result.reply:
            await self.deps.outlet.send(self.key, result.reply, cmd.reply_to)

    async def close(self) -> None:
        """Stop everything this actor runs (on shutdown)."""
        await self._stop_job("shutdown")
        await cancel_and_wait(self._timer)
        await cancel_and_wait(self.task)
