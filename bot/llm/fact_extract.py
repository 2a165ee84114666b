"""Facts learned from a turn the `stream` responder answers (it has no remember tool): the fast model reads what
the people wrote and lists the facts worth keeping, in one request with a forced tool call, while the reply is
being written. Each fact is then kept as `remember` keeps it (similar facts looked up, supersedes settled)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import openai

from bot.core.clock import Clock
from bot.core.memory_port import clean_fact, search_terms
from bot.core.ports import ReplyRequest
from bot.llm.memory_tools import FactKeeper, person_of
from bot.llm.prompt import bounded

EXTRACT_TIMEOUT = 10.0
MAX_TOKENS = 300
MAX_FACTS = 5
MIN_WORDS = 2  # "ok", "lol", "haha yes": no request at all

LEARNED_TOOL: dict[str, Any] = {"type": "function", "function": {
    "name": "facts_learned",
    "description": "The facts worth remembering about the people who wrote these messages (often none).",
    "parameters": {
        "type": "object",
        "properties": {"facts": {"type": "array", "maxItems": MAX_FACTS, "items": {
            "type": "object",
            "properties": {"who": {"type": "string", "description": "the name of the person it is about"},
                           "fact": {"type": "string", "description": "one short sentence in the third person"}},
            "required": ["who", "fact"], "additionalProperties": False,
        }}},
        "required": ["facts"],
        "additionalProperties": False,
    },
}}

SYSTEM = (
    "You keep notes for someone who texts with friends. Read the friends' newest messages and list the facts "
    "about them worth remembering for weeks: names of people and pets, where they work, study or live, plans "
    "with dates, lasting likes and dislikes, big news. Write each as a short sentence in the third person with "
    "the person's name. Small talk, questions, moods of the moment and anything about other chats are not "
    "facts: then the list is empty. Call facts_learned."
)


def worth_asking(request: ReplyRequest) -> bool:
    """Whether the unanswered text has enough words to hold a fact (skips "ok", "lol", emoji)."""
    words = search_terms(" ".join(line.text for line in request.unanswered))
    return request.key is not None and len(words) >= MIN_WORDS


def learned_messages(request: ReplyRequest) -> list[dict[str, str]]:
    """What the fast model reads: the instructions and the unanswered messages with their authors' names."""
    lines = [f"{line.author or 'them'}: {bounded(line.text, 500)}" for line in request.unanswered[-30:]]
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n".join(lines)}]


def read_learned(response: Any) -> list[tuple[str, str]]:
    """(who, fact) pairs from a facts_learned call; anything malformed is no facts."""
    try:
        call = next(c for c in response.choices[0].message.tool_calls or [] if c.function.name == "facts_learned")
        facts = json.loads(call.function.arguments or "")["facts"]
    except (AttributeError, IndexError, StopIteration, TypeError, KeyError, json.JSONDecodeError):
        return []
    if not isinstance(facts, list):
        return []
    pairs = [(str(f.get("who", "")), clean_fact(str(f.get("fact", "")))) for f in facts if isinstance(f, dict)]
    return [(who, fact) for who, fact in pairs if fact][:MAX_FACTS]


class FactLearner:
    """Asks the fast model (LLM_FAST_MODEL) which facts a turn holds and keeps them for its conversation."""

    def __init__(self, client: openai.AsyncOpenAI, model: str, keeper: FactKeeper, clock: Clock,
                 timeout: float = EXTRACT_TIMEOUT) -> None:
        self.client = client
        self.model = model
        self.keeper = keeper
        self.clock = clock
        self.timeout = timeout

    async def learn(self, request: ReplyRequest) -> list[dict[str, Any]]:
        """Extract and keep the turn's facts; what each keep did (empty when the model failed or found none)."""
        assert request.key is not None
        try:
            # Real I/O: a virtual clock stands still meanwhile, so the timeout is real seconds, as in production.
            async with self.clock.hold(), asyncio.timeout(self.timeout):
                response: Any = await self.client.chat.completions.create(  # type: ignore[call-overload]
                    model=self.model, messages=learned_messages(request), tools=[LEARNED_TOOL],
                    tool_choice={"type": "function", "function": {"name": "facts_learned"}},
                    temperature=0.0, max_tokens=MAX_TOKENS, timeout=self.timeout,
                )
        except (TimeoutError, openai.APIError):
            return []
        return [await self.keeper.keep(request.key, person_of(request, who), fact)
                for who, fact in read_learned(response)]
