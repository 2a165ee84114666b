"""The duplex fast model a bench talks to: LLM_FAST_* (default the main model), or the bundled local one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import openai

from bot.core.clock import RealClock
from bot.core.duplex_port import DuplexQuestion
from bot.llm.duplex import OpenAIDuplex
from bot.llm.local_model import local_llm_if_needed
from bot.settings import ConfigError, Settings

Ask = Callable[[DuplexQuestion, float], Awaitable[str]]
Use = Callable[[Ask, str], Awaitable[int]]


async def with_fast_duplex(use: Use, settings: Settings | None = None) -> int:
    """Run `use(ask, description)` with the configured fast model; the local model runs meanwhile if needed."""
    settings = settings or Settings()
    if settings.llm_fast_base_url is not None:
        return await _use(settings, use, local=False)
    settings.require_llm()
    async with local_llm_if_needed(settings) as ready:
        return await _use(ready, use, local=settings.uses_local_model)


async def _use(settings: Settings, use: Use, local: bool) -> int:
    base_url, api_key, model = settings.fast_llm()
    if base_url is None or api_key is None or model is None:
        raise ConfigError("the fast model needs LLM_FAST_MODEL or LLM_MODEL, and an API key (LLM_FAST_API_KEY or "
                          "OPENAI_API_KEY)")
    client = openai.AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=0)
    described = f"{model} (the bundled local model, on this machine's CPU)" if local else f"{model} at {base_url}"
    try:
        return await use(OpenAIDuplex(client, model, RealClock()).ask, described)
    finally:
        await client.close()
