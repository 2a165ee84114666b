"""The `judge` policies inside one conversation: the fast model is asked in a kept background task and its
verdict comes back through the actor's inbox, like a reply job's news, so the inbox never waits on a model.

Without a fast model wired (or with another policy) the pure policies decide, exactly as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from bot.core.events import ConversationKey
from bot.core.judge_port import GroupQuestion, InterruptionQuestion, NoRuling, Ruling
from bot.core.tasks import cancel_and_wait
from policies.interrupt import Defer, InterruptDecision, Relay
from policies.judged import defer_rule, judged_interruption, unsolicited_refusal
from policies.view import ConversationView, Ignore, Respond, TurnDecision, WaitUntil

if TYPE_CHECKING:
    from bot.core.config import ChatConfig, EngineDeps
    from bot.core.reply import ReplyJob
    from bot.core.state import ConversationState

log = logging.getLogger(__name__)
TurnDecider = Callable[["ConversationState", ConversationView, "ChatConfig", float], Awaitable[TurnDecision]]
PROMPT_HISTORY = 20  # lines of earlier conversation a question shows the fast model
NOT_FOR_THE_BOT = "group policy: not for the bot"


@dataclass(frozen=True, slots=True)
class Verdict:
    """Inbox item: the fast model's ruling on the question `asked` (None: no usable answer; `failure` says why)."""

    asked: tuple[str, ...]
    ruling: Ruling | None
    failure: str = ""
    seconds: float = 0.0


def held_parts(job: ReplyJob) -> tuple[str, ...]:
    """The parts the job's session said that have not gone out, in order."""
    return job.held_texts()


class Judging:
    """One conversation's questions to the fast model: one at a time, a newer question replacing an older one."""

    def __init__(self, key: ConversationKey, deps: EngineDeps, post: Callable[[Verdict], None]) -> None:
        self.key = key
        self.deps = deps
        self.post = post
        self._task: asyncio.Task[None] | None = None
        self._asking: tuple[str, ...] | None = None
        self._ready: Verdict | None = None
        self._episode: tuple[str, str] | None = None  # (reply, first new message): one interruption
        self._mode = ""  # of this interruption: "" | "deferred" (until the burst ends) | "again" | "rule"
        self._why = ""  # why the rule took over

    def take(self, verdict: Verdict) -> None:
        """Keep the answer to the open question for the decision that follows; an older question's is dropped."""
        if verdict.asked == self._asking:
            self._asking, self._ready = None, verdict

    async def close(self) -> None:
        """Stop asking (on shutdown)."""
        await cancel_and_wait(self._task)

    # ------------------------------------------------------------------ the human wrote during a reply
    async def interruption(
        self, job: ReplyJob, state: ConversationState, cfg: ChatConfig,
    ) -> InterruptDecision | None:
        """What becomes of the held reply now; None while the fast model is asked."""
        view = state.view(cfg.timing, self.deps.outlet.has_typing_signal)
        now = self.deps.clock.now()
        judge = self.deps.judge
        if cfg.interrupt_policy.name != "judge" or judge is None:
            decision = Relay() if job.listens else cfg.interrupt_policy.decide(view, now, state.deferred_once)
            self._trace("interrupt", type(decision).__name__.lower())
            return decision
        episode = (job.reply_id, state.new_since_job[0].id)
        if episode != self._episode:
            self._episode, self._mode = episode, ""
        if self._mode == "rule":  # the rule took this interruption over: it sees it through
            return self._by_rule(view, now, state.deferred_once, self._why)
        if self._mode == "deferred":
            waiting = cfg.turn_policy.decide(view, now)
            if isinstance(waiting, WaitUntil):
                return Defer(waiting.at)
            self._mode = "again"  # their new burst is over: the model decides once more
        asked = (job.reply_id, *(p.id for p in state.new_since_job))
        ready, self._ready = self._ready, None
        if ready is not None and ready.asked == asked:
            return self._rule_on(ready, job, view, now, cfg, state.deferred_once)
        if self._asking != asked:
            question = self._interruption_question(job, state, cfg)
            await self._ask(asked, partial(judge.decide_interruption, question, cfg.timing.judge_timeout))
        return None

    def _rule_on(self, verdict: Verdict, job: ReplyJob, view: ConversationView, now: float, cfg: ChatConfig,
                 deferred_once: bool) -> InterruptDecision:
        if verdict.ruling is None:
            self._mode, self._why = "rule", verdict.failure
            return self._by_rule(view, now, deferred_once, verdict.failure, verdict.seconds)
        choice, reason = verdict.ruling.choice, verdict.ruling.reason
        decision, by_model = judged_interruption(choice, view, now, cfg.turn_policy, listens=job.listens,
                                                 again=self._mode == "again", deferred_once=deferred_once)
        if not by_model:  # relay to a session that does not listen, or nothing left to defer to
            self._mode, self._why = "rule", f"the defer rule, after the model chose {choice}"
        elif isinstance(decision, Defer):
            self._mode = "deferred"
        self._trace("interrupt", choice, reason=reason, by="judge", applied=type(decision).__name__.lower(),
                    seconds=round(verdict.seconds, 3))
        return decision

    def _by_rule(self, view: ConversationView, now: float, deferred_once: bool, why: str,
                 seconds: float = 0.0) -> InterruptDecision:
        decision = defer_rule(view, now, deferred_once)
        name = type(decision).__name__.lower()
        self._trace("interrupt", name, reason=why, by="defer rule", applied=name, seconds=round(seconds, 3))
        return decision

    def _interruption_question(self, job: ReplyJob, state: ConversationState, cfg: ChatConfig) -> InterruptionQuestion:
        return InterruptionQuestion(
            persona=cfg.persona.name, history=job.request.history[-PROMPT_HISTORY:],
            answering=job.request.unanswered, delivered=tuple(job.outcome.delivered), unsent=held_parts(job),
            new=tuple(p.line() for p in state.new_since_job), can_relay=job.listens, again=self._mode == "again",
        )

    # ------------------------------------------------------------------ when to answer, and in a group whether to
    async def turn(self, state: ConversationState, cfg: ChatConfig, now: float,
                   decide: TurnDecider | None = None) -> TurnDecision | None:
        """The turn policy's decision (or `decide`'s), then (in a group) the group policy's; None while the fast
        model is asked."""
        view = state.view(cfg.timing, self.deps.outlet.has_typing_signal)
        decision: TurnDecision | None = \
            cfg.turn_policy.decide(view, now) if decide is None else await decide(state, view, cfg, now)
        if isinstance(decision, Respond) and view.is_group:
            decision = await self._group(state, cfg, view)
        if decision is not None:
            self.deps.trace(self.key, "decision", now, decision=type(decision).__name__.lower(),
                            until=getattr(decision, "at", None))
        return decision

    async def _group(self, state: ConversationState, cfg: ChatConfig, view: ConversationView) -> TurnDecision | None:
        judge = self.deps.judge
        if cfg.group_policy.name != "judge" or judge is None:
            return Respond() if cfg.group_policy.should_answer(view, self.deps.rng) else Ignore(NOT_FOR_THE_BOT)
        if view.addressed:
            return Respond()  # called by name, mention or reply: answered as always, nobody is asked
        now = self.deps.clock.now()
        refusal = unsolicited_refusal(self.deps.unsolicited.of(self.key), now, cfg.timing)
        if refusal is not None:
            self._trace("group", "ignore", reason=refusal, by="rule")
            return Ignore(refusal)
        asked = ("group", *(p.id for p in state.pending))
        ready, self._ready = self._ready, None
        if ready is not None and ready.asked == asked:
            return self._join_or_not(ready, now)
        if self._asking != asked:
            question = GroupQuestion(cfg.persona.name, tuple(state.history[-PROMPT_HISTORY:]),
                                     tuple(p.line() for p in state.pending))
            await self._ask(asked, partial(judge.decide_group, question, cfg.timing.judge_timeout))
        return None

    def _join_or_not(self, verdict: Verdict, now: float) -> Respond | Ignore:
        seconds = round(verdict.seconds, 3)
        if verdict.ruling is None:
            self._trace("group", "ignore", reason=verdict.failure, by="mention rule", seconds=seconds)
            return Ignore(NOT_FOR_THE_BOT)
        choice, reason = verdict.ruling.choice, verdict.ruling.reason
        self._trace("group", choice, reason=reason, by="judge", seconds=seconds)
        if choice != "respond":
            return Ignore(f"judge: {reason}")
        self.deps.unsolicited.note(self.key, now)
        return Respond()

    # ------------------------------------------------------------------ asking
    async def _ask(self, asked: tuple[str, ...], ask: Callable[[], Awaitable[Ruling]]) -> None:
        await cancel_and_wait(self._task)  # a newer question (more messages) replaces the one in flight
        self._asking, self._ready = asked, None
        self._task = asyncio.create_task(self._run(asked, ask), name=f"judge:{self.key}")

    async def _run(self, asked: tuple[str, ...], ask: Callable[[], Awaitable[Ruling]]) -> None:
        started = self.deps.clock.now()
        ruling: Ruling | None = None
        failure = ""
        try:
            ruling = await ask()
        except NoRuling as exc:
            failure = str(exc)
        except Exception as exc:  # a broken judge must never leave a reply held for good
            log.warning("the fast model's judge failed in %s: %s", self.key, type(exc).__name__)
            failure = f"judge failed: {type(exc).__name__}"
        self.post(Verdict(asked, ruling, failure, self.deps.clock.now() - started))

    def _trace(self, kind: str, decision: str, **data: Any) -> None:
        self.deps.trace(self.key, kind, self.deps.clock.now(), decision=decision, **data)
