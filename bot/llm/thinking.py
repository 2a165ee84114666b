"""The `think` task kind: the slow model (LLM_MODEL) answers a question at length while the chat goes on."""

from __future__ import annotations

from typing import Any

import openai

from bot.core.background import TaskRecord
from bot.core.clock import Clock
from bot.llm.model_errors import RetryPolicy, describe, is_final
from bot.llm.prompt import bounded

THINK_TOKENS = 900
THINK_SYSTEM = (
    "You are thinking a question through for a friend you are texting with. Take your time: weigh it, "
    "check it, and write down a complete, careful answer in plain prose (no lists of options you did not "
    "weigh, no greeting). It will be turned into texts later; be correct rather than brief."
)


class ThinkKind:
    """think: {"question": text, "context": optional text}; the slow model's full answer is the result."""

    name = "think"
    summary = ('think: args {"question": text, "context": text (optional)}: the question is thought through '
               "at length in the background; you are told the answer when it is ready")

    def __init__(self, client: openai.AsyncOpenAI, model: str, clock: Clock, retry: RetryPolicy | None = None,
                 max_tokens: int = THINK_TOKENS) -> None:
        self.client = client
        self.model = model
        self.clock = clock
        self.retry = retry or RetryPolicy()
        self.max_tokens = max_tokens

    def argument_error(self, args: dict[str, Any]) -> str:
        """What is wrong with the arguments, if anything."""
        question = args.get("question")
        if not isinstance(question, str) or not question.strip():
            return "think needs question, the question to think through"
        if "context" in args and not isinstance(args["context"], str):
            return "context must be text"
        return ""

    def due(self, args: dict[str, Any], now: float) -> float | None:
        """Now, in the background."""
        return None

    async def run(self, task: TaskRecord) -> str:
        """One completion of the slow model, retried on errors; raises when it cannot answer."""
        question = bounded(str(task.args["question"]))
        context = bounded(str(task.args.get("context") or ""))
        ask = f"{question}\n\n(What you know of the chat: {context})" if context else question
        messages = [{"role": "system", "content": THINK_SYSTEM}, {"role": "user", "content": ask}]
        last = "no answer"
        for attempt in range(self.retry.attempts):
            try:
                async with self.clock.hold():
                    completion: Any = await self.client.chat.completions.create(
                        model=self.model, messages=messages, max_tokens=self.max_tokens)  # type: ignore[arg-type]
                answer = (completion.choices[0].message.content or "").strip()
                if answer:
                    return answer
                last = "an empty answer"
            except Exception as exc:  # an odd answer or the client's error: retry, then fail the task
                if is_final(exc):
                    raise RuntimeError(describe(exc)) from None
                last = describe(exc)
            if attempt + 1 < self.retry.attempts:
                await self.clock.sleep(self.retry.backoff * 2**attempt)
        raise RuntimeError(f"the slow model gave {last}")
