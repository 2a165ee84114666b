"""The first responder: a streamed chat completion through the official openai client, cut into parts."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from functools import partial
from typing import Any

import openai

from bot.core.clock import Clock
from bot.core.ports import Intent, ReplyRequest, ResponderFailed, Say, SessionFeed
from bot.llm.model_errors import FailureStreak, RetryPolicy, describe, is_final
from bot.llm.prompt import build_messages
from bot.llm.splitter import PartCutter
from bot.llm.tidy import speaker_names, tidy_line

MAX_TOKENS = 400
# Where a chat model starts playing the other side, or a server leaks the end-of-turn token (ChatML).
STOP = ("\nUser:", "\nuser:", "<|im_end|>", "<|im_start|>")


def _content(chunk: Any) -> str:
    """The text one streamed chunk adds; one without choices (usage, keep-alive) adds none."""
    choices = getattr(chunk, "choices", None) or []
    if not isinstance(choices, list):
        raise TypeError(f"a streamed chunk's choices is a {type(choices).__name__}")
    if not choices:
        return ""
    content = getattr(getattr(choices[0], "delta", None), "content", None)
    if content is not None and not isinstance(content, str):
        raise TypeError(f"a streamed chunk's content is a {type(content).__name__}")
    return content or ""


class OpenAIResponder:
    """Streams a reply from any OpenAI-compatible server and yields a Say for each finished line.

    A reply is bounded: `max_tokens` per request (less when the persona's parts are short), the
    cutter's caps on parts and characters, and the stream is closed as soon as the cap is reached.
    """

    def __init__(
        self, client: openai.AsyncOpenAI, model: str, clock: Clock, retry: RetryPolicy | None = None,
        temperature: float = 0.9, max_tokens: int = MAX_TOKENS, stop: tuple[str, ...] = STOP,
    ) -> None:
        self.client = client
        self.model = model
        self.clock = clock
        self.retry = retry or RetryPolicy()
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.stop = stop
        self._streak = FailureStreak()

    def tokens_for(self, request: ReplyRequest) -> int:
        """max_tokens for this request: room for the persona's parts (~3 characters a token), capped."""
        wanted = request.max_parts * request.max_part_chars // 3 + 16
        return max(1, min(self.max_tokens, wanted))

    async def reply(self, request: ReplyRequest, feed: SessionFeed | None = None) -> AsyncIterator[Intent]:
        """Stream the reply; retry while nothing was yielded; raise ResponderFailed when out of tries."""
        messages = build_messages(request)
        tidy = partial(tidy_line, names=speaker_names(request.system))
        for attempt in range(self.retry.attempts):
            cutter = PartCutter(request.max_parts, request.max_part_chars, request.limit, tidy=tidy)
            yielded = False
            try:
                async with aclosing(self._stream(messages, self.tokens_for(request))) as deltas:
                    async for delta in deltas:
                        for part in cutter.feed(delta):
                            yielded = True
                            yield Say(part)
                        if cutter.full:
                            break  # the reply is as long as it may be: stop reading (and paying for) the rest
                for part in cutter.finish():
                    yielded = True
                    yield Say(part)
                self._streak.recovered()
                return
            # Not only the client's errors: a malformed stream (bad JSON or UTF-8, an odd chunk) raises
            # whatever the parser raises, and it must end in a retry or the persona's line, never silence.
            except Exception as exc:
                self._streak.failed(exc)
                if is_final(exc):
                    raise ResponderFailed(describe(exc)) from None
                if yielded:  # parts already went out: end the reply where the stream broke
                    return
                if attempt + 1 < self.retry.attempts:
                    await self.clock.sleep(self.retry.delay(attempt, exc))
        raise ResponderFailed(f"no reply after {self.retry.attempts} attempts")

    async def _stream(self, messages: list[dict[str, str]], max_tokens: int) -> AsyncGenerator[str, None]:
        async with self.clock.hold():
            stream: Any = await self.client.chat.completions.create(
                model=self.model, messages=messages,  # type: ignore[arg-type]
                stream=True, temperature=self.temperature, max_tokens=max_tokens, stop=list(self.stop),
            )
        try:
            iterator = stream.__aiter__()
            while True:
                async with self.clock.hold():
                    try:
                        chunk = await iterator.__anext__()
                    except StopAsyncIteration:
                        return
                content = _content(chunk)
                if content:
                    yield content
        finally:
            await stream.close()

