"""The fast model's judge: one chat completion per small decision, its tool forced, through the official client."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import openai

from bot.core.clock import Clock
from bot.core.judge_port import GroupQuestion, InterruptionQuestion, NoRuling, Ruling
from bot.llm.judge_prompt import (
    GROUP_TOOL,
    REASON_CHARS,
    group_messages,
    interruption_choices,
    interruption_messages,
    interruption_tool,
)
from policies.judged import GROUP_CHOICES

MAX_TOKENS = 96  # a choice and one short reason


class OpenAIJudge:
    """Asks any OpenAI-compatible model (LLM_FAST_MODEL) to call one tool; anything else is no ruling."""

    def __init__(self, client: openai.AsyncOpenAI, model: str, clock: Clock, temperature: float = 0.0) -> None:
        self.client = client
        self.model = model
        self.clock = clock
        self.temperature = temperature

    async def decide_interruption(self, question: InterruptionQuestion, timeout: float) -> Ruling:
        """`decide_interruption(choice, reason)` for a reply the human interrupted."""
        return await self._ask(interruption_messages(question), interruption_tool(question),
                               interruption_choices(question), timeout)

    async def decide_group(self, question: GroupQuestion, timeout: float) -> Ruling:
        """`decide_group(choice, reason)` for group messages that do not address the bot."""
        return await self._ask(group_messages(question), GROUP_TOOL, GROUP_CHOICES, timeout)

    async def _ask(self, messages: list[dict[str, str]], tool: dict[str, Any], choices: tuple[str, ...],
                   timeout: float) -> Ruling:
        name = tool["function"]["name"]
        try:
            # Real I/O: a virtual clock stands still meanwhile, so the timeout is real seconds, as in production.
            async with self.clock.hold(), asyncio.timeout(timeout):
                response: Any = await self.client.chat.completions.create(  # type: ignore[call-overload]
                    model=self.model, messages=messages, tools=[tool],
                    tool_choice={"type": "function", "function": {"name": name}},
                    temperature=self.temperature, max_tokens=MAX_TOKENS, timeout=timeout,
                )
        except (TimeoutError, openai.APITimeoutError):
            raise NoRuling(f"no answer within {timeout:g} s") from None
        except openai.APIError as exc:
            status = getattr(exc, "status_code", None)
            raise NoRuling(f"the fast model failed: {type(exc).__name__}" + (f" (HTTP {status})" if status else "")) \
                from None
        return parse_ruling(response, name, choices)


def parse_ruling(response: Any, name: str, choices: tuple[str, ...]) -> Ruling:
    """The ruling in a completion that called tool `name`; NoRuling naming what is wrong with it."""
    try:
        message = response.choices[0].message
    except (AttributeError, IndexError, TypeError):
        raise NoRuling("malformed answer: no message") from None
    calls = getattr(message, "tool_calls", None) or []
    call = next((c for c in calls if getattr(getattr(c, "function", None), "name", None) == name), None)
    if call is None:
        raise NoRuling(f"malformed answer: no {name} call")
    try:
        arguments = json.loads(call.function.arguments or "")
    except (json.JSONDecodeError, TypeError):
        raise NoRuling(f"malformed answer: {name} arguments are not JSON") from None
    choice = arguments.get("choice") if isinstance(arguments, dict) else None
    if choice not in choices:
        raise NoRuling(f"malformed answer: choice {str(choice)[:40]!r} is not one of {', '.join(choices)}")
    reason = arguments.get("reason")
    return Ruling(str(choice), str(reason)[:REASON_CHARS].strip() if reason is not None else "")
