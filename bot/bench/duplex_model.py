"""The duplex fast model a bench talks to: LLM_FAST_* (default the main model), or the bundled local one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.bench.judge_model import with_fast_client
from bot.core.clock import RealClock
from bot.core.duplex_port import DuplexQuestion
from bot.llm.duplex import OpenAIDuplex
from bot.settings import Settings

Ask = Callable[[DuplexQuestion, float], Awaitable[str]]
Use = Callable[[Ask, str], Awaitable[int]]


async def with_fast_duplex(use: Use, settings: Settings | None = None) -> int:
    """Run `use(ask, description)` with the configured fast model; the local model runs meanwhile if needed."""
    return await with_fast_client(
        lambda client, model, described: use(OpenAIDuplex(client, model, RealClock()).ask, described), settings)
