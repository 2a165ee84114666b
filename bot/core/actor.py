"""One conversation's actor, the only writer of its state: reply jobs and the fast model report to its inbox."""

from __future__ import annotations

import asyncio
import itertools

from bot.core.commands import run_command
from bot.core.config import ChatConfig, EngineDeps
from bot.core.duplex import Drafted, Duplexing
from bot.core.events import Command, ConversationKey, Event, HumanDelete, HumanEdit, HumanMessage, HumanTyping, Nudge
from bot.core.judging import Judging, Verdict
from bot.core.mailbox import Mailbox, Tick, new_done
from bot.core.memory_commands import answer_forget, forget_conversation
from bot.core.outbox import Delivered, Outbox
from bot.core.ports import CutShortReply, Line, MessageChanged, TypingSeen
from bot.core.reply import ReplyJob
from bot.core.reply_items import JobEnded, PartChanged, PartDelivered, ReplyContext, continuation_note
from bot.core.state import ConversationState, Pending
from bot.core.task_results import TaskResult, WaitingResults
from policies.interrupt import Acknowledge, Defer, Finish, Relay, Revise
from policies.view import Respond, WaitUntil

_reply_ids = itertools.count(1)

Item = Event | PartDelivered | PartChanged | JobEnded | Verdict | Drafted


class ConversationActor(Mailbox[Item]):
    """Owns one chat's state and handles its events strictly in order."""

    def __init__(self, key: ConversationKey, deps: EngineDeps) -> None:
        super().__init__(str(key), deps.clock)
        self.key = key
        self.deps = deps
        self.state = ConversationState()
        self.outbox = Outbox(key, deps.outlet, deps.store, deps.clock, deps.trace)
        self.job: ReplyJob | None = None
        self._restored = False
        self._cut_short: CutShortReply | None = None
        self.judging = Judging(key, deps, self.enqueue)  # the fast model's verdicts come back as inbox items
        self.duplex = Duplexing(key, deps, self.enqueue)  # so do the duplex policy's predictions
        self.results = WaitingResults(deps.tasks)  # finished background tasks not told yet

    def post(self, event: Event) -> asyncio.Future[None]:
        """Queue an event; the future resolves once it is stored and received (or carries why it was not)."""
        if self.job is not None and not getattr(event, "from_bot", False) and self.job.interrupted_by(
                event, self.config().interrupt_policy.name):
            self.job.pause()  # at once: nothing unsent may leave after this input arrived
        done = new_done()
        self.enqueue(event, done)
        return done

    def config(self) -> ChatConfig:
        """The chat's effective persona, timing and policies."""
        return self.deps.chat_config(self.state.overrides)

    @property
    def quiet(self) -> bool:
        """True when nothing is unanswered, in flight or waiting in the inbox."""
        return not self.state.pending and self.job is None and self._cut_short is None and not self.draining

    @property
    def idle(self) -> bool:
        """Quiet, and no timer set either: the actor can be released."""
        return self.quiet and not self.timer_set

    async def prepare(self) -> None:
        """Restore from the store before the first item."""
        if self._restored:
            return
        stored = await self.deps.store.load(self.key)
        self._restored = True
        now = self.deps.clock.now()
        self.state = ConversationState.restored(stored, now)
        self._cut_short = stored.cut_short
        stale = [p for p in self.state.pending if now - p.at > self.deps.fresh_seconds]
        if stale:
            await self._late(stale)
        if self._cut_short is not None and not self.state.pending:
            # Like a person whose phone comes back on: look at what came in first, then finish the thought.
            self.state.held_until = now + self.config().timing.debounce
        if self.state.pending or self._cut_short is not None:
            self.inbox.appendleft((Tick(), None))  # decide on what was left unanswered right after this item

    async def _late(self, stale: list[Pending]) -> None:
        """Messages that waited past the freshness window (the bot was down): the late line, or nothing."""
        ids = [p.id for p in stale]
        self.deps.trace(self.key, "late", self.deps.clock.now(), ids=ids, reply=self.deps.late_reply)
        if self.deps.late_reply == "silent" or await self._say_line("late", ids):
            await self._answered(ids)
        # if the late line could not be sent, they stay unanswered and get a normal reply

    async def _say_line(self, what: str, answers: list[str]) -> bool:
        """Send one of the persona's canned lines, answering `answers`; False if it could not be sent."""
        delivered = await self.outbox.send_or_none(self.config().persona.line(what), kind="line")
        if delivered is None:
            return False
        await self._answered(answers)  # in history the messages come before the line that answers them
        await self._said(delivered)
        self.deps.trace(self.key, "part_sent", delivered.at, text=delivered.text, covers=answers)
        return True

    async def _said(self, delivered: Delivered) -> None:
        """A message reached the human: the store confirms it and the history has it."""
        await self.outbox.confirm(delivered)
        self.state.remember([Line("bot", delivered.text, delivered.at)], ref=delivered.part_id)

    async def handle(self, item: Item | Tick) -> None:
        """Handle one event, delivery, change or end of a reply, or a tick."""
        if isinstance(item, HumanMessage):
            await self._on_message(item)
        elif isinstance(item, HumanTyping):
            self._on_typing(item)
        elif isinstance(item, HumanEdit | HumanDelete):
            await self._on_edit(item.message_id, item.text if isinstance(item, HumanEdit) else None)
        elif isinstance(item, Command):
            return await self._on_command(item)
        elif isinstance(item, Nudge):
            return self._on_nudge(item)
        elif isinstance(item, PartDelivered):
            return await self._on_delivered(item)
        elif isinstance(item, PartChanged):
            return self.state.change_line(item.part_id, item.text)
        elif isinstance(item, JobEnded):
            await self._on_job_ended(item.job)
        elif isinstance(item, TaskResult):
            self.results.arrived(item)
        elif isinstance(item, Verdict):
            self.judging.take(item)  # the decision it answers is made again below, now with the answer
        elif isinstance(item, Drafted):
            self.duplex.take(item)
        await self._after_input()

    async def _on_message(self, msg: HumanMessage) -> None:
        now = self.deps.clock.now()
        if not (msg.text.strip() or msg.attachments):
            self.deps.trace(self.key, "ignored_empty", now)
            return
        if not await self.deps.store.save_human(msg, now):
            return  # a redelivery of a message we already have
        pending = Pending(msg, now)
        self.state.pending.append(pending)
        if msg.from_bot:  # another bot: context for the conversation, never something to answer
            return await self._answered([pending.id])
        self.state.typing_until = None  # sending a message ends that typing spell
        self.state.held_until = None  # new words: the turn is decided afresh
        self.deps.trace(self.key, "human_message", now, text=msg.text, id=msg.message_id)
        if self.job is not None:
            self.state.new_since_job.append(pending)

    def _on_typing(self, typing: HumanTyping) -> None:
        self.state.typing_until = self.deps.clock.now() + typing.ttl
        self.deps.trace(self.key, "human_typing", self.deps.clock.now(), until=self.state.typing_until)
        if self.job is not None:
            self.job.hear(TypingSeen(self.state.typing_until))
        self.schedule(self.state.typing_until)

    async def _on_edit(self, message_id: str, text: str | None) -> None:
        if self.state.find(message_id) is None:
            return  # an edit of something long answered changes nothing now
        await self.deps.store.edit_human(self.key, message_id, text)
        covered = self.job is not None and message_id in self.job.covers
        if text is None:
            self.state.drop(message_id)  # looked up again after the write: the state may have moved on
            if self.job is not None and covered and not self.state.pending:
                await self._stop_job("the message it answered was deleted")
        else:
            edited = self.state.replace_text(message_id, text)
            if edited is not None and covered:
                self.state.new_since_job.append(edited)
        if self.job is not None and covered:
            self.job.hear(MessageChanged(message_id, text))

    async def _after_input(self) -> None:
        if self.job is None:
            return await self._evaluate()
        self.results.relay(self.job)  # a listening session hears a finished task at once; others wait for its end
        if not self.job.paused:
            return
        if self.state.new_since_job:
            await self._decide_interruption()
        elif again := self.state.typing_hold(self.deps.clock.now(), self.job.paused_at, self.config().timing.max_wait):
            self.schedule(again)
        else:
            self.job.resume()  # they stopped typing without sending: keep the part

    async def _decide_interruption(self) -> None:
        assert self.job is not None
        if (decision := await self.judging.interruption(self.job, self.state, self.config())) is None:
            return  # the fast model was asked: its verdict comes back through the inbox
        if isinstance(decision, Finish | Acknowledge):
            new, self.state.new_since_job = self.state.new_since_job, []
            if isinstance(decision, Acknowledge):  # the new messages need no answer of their own
                await self._answered([p.id for p in new])
            self.job.resume()
        elif isinstance(decision, Relay):
            new, self.state.new_since_job = self.state.new_since_job, []
            self.job.relay(tuple(p.line() for p in new), [p.id for p in new])
        elif isinstance(decision, Defer):
            self.state.deferred_once = True
            self.schedule(decision.until)
        elif isinstance(decision, Revise):
            await self._stop_job("revised: the human wrote again")
            await self._evaluate()

    async def _stop_job(self, reason: str) -> None:
        job, self.job = self.job, None
        if job is not None:
            late = await job.stop(reason)
            if late is not None:  # a part that was on the wire when the stop came: it was said
                await self._on_delivered(PartDelivered(job, late))
        self.state.job_over()

    async def _on_delivered(self, item: PartDelivered) -> None:
        if answered := [p.id for p in self.state.pending if p.id in item.job.covers]:
            await self._answered(answered)  # the messages it answers go into history first
        await self._said(item.delivered)
        if not item.recorded.done():
            item.recorded.set_result(None)

    async def _on_job_ended(self, job: ReplyJob) -> None:
        if job is not self.job:
            return
        self.job = None
        outcome = job.outcome
        self.state.job_over()
        if outcome.hold_until is not None and not outcome.delivered:
            self.state.held_until = outcome.hold_until  # the session chose to wait: still unanswered
            return self.schedule(outcome.hold_until)
        unanswered = [p.id for p in self.state.pending if p.id in job.covers]
        if outcome.failure is not None and not outcome.delivered and self.deps.failure_reply != "silent":
            await self._say_line("llm_down", unanswered)
        if unanswered and (outcome.silent or not outcome.delivered):
            await self._answered(unanswered)  # silence or failure: do not loop on the same messages

    async def _evaluate(self) -> None:
        if self.job is not None:
            return
        now = self.deps.clock.now()
        if self.state.held_until is not None and now < self.state.held_until:
            return self.schedule(self.state.held_until)
        if not self.state.pending:
            return await self._continue_cut_short()
        cfg = self.config()
        if (decision := await self.judging.turn(self.state, cfg, now, self.duplex.decide)) is None:
            return  # the fast model was asked whether to join in: its verdict comes back through the inbox
        if isinstance(decision, WaitUntil):
            self.schedule(decision.at)
        elif isinstance(decision, Respond):
            await self._start_job(cfg)
        else:
            await self._answered([p.id for p in self.state.pending])

    async def _continue_cut_short(self) -> None:
        """After a restart, finish the reply the crash cut short (unless the human wrote since)."""
        cut, self._cut_short = self._cut_short, None
        if cut is None:
            if self.results.waiting:  # nothing to answer, a task's result to tell: the bot texts first
                self._spawn_job(self.config(), is_group=self.results.is_group)
            return
        self.deps.trace(self.key, "continue", self.deps.clock.now(), sent=list(cut.delivered))
        await self._start_job(self.config(), note=continuation_note(cut.delivered))

    def _on_nudge(self, nudge: Nudge) -> None:
        dropped = bool(self.state.pending) or self.job is not None  # the human wrote first, or a reply is under way
        self.deps.trace(self.key, "nudge_dropped" if dropped else "nudge", self.deps.clock.now(), reason=nudge.reason)
        if not dropped:
            self._spawn_job(self.config(), note=nudge.note, is_group=nudge.is_group)

    async def _start_job(self, cfg: ChatConfig, note: str = "") -> None:
        if self._cut_short is not None:  # the human wrote since the crash: this reply covers it all
            cut, self._cut_short = self._cut_short, None
            await self.deps.store.reply_ended(self.key, cut.reply_id, self.deps.clock.now())
        if self.state.pending:
            author, rhythm = self.state.observe_turn()
            await self.deps.store.save_rhythm(self.key, author, rhythm)
        self._spawn_job(cfg, note=note)

    def _spawn_job(self, cfg: ChatConfig, note: str = "", is_group: bool = False) -> None:
        note = self.results.with_note(note)
        request = self.state.reply_request(cfg, self.deps.outlet.limit, note, is_group, self.key)
        deps = self.deps
        responder = self.duplex.responder(self.state) or deps.responder_for(cfg.responder)  # a draft: no request
        ctx = ReplyContext(deps.clock, responder, self.outbox, cfg.pacing(deps.rng), deps.trace, self.enqueue)
        covers = tuple(p.id for p in self.state.pending)
        self.job = ReplyJob(ctx, request, covers, self.state.quote_target(), f"r{next(_reply_ids)}")
        self.state.new_since_job = []
        self.job.start()

    async def _answered(self, message_ids: list[str]) -> None:
        moved = self.state.take_answered(message_ids)
        await self.deps.store.mark_answered(self.key, [p.id for p in moved])

    async def _on_command(self, cmd: Command) -> None:
        result = run_command(self.deps.chat_config, self.state.overrides, cmd)
        if result.forget:
            await self._stop_job("history reset")
            self.state = ConversationState(overrides=self.state.overrides, rhythms=self.state.rhythms)
            self._cut_short = None
            await self.deps.store.forget(self.key)
            await forget_conversation(self.deps.memories, self.key)
        if result.overrides is not None:
            self.state.overrides = result.overrides
            await self.deps.store.save_overrides(self.key, result.overrides)
        reply = result.reply if result.memory_words is None else await answer_forget(
            self.deps.memories, cmd, result.memory_words)
        if reply:
            await self.outbox.say(reply, reply_to=cmd.reply_to, kind="command")

    async def close(self) -> None:
        """Stop everything this actor runs (on shutdown)."""
        await self.close_mailbox(finish=lambda item: isinstance(item, PartDelivered | PartChanged))
        await self.judging.close()
        await self.duplex.close()
        await self._stop_job("shutdown")
