"""The fast model a bench talks to: LLM_FAST_* (default the main model), or the bundled local one if none is set."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import openai

from bot.core.clock import Clock
from bot.core.judge_port import Judge
from bot.llm.judge import OpenAIJudge
from bot.llm.local_model import local_llm_if_needed
from bot.settings import ConfigError, Settings

Use = Callable[[Judge, str], Awaitable[int]]
UseClient = Callable[[openai.AsyncOpenAI, str, str], Awaitable[int]]  # (client, model, description) -> exit code


async def with_fast_client(use: UseClient, settings: Settings | None = None) -> int:
    """Run `use(client, model, description)` on the configured fast model; the local model runs meanwhile if needed."""
    settings = settings or Settings()
    if settings.llm_fast_base_url is not None:
        return await _with_client(settings, use, local=False)
    settings.require_llm()
    async with local_llm_if_needed(settings) as ready:
        return await _with_client(ready, use, local=settings.uses_local_model)


async def _with_client(settings: Settings, use: UseClient, local: bool) -> int:
    base_url, api_key, model = settings.fast_llm()
    if base_url is None or api_key is None or model is None:
        raise ConfigError("the fast model needs LLM_FAST_MODEL or LLM_MODEL, and an API key (LLM_FAST_API_KEY or "
                          "OPENAI_API_KEY)")
    client = openai.AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=0)
    described = f"{model} (the bundled local model, on this machine's CPU)" if local else f"{model} at {base_url}"
    try:
        return await use(client, model, described)
    finally:
        await client.close()


async def fast_judge(use: Use, clock: Clock, settings: Settings | None = None) -> int:
    """Run `use(judge, description)` with the configured fast model; the local model runs meanwhile if needed."""
    return await with_fast_client(lambda client, model, described: use(OpenAIJudge(client, model, clock), described),
                                  settings)
