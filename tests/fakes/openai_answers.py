"""Scripted completions with tool calls for the fake Chat Completions server, and their wire shapes."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

ARGUMENT_PIECE = 7  # streamed arguments arrive in pieces this long, as OpenAI's do (split anywhere)
_call_ids = itertools.count(1)


@dataclass(frozen=True)
class ToolCall:
    """One scripted tool call; `arguments` as a dict is sent as JSON, as a string it is sent as is (even broken)."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)

    def arguments_text(self) -> str:
        """The arguments as the API carries them: a JSON string."""
        return self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments)


@dataclass(frozen=True)
class Answer:
    """One scripted completion: text (or None) and the tool calls the model makes."""

    content: str | None = None
    tool_calls: Sequence[ToolCall] = ()

    @property
    def finish_reason(self) -> str:
        """Why the model stopped, as the API says it."""
        return "tool_calls" if self.tool_calls else "stop"


def call(name: str, **arguments: Any) -> ToolCall:
    """A tool call with JSON arguments: `call("check", seconds=5)`."""
    return ToolCall(name, dict(arguments))


def calls(*tool_calls: ToolCall, content: str | None = None) -> Answer:
    """A completion that makes these tool calls (in one answer, as parallel tool calls do)."""
    return Answer(content, tuple(tool_calls))


def as_answer(reply: str | Answer) -> Answer:
    """A plain text reply is an Answer with no tool calls."""
    return reply if isinstance(reply, Answer) else Answer(reply)


def _ids(answer: Answer) -> list[str]:
    return [f"call_{next(_call_ids)}" for _ in answer.tool_calls]


def answer_message(answer: Answer) -> dict[str, Any]:
    """The `message` of a non-streamed completion."""
    message: dict[str, Any] = {"role": "assistant", "content": answer.content, "refusal": None}
    if answer.tool_calls:
        message["tool_calls"] = [
            {"id": ident, "type": "function", "function": {"name": c.name, "arguments": c.arguments_text()}}
            for ident, c in zip(_ids(answer), answer.tool_calls, strict=True)
        ]
    return message


def tool_call_chunks(answer: Answer) -> list[dict[str, Any]]:
    """The `delta`s that stream the tool calls: id and name first, then the arguments in pieces."""
    deltas: list[dict[str, Any]] = []
    for index, (ident, c) in enumerate(zip(_ids(answer), answer.tool_calls, strict=True)):
        head = {"index": index, "id": ident, "type": "function", "function": {"name": c.name, "arguments": ""}}
        deltas.append({"tool_calls": [head]})
        text = c.arguments_text()
        for start in range(0, len(text), ARGUMENT_PIECE):
            piece = text[start : start + ARGUMENT_PIECE]
            deltas.append({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    return deltas
