"""The port to the fast model of the `duplex` turn policy (seed 002): is the human done, and what to answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.core.ports import ReplyRequest, Responder


@dataclass(frozen=True, slots=True)
class DuplexQuestion:
    """The conversation so far, the burst (`request.unanswered`) and the quiet since its last message."""

    request: ReplyRequest
    ticks: int  # whole silence ticks since the newest message
    silence_tick: float  # seconds each tick stands for


@dataclass(frozen=True, slots=True)
class Prediction:
    """What the human is predicted still to say ("": the turn is over) and the reply drafted for it."""

    user: str
    assistant: str

    @property
    def turn_over(self) -> bool:
        """An empty prediction of more text: the human is done, and `assistant` is the reply."""
        return not self.user.strip()


class NoPrediction(Exception):
    """The fast model gave no usable answer: the message says why (timeout, error, malformed tags)."""


class TurnPredictor(Protocol):
    """A fast model answering `<user_preemptive>…</user_preemptive><assistant_preemptive>…</assistant_preemptive>`."""

    async def predict(self, question: DuplexQuestion, timeout: float) -> Prediction:
        """The prediction for this burst and silence; NoPrediction (saying why) within `timeout` seconds."""
        ...

    def drafted(self, text: str) -> Responder:
        """A reply session that says this drafted text, cut into parts as a reply is, asking no model."""
        ...
