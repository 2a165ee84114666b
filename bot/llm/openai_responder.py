"""The first responder: a streamed chat completion through the official openai client, cut into parts."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import openai

from bot.core.clock import Clock
from bot.core.ports import Intent, ReplyRequest, ResponderFailed, Say
from bot.core.prompt import build_messages
from bot.core.splitter import PartCutter

log = logging.getLogger(__name__)
RETRYABLE = (openai.RateLimitError, openai.APIConnectionError, openai.InternalServerError, openai.APITimeoutError)
MAX_RETRY_AFTER = 30.0


@dataclass
class RetryPolicy:
    """Bounded retries with exponential backoff (or the server's retry-after)."""

    attempts: int = 3
    backoff: float = 1.0

    def delay(self, attempt: int, exc: Exception) -> float:
        """Seconds to wait before attempt number `attempt + 1`."""
        retry_after = _retry_after(exc)
        if retry_after is not None:
            return min(retry_after, MAX_RETRY_AFTER)
        return float(self.backoff * 2**attempt)


def _retry_after(exc: Exception) -> float | None:
    response = getattr(exc, "response", None)
    if response is None:
        return None
    try:
        return float(response.headers.get("retry-after", ""))
    except ValueError:
        return None


def _describe(exc: Exception) -> str:
    """A log-safe description: the error's type and status, never a request or a key."""
    status = getattr(exc, "status_code", None)
    return f"{type(exc).__name__}" + (f" (HTTP {status})" if status else "")


class OpenAIResponder:
    """Streams a reply from any OpenAI-compatible server and yields a Say for each finished line."""

    def __init__(
        self, client: openai.AsyncOpenAI, model: str, clock: Clock, retry: RetryPolicy | None = None,
        temperature: float = 0.9,
    ) -> None:
        self.client = client
        self.model = model
        self.clock = clock
        self.retry = retry or RetryPolicy()
        self.temperature = temperature
        self._failing = False

    async def reply(self, request: ReplyRequest) -> AsyncIterator[Intent]:
        """Stream the reply; retry while nothing was yielded; raise ResponderFailed when out of tries."""
        messages = build_messages(request)
        for attempt in range(self.retry.attempts):
            cutter = PartCutter(request.max_parts, request.max_part_chars, request.limit)
            yielded = False
            try:
                async for delta in self._stream(messages):
                    for part in cutter.feed(delta):
                        yielded = True
                        yield Say(part)
                for part in cutter.finish():
                    yielded = True
                    yield Say(part)
                self._recovered()
                return
            except RETRYABLE as exc:
                if yielded:  # parts already went out: end the reply where the stream broke
                    self._note_failure(exc)
                    return
                self._note_failure(exc)
                if attempt + 1 < self.retry.attempts:
                    await self.clock.sleep(self.retry.delay(attempt, exc))
            except openai.APIStatusError as exc:  # 4xx other than 429: retrying will not help
                self._note_failure(exc)
                raise ResponderFailed(_describe(exc)) from None
        raise ResponderFailed(f"no reply after {self.retry.attempts} attempts")

    async def _stream(self, messages: list[dict[str, str]]) -> AsyncIterator[str]:
        async with self.clock.hold():
            stream: Any = await self.client.chat.completions.create(
                model=self.model, messages=messages,  # type: ignore[arg-type]
                stream=True, temperature=self.temperature,
            )
        try:
            iterator = stream.__aiter__()
            while True:
                async with self.clock.hold():
                    try:
                        chunk = await iterator.__anext__()
                    except StopAsyncIteration:
                        return
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
        finally:
            await stream.close()

    def _note_failure(self, exc: Exception) -> None:
        if not self._failing:
            log.warning("the model is not answering: %s; retrying with backoff", _describe(exc))
        self._failing = True

    def _recovered(self) -> None:
        if self._failing:
            log.info("the model is answering again")
        self._failing = False
