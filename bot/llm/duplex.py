"""The duplex fast model (seed 002): one chat completion predicts the rest of the human's turn and the reply.

The history goes in as chat messages; the burst is the last user message, followed by one `<|silence|>`
per elapsed silence tick. The answer must be exactly
`<user_preemptive>…</user_preemptive><assistant_preemptive>…</assistant_preemptive>`; anything else is
no prediction. A turn-over prediction's reply is said by `DraftedReply`, cut as a streamed reply is.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import openai

from bot.core.clock import Clock
from bot.core.duplex_port import DuplexQuestion, NoPrediction, Prediction
from bot.core.ports import Intent, Line, ReplyRequest, Say, SessionFeed
from bot.llm.prompt import bounded
from bot.llm.splitter import PartCutter
from bot.llm.tidy import speaker_names, tidy_line
from policies.duplex import SILENCE, with_silence

HISTORY_LINES = 20  # earlier lines a fast model is shown (the data set is built with the same prompt)
RULES = (
    "You are texting in a chat app and the other person may not be done yet. Their last message ends with one "
    f"{SILENCE} for every {{tick:g}} s of quiet since they sent it. Answer in exactly this form and nothing else:\n"
    "<user_preemptive>what they will still add, or nothing if they are done</user_preemptive>"
    "<assistant_preemptive>your reply to everything they said: each text message on its own line, at most "
    "{max_parts}, each short</assistant_preemptive>"
)
_ANSWER = re.compile(
    r"\s*<user_preemptive>(?P<user>.*?)</user_preemptive>\s*"
    r"<assistant_preemptive>(?P<assistant>.*?)</assistant_preemptive>\s*", re.DOTALL)
_TAG = re.compile(r"</?(?:user|assistant)_preemptive>")
_OPEN, _CLOSE = "<user_preemptive>", "</assistant_preemptive>"


def _as_message(line: Line, is_group: bool) -> dict[str, str]:
    if line.role == "bot":
        return {"role": "assistant", "content": line.text}
    text = f"{line.author}: {bounded(line.text)}" if is_group and line.author else bounded(line.text)
    return {"role": "user", "content": text}


def duplex_messages(question: DuplexQuestion) -> list[dict[str, str]]:
    """System prompt with the tag rules, the newest history, then the burst with its silence tokens."""
    request = question.request
    rules = RULES.format(tick=question.silence_tick, max_parts=request.max_parts)
    messages = [{"role": "system", "content": f"{request.system}\n\n{rules}"}]
    messages += [_as_message(line, request.is_group) for line in request.history[-HISTORY_LINES:]]
    burst = "\n".join(_as_message(line, request.is_group)["content"] for line in request.unanswered)
    messages.append({"role": "user", "content": with_silence(burst, question.ticks)})
    return messages


def target(rest: str, reply: str) -> str:
    """The answer the model must give: the rest of the turn ("" when it is over) and the reply."""
    return f"<user_preemptive>{rest}</user_preemptive><assistant_preemptive>{reply}</assistant_preemptive>"


def parse_prediction(content: str | None) -> Prediction:
    """The prediction in an answer, or NoPrediction naming what is wrong with its tags."""
    match = _ANSWER.fullmatch(content or "")
    if match is None:
        raise NoPrediction("malformed answer: not exactly the two tags")
    user, assistant = match["user"], match["assistant"]
    if _TAG.search(user) or _TAG.search(assistant):
        raise NoPrediction("malformed answer: a tag inside a tag")
    user = user.replace(SILENCE, "").strip()  # more silence predicted is no more text
    if not user and not any(tidy_line(line) for line in assistant.splitlines()):
        raise NoPrediction("malformed answer: the turn is over but no reply was drafted")
    return Prediction(user, assistant.strip())


def could_be_well_formed(text: str) -> bool:
    """Whether an answer read so far may still turn out exactly the two tags."""
    head = text.lstrip()
    if not (head.startswith(_OPEN) or _OPEN.startswith(head)):
        return False
    end = head.find(_CLOSE)
    return end < 0 or not head[end + len(_CLOSE):].strip()


async def _read_while_well_formed(stream: Any) -> str:
    """The streamed answer, read until it ends or can no longer be well formed."""
    pieces: list[str] = []
    try:
        async for chunk in stream:
            for choice in chunk.choices[:1]:
                pieces.append(choice.delta.content or "")
            if not could_be_well_formed("".join(pieces)):
                break  # stop reading (and paying for) an answer that is already malformed
    finally:
        await stream.close()
    return "".join(pieces)


def tokens_for(request: ReplyRequest) -> int:
    """max_tokens: room for the reply's parts (~3 characters a token) and a short predicted continuation."""
    return max(64, request.max_parts * request.max_part_chars // 3 + 64)


class OpenAIDuplex:
    """Asks any OpenAI-compatible model (LLM_FAST_MODEL) for the two tags, through the official client."""

    def __init__(self, client: openai.AsyncOpenAI, model: str, clock: Clock, temperature: float = 0.6) -> None:
        self.client = client
        self.model = model
        self.clock = clock
        self.temperature = temperature

    async def predict(self, question: DuplexQuestion, timeout: float) -> Prediction:
        """The model's prediction for this burst and silence."""
        return parse_prediction(await self.ask(question, timeout))

    async def ask(self, question: DuplexQuestion, timeout: float) -> str:
        """The model's raw answer (the bench keeps it), streamed and cut off as soon as it cannot be well formed
        (a small model rambling costs no more than its first tokens); NoPrediction on timeout or error."""
        try:
            # Real I/O: a virtual clock stands still meanwhile, so the timeout is real seconds, as in production.
            async with self.clock.hold(), asyncio.timeout(timeout):
                stream: Any = await self.client.chat.completions.create(
                    model=self.model, messages=duplex_messages(question),  # type: ignore[arg-type]
                    temperature=self.temperature, max_tokens=tokens_for(question.request), timeout=timeout,
                    stream=True,
                )
                return await _read_while_well_formed(stream)
        except (TimeoutError, openai.APITimeoutError):
            raise NoPrediction(f"no answer within {timeout:g} s") from None
        except openai.APIError as exc:
            status = getattr(exc, "status_code", None)
            raise NoPrediction(f"the fast model failed: {type(exc).__name__}" + (f" (HTTP {status})" if status else
                                                                                  "")) from None
        except (AttributeError, TypeError, ValueError):  # an odd chunk or a broken stream
            raise NoPrediction("malformed answer: a broken stream") from None

    def drafted(self, text: str) -> DraftedReply:
        """The session that says a turn-over prediction's reply."""
        return DraftedReply(text)


@dataclass(frozen=True)
class DraftedReply:
    """A reply session that says text drafted before the human was done, cut into parts; it asks no model."""

    text: str

    async def reply(self, request: ReplyRequest, feed: SessionFeed) -> AsyncIterator[Intent]:
        """Yield the draft's parts, cut and tidied as a streamed reply's lines are."""
        tidy = partial(tidy_line, names=speaker_names(request.system))
        cutter = PartCutter(request.max_parts, request.max_part_chars, request.limit, tidy=tidy)
        for part in [*cutter.feed(self.text), *cutter.finish()]:
            yield Say(part)
