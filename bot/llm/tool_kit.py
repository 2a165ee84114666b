"""Tools beyond the seven drafting tools (seed 004: tasks, memory): what an action session needs to offer and
run them, so a feature adds its tools without touching the session."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from bot.core.ports import ReplyRequest


class SessionTool(Protocol):
    """One extra action tool: its OpenAI function schema, a sentence for the rules, and what a call does."""

    @property
    def name(self) -> str:
        """The function name the model calls."""
        ...

    @property
    def schema(self) -> dict[str, Any]:
        """`{"type": "function", "function": {...}}` as the Chat Completions `tools` list takes it."""
        ...

    @property
    def rule(self) -> str:
        """One sentence added to the action rules telling the model when to use it."""
        ...

    def argument_error(self, args: dict[str, Any]) -> str:
        """Why `args` cannot be used ("" when they can): the model reads it in the tool result."""
        ...

    async def call(self, args: dict[str, Any], request: ReplyRequest) -> dict[str, Any]:
        """Do it for the conversation `request` belongs to; the fields join the result beside draft and
        new_messages. Raise nothing the model should not see: return {"error": "..."} instead."""
        ...


def tool_index(tools: Sequence[SessionTool]) -> dict[str, SessionTool]:
    """Tools by name; two tools with one name are a wiring mistake."""
    index: dict[str, SessionTool] = {}
    for tool in tools:
        if tool.name in index:
            raise ValueError(f"two action tools are called {tool.name!r}")
        index[tool.name] = tool
    return index
