"""The composition root: builds the clock, store, responder, engines and platform adapters from settings."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import openai

from bot.adapters.terminal import TerminalOutlet, read_lines
from bot.core.clock import Clock, RealClock
from bot.core.config import EngineDeps
from bot.core.engine import Engine
from bot.core.memory_store import MemoryStore
from bot.core.ports import Outlet, Responder, Store
from bot.llm.openai_responder import OpenAIResponder, RetryPolicy
from bot.logs import setup_logging
from bot.runtime import tune_gc
from bot.settings import Settings
from bot.web import serve_web
from persona import load_persona

log = logging.getLogger(__name__)


@dataclass
class Parts:
    """The shared pieces every platform's engine is built from."""

    settings: Settings
    clock: Clock
    responder: Responder
    store: Store


def build_responder(settings: Settings, clock: Clock) -> Responder:
    """The OpenAI-compatible responder (settings.require_llm() must have passed)."""
    assert settings.openai_api_key is not None and settings.llm_model is not None
    client = openai.AsyncOpenAI(
        base_url=settings.openai_base_url, api_key=settings.openai_api_key.get_secret_value(),
        timeout=settings.llm_timeout, max_retries=0,
    )
    return OpenAIResponder(client, settings.llm_model, clock, RetryPolicy(attempts=settings.llm_attempts))


def build_parts(settings: Settings) -> Parts:
    """Clock, responder and store from settings."""
    settings.require_llm()
    clock = RealClock()
    return Parts(settings, clock, build_responder(settings, clock), MemoryStore())


def build_engine(parts: Parts, outlet: Outlet) -> Engine:
    """One engine (actors for one platform) writing to `outlet`."""
    s = parts.settings
    deps = EngineDeps(
        clock=parts.clock, responder=parts.responder, outlet=outlet, store=parts.store,
        persona=load_persona(s.persona), scale=s.timing_scale, turn=s.turn_policy,
        interrupt=s.interrupt_policy, group=s.group_policy, failure_reply=s.llm_failure_reply,
        rng=random.Random(),
    )
    return Engine(deps)


async def run_terminal_chat(settings: Settings) -> None:
    """Chat with the bot in this terminal until end of input (Ctrl-D)."""
    parts = build_parts(settings)
    persona = load_persona(settings.persona)
    engine = build_engine(parts, TerminalOutlet(parts.clock, persona.name))
    print(f"texting {persona.name} — one message per line, Ctrl-D to quit")
    try:
        await read_lines(engine)
        while any(a.job is not None or a.state.pending for a in engine.actors.values()):
            await asyncio.sleep(0.2)
    finally:
        await engine.close()


async def run(settings: Settings) -> None:
    """Every platform whose token is set; with none set, the local web chat."""
    setup_logging(settings)
    parts = build_parts(settings)
    tune_gc()
    if settings.telegram_bot_token is None and settings.discord_bot_token is None:
        log.info("no platform token set: starting the local web chat")
        await serve_web(settings, parts)
        return
    platforms: list[Coroutine[Any, Any, None]] = []
    # Adapters import late: they import build_engine from this module.
    if settings.telegram_bot_token is not None:
        from bot.adapters.telegram import run_telegram

        platforms.append(run_telegram(settings, parts))
    if settings.discord_bot_token is not None:
        from bot.adapters.discord import run_discord

        platforms.append(run_discord(settings, parts, None))
    # gather, not a TaskGroup: a ConfigError must reach the CLI as itself, not in an ExceptionGroup
    await asyncio.gather(*platforms)
