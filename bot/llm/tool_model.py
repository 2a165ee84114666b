"""One step of a tool-using session: a chat completion with `tools` through the official openai client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import openai

from bot.core.clock import Clock
from bot.core.ports import ResponderFailed
from bot.llm.model_errors import FailureStreak, RetryPolicy, describe, is_final


@dataclass(frozen=True, slots=True)
class ToolRequest:
    """A tool call the model made: its id, the tool's name and the arguments exactly as sent (JSON text)."""

    call_id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ModelStep:
    """What the model answered in one step: text, tool calls, or both."""

    content: str
    calls: tuple[ToolRequest, ...] = ()

    def as_message(self) -> dict[str, Any]:
        """The assistant message that goes back into the conversation before the tool results."""
        message: dict[str, Any] = {"role": "assistant", "content": self.content or None}
        if self.calls:
            message["tool_calls"] = [
                {"id": c.call_id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in self.calls
            ]
        return message


class ToolModel:
    """Asks an OpenAI-compatible model for one step with tools, streamed or not, with bounded retries."""

    def __init__(self, client: openai.AsyncOpenAI, model: str, clock: Clock, retry: RetryPolicy | None = None, *,
                 temperature: float = 0.8, max_tokens: int = 400, stream: bool = False) -> None:
        self.client = client
        self.model = model
        self.clock = clock
        self.retry = retry or RetryPolicy()
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.stream = stream
        self._streak = FailureStreak()

    async def step(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ModelStep:
        """One completion; retried on errors and malformed answers; ResponderFailed when out of tries."""
        for attempt in range(self.retry.attempts):
            try:
                answer = await (self._streamed(messages, tools) if self.stream else self._whole(messages, tools))
            # Not only the client's errors: an odd answer (no choices, a bad stream) must end in a retry or
            # the persona's line, never in silence.
            except Exception as exc:
                self._streak.failed(exc)
                if is_final(exc):
                    raise ResponderFailed(describe(exc)) from None
                if attempt + 1 < self.retry.attempts:
                    await self.clock.sleep(self.retry.delay(attempt, exc))
                continue
            self._streak.recovered()
            return answer
        raise ResponderFailed(f"no answer after {self.retry.attempts} attempts")

    def _arguments(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> dict[str, Any]:
        return {"model": self.model, "messages": messages, "tools": tools, "temperature": self.temperature,
                "max_tokens": self.max_tokens}

    async def _whole(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ModelStep:
        async with self.clock.hold():
            completion: Any = await self.client.chat.completions.create(
                **self._arguments(messages, tools), stream=False)
        if not completion.choices:
            raise ValueError("a completion without choices")
        message = completion.choices[0].message
        calls = tuple(
            ToolRequest(call.id or f"call_{i}", call.function.name or "", call.function.arguments or "")
            for i, call in enumerate(message.tool_calls or []) if getattr(call, "function", None) is not None
        )
        return ModelStep(message.content or "", calls)

    async def _streamed(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ModelStep:
        async with self.clock.hold():
            stream: Any = await self.client.chat.completions.create(**self._arguments(messages, tools), stream=True)
        content: list[str] = []
        calls: dict[int, list[str]] = {}  # index → [id, name, arguments], as the pieces arrive
        try:
            iterator = stream.__aiter__()
            while True:
                async with self.clock.hold():
                    try:
                        chunk = await iterator.__anext__()
                    except StopAsyncIteration:
                        break
                for choice in chunk.choices[:1]:
                    content.append(choice.delta.content or "")
                    for piece in choice.delta.tool_calls or []:
                        _gather(calls.setdefault(piece.index, ["", "", ""]), piece)
        finally:
            await stream.close()
        requests = tuple(ToolRequest(c[0] or f"call_{i}", c[1], c[2]) for i, c in sorted(calls.items()))
        return ModelStep("".join(content), requests)


def _gather(into: list[str], piece: Any) -> None:
    """Add one streamed piece of a tool call: the id once, the name and the arguments as they come."""
    if piece.id:
        into[0] = piece.id
    function = piece.function
    if function is not None:
        into[1] += function.name or ""
        into[2] += function.arguments or ""
