"""Which older facts a new one makes untrue: one fast-model request with a forced tool call (seed 004's
"check for contradictions or updates using the model"), asked only when similar facts exist."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import openai

from bot.core.clock import Clock
from bot.core.memory_port import Memory

MAX_TOKENS = 96
CHECK_TIMEOUT = 10.0  # the model waits on it in its tool result; a slow fast model only costs the supersede

REPLACED_TOOL: dict[str, Any] = {"type": "function", "function": {
    "name": "replaced_facts",
    "description": "The numbers of the older facts the new fact makes untrue or out of date.",
    "parameters": {
        "type": "object",
        "properties": {
            "numbers": {"type": "array", "items": {"type": "integer"},
                        "description": "older facts the new one replaces; empty when it replaces none"},
            "reason": {"type": "string", "maxLength": 100, "description": "one short line: why"},
        },
        "required": ["numbers", "reason"],
        "additionalProperties": False,
    },
}}

SYSTEM = (
    "You keep someone's notes about a friend consistent. A new fact was just learned. An older fact is "
    "replaced when the new one contradicts it or updates it (a new job replaces the old job, a moved date "
    "replaces the old date). Facts about different things are not replaced, even if they share words. "
    "Call replaced_facts with the numbers of the older facts the new one replaces (an empty list if none)."
)


def check_messages(fact: str, older: list[Memory]) -> list[dict[str, str]]:
    """The question as the fast model reads it: the new fact and the older ones, numbered from 1."""
    listing = "\n".join(f"{n}. {memory.fact}" for n, memory in enumerate(older, 1))
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"New fact: {fact}\n\nOlder facts:\n{listing}"}]


class FastFactCheck:
    """Asks the fast model (LLM_FAST_MODEL) which similar older facts a new fact replaces."""

    def __init__(self, client: openai.AsyncOpenAI, model: str, clock: Clock, timeout: float = CHECK_TIMEOUT) -> None:
        self.client = client
        self.model = model
        self.clock = clock
        self.timeout = timeout

    async def replaced(self, fact: str, older: list[Memory]) -> tuple[list[int], str]:
        """The ids of the facts in `older` that `fact` replaces, and the model's reason (or why it gave none)."""
        try:
            # Real I/O: a virtual clock stands still meanwhile, so the timeout is real seconds, as in production.
            async with self.clock.hold(), asyncio.timeout(self.timeout):
                response: Any = await self.client.chat.completions.create(  # type: ignore[call-overload]
                    model=self.model, messages=check_messages(fact, older), tools=[REPLACED_TOOL],
                    tool_choice={"type": "function", "function": {"name": "replaced_facts"}},
                    temperature=0.0, max_tokens=MAX_TOKENS, timeout=self.timeout,
                )
        except (TimeoutError, openai.APIError) as exc:
            return [], f"no answer from the fast model ({type(exc).__name__}): nothing replaced"
        return read_replaced(response, older)


def read_replaced(response: Any, older: list[Memory]) -> tuple[list[int], str]:
    """The replaced facts' ids from a replaced_facts call; numbers outside the list are ignored."""
    try:
        call = next(c for c in response.choices[0].message.tool_calls or []
                    if c.function.name == "replaced_facts")
        arguments = json.loads(call.function.arguments or "")
        numbers = arguments["numbers"]
        if not isinstance(numbers, list):
            raise TypeError("numbers is not a list")
    except (AttributeError, IndexError, StopIteration, TypeError, KeyError, json.JSONDecodeError):
        return [], "the fast model did not call replaced_facts properly: nothing replaced"
    wanted = {n for n in numbers if isinstance(n, int) and not isinstance(n, bool)}
    ids = [memory.id for n, memory in enumerate(older, 1) if n in wanted]
    return ids, str(arguments.get("reason", ""))[:100]
