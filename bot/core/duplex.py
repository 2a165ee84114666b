"""The `duplex` turn policy inside one conversation (seed 002): the fast model is asked in a kept background
task, its prediction comes back through the actor's inbox, and a turn-over prediction's drafted reply is
held for exactly the text it saw, to be delivered by the next reply job without a second generation.

A new, edited or deleted message makes any draft stale: the request in flight is cancelled and the draft
dropped. Without a fast model, in a group, or with another policy, the pure policy decides as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.core.duplex_port import DuplexQuestion, NoPrediction, Prediction
from bot.core.events import ConversationKey
from bot.core.ports import Responder
from bot.core.tasks import cancel_and_wait
from policies.duplex import Ask, Duplex
from policies.view import ConversationView, Respond, TurnDecision, WaitUntil

if TYPE_CHECKING:
    from bot.core.config import ChatConfig, EngineDeps
    from bot.core.state import ConversationState

log = logging.getLogger(__name__)
Burst = tuple[tuple[str, str], ...]  # (message id, text) of every unanswered message, in order
SHOWN = 200  # characters of a prediction the timeline keeps


@dataclass(frozen=True, slots=True)
class Drafted:
    """Inbox item: the fast model's prediction for `burst` after `ticks` (None: no usable answer, `failure` why)."""

    burst: Burst
    ticks: int
    prediction: Prediction | None
    failure: str = ""
    seconds: float = 0.0


def burst_of(state: ConversationState) -> Burst:
    """What the human has said that is unanswered, as a draft must have seen it."""
    return tuple((p.id, p.text()) for p in state.pending)


class Duplexing:
    """One conversation's requests to the duplex fast model and the draft it holds (one request at a time)."""

    def __init__(self, key: ConversationKey, deps: EngineDeps, post: Callable[[Drafted], None]) -> None:
        self.key = key
        self.deps = deps
        self.post = post
        self._task: asyncio.Task[None] | None = None
        self._asking: tuple[Burst, int] | None = None
        self._turn = ""  # the first unanswered message's id: the turn the calls are counted in
        self._calls = 0
        self._burst: Burst = ()
        self._asked: list[int] = []  # ticks asked for the burst as it is now
        self._draft: Drafted | None = None  # a turn-over prediction for `_burst`

    async def decide(self, state: ConversationState, view: ConversationView, cfg: ChatConfig,
                     now: float) -> TurnDecision:
        """The turn decision: ask the fast model, wait for it or the next tick, answer with the draft, or fall back."""
        policy = cfg.turn_policy
        if not isinstance(policy, Duplex) or self.deps.duplex is None or view.is_group:
            return policy.decide(view, now)
        await self._follow(burst_of(state))
        assert view.last_at is not None
        cap = view.last_at + view.timing.max_wait
        if now >= cap:
            await self._drop("max_wait: the normal reply answers")
            return Respond()
        if self._draft is not None and not view.human_typing(now):
            return Respond()  # the drafted reply goes out: see `responder`
        if self._asking is not None:
            return WaitUntil(cap)  # the prediction comes back through the inbox before that
        step = policy.step(view, now, self._calls, tuple(self._asked))
        if not isinstance(step, Ask):
            return step
        await self._ask(state, cfg, step.ticks)
        return WaitUntil(cap)

    def take(self, drafted: Drafted) -> None:
        """Keep the answer to the open request (a turn-over one as the draft); an older request's is dropped."""
        if self._asking != (drafted.burst, drafted.ticks):
            return
        self._asking = None
        prediction = drafted.prediction
        over = prediction is not None and prediction.turn_over and bool(prediction.assistant.strip())
        self._trace("duplex_prediction", ticks=drafted.ticks, turn_over=over,
                    user=prediction.user[:SHOWN] if prediction else None,
                    assistant=prediction.assistant[:SHOWN] if prediction else None,
                    failure=drafted.failure or None, seconds=round(drafted.seconds, 3))
        if over:
            self._draft = drafted

    def responder(self, state: ConversationState) -> Responder | None:
        """A reply starts, so this turn is over: the draft's session if it saw exactly what is unanswered."""
        draft, self._draft = self._draft, None
        if self._task is not None and self._asking is not None:
            self._task.cancel()  # kept, and awaited before the next request or on close
        self._asking, self._turn, self._calls, self._burst, self._asked = None, "", 0, (), []
        if draft is None or draft.burst != burst_of(state) or draft.prediction is None or self.deps.duplex is None:
            return None
        self._trace("duplex_draft_sent", ticks=draft.ticks)
        return self.deps.duplex.drafted(draft.prediction.assistant)

    async def close(self) -> None:
        """Stop asking (on shutdown)."""
        await cancel_and_wait(self._task)

    async def _follow(self, burst: Burst) -> None:
        """The unanswered text changed: any draft or request for the old text is stale."""
        if burst == self._burst:
            return
        if not burst or burst[0][0] != self._turn:
            self._turn, self._calls = (burst[0][0] if burst else ""), 0
        self._burst, self._asked = burst, []
        await self._drop("the human wrote again")

    async def _drop(self, reason: str) -> None:
        if self._draft is not None:
            self._trace("duplex_draft_dropped", ticks=self._draft.ticks, reason=reason)
        if self._asking is not None:
            self._trace("duplex_cancelled", ticks=self._asking[1], reason=reason)
        self._draft, self._asking = None, None
        await cancel_and_wait(self._task)

    async def _ask(self, state: ConversationState, cfg: ChatConfig, ticks: int) -> None:
        await cancel_and_wait(self._task)
        assert self.deps.duplex is not None
        request = state.reply_request(cfg, self.deps.outlet.limit, key=self.key)
        question = DuplexQuestion(request, ticks, cfg.timing.silence_tick)
        self._calls += 1
        self._asked.append(ticks)
        self._asking = (self._burst, ticks)
        self._trace("duplex_ask", ticks=ticks, call=self._calls, covers=[i for i, _ in self._burst])
        self._task = asyncio.create_task(self._run(self._burst, question, cfg.timing.judge_timeout),
                                         name=f"duplex:{self.key}")

    async def _run(self, burst: Burst, question: DuplexQuestion, timeout: float) -> None:
        assert self.deps.duplex is not None
        started = self.deps.clock.now()
        prediction: Prediction | None = None
        failure = ""
        try:
            prediction = await self.deps.duplex.predict(question, timeout)
        except NoPrediction as exc:
            failure = str(exc)
        except Exception as exc:  # a broken fast model must never leave the human unanswered
            log.warning("the duplex fast model failed in %s: %s", self.key, type(exc).__name__)
            failure = f"duplex model failed: {type(exc).__name__}"
        self.post(Drafted(burst, question.ticks, prediction, failure, self.deps.clock.now() - started))

    def _trace(self, kind: str, **data: Any) -> None:
        self.deps.trace(self.key, kind, self.deps.clock.now(), **data)
