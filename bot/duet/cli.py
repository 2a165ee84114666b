"""`textbot duet A B`: two personas text each other in this terminal, on the real clock, in one memory store."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TextIO

from bot.core.clock import Clock, RealClock
from bot.core.config import EngineDeps
from bot.core.engine import Engine
from bot.core.memory_store import MemoryStore
from bot.core.ports import Outlet, Responder, Store
from bot.core.trace import TraceRecorder
from bot.duet.run import Duet, DuetLine, DuetResult, format_line
from bot.settings import ConfigError, Settings
from persona import available_personas, load_persona

ResponderMaker = Callable[[Settings, Clock], Responder]
WithModel = Callable[[Callable[[Settings], Awaitable[None]], Settings], Coroutine[Any, Any, None]]  # _with_llm


def actions_maker() -> ResponderMaker:
    """How to build the `actions` responder; a ConfigError when this build of textbot has none."""
    try:
        from bot.llm.actions import ActionResponder
        from bot.llm.tool_model import ToolModel
    except ImportError as exc:
        raise ConfigError(f"the actions responder is not available in this build ({exc})") from exc
    import openai

    from bot.llm.model_errors import RetryPolicy

    def make(settings: Settings, clock: Clock) -> Responder:
        assert settings.openai_api_key is not None and settings.llm_model is not None
        key = settings.openai_api_key.get_secret_value()
        client = openai.AsyncOpenAI(base_url=settings.openai_base_url, api_key=key, timeout=settings.llm_timeout,
                                    max_retries=0)
        retry = RetryPolicy(attempts=settings.llm_attempts)
        return ActionResponder(ToolModel(client, settings.llm_model, clock, retry))

    return make


def check_names(a: str, b: str) -> None:
    """Two different personas that exist, or a ConfigError saying what is wrong."""
    known = available_personas()
    for name in (a, b):
        if name not in known:
            raise ConfigError(f"no persona named {name!r} (there are: {', '.join(known)})")
    if a == b:
        raise ConfigError("pick two different personas (each message is printed with its persona's name)")


def engine_builder(settings: Settings, clock: Clock, store: Store, stream: Responder,
                   actions: Responder | None) -> Callable[[Outlet], Engine]:
    """Engines as bot/app.py builds them (settings' policies and timing), sharing one clock and one store."""

    def build(outlet: Outlet) -> Engine:
        return Engine(EngineDeps(
            clock=clock, responder=stream, outlet=outlet, store=store, persona=load_persona(settings.persona),
            scale=settings.timing_scale, turn=settings.turn_policy, interrupt=settings.interrupt_policy,
            group=settings.group_policy, responder_kind=settings.responder, failure_reply=settings.llm_failure_reply,
            responders={"actions": actions} if actions is not None else {}, trace=TraceRecorder(store),
        ))

    return build


def printer(out: TextIO, quiet_drafts: bool) -> Callable[[DuetLine], None]:
    """Print each line as it happens (drafts dimmed, or not at all)."""

    def show(line: DuetLine) -> None:
        if line.draft and quiet_drafts:
            return
        print(format_line(line), file=out, flush=True)

    return show


async def duet_main(settings: Settings, a: str, b: str, topic: str, messages: int, seconds: float, responder: str,
                    quiet_drafts: bool, make_stream: ResponderMaker, make_actions: ResponderMaker | None) -> DuetResult:
    """Run one duet on the real clock until N messages, S seconds or Ctrl-C; engines closed either way."""
    clock = RealClock()
    actions = make_actions(settings, clock) if make_actions is not None else None
    build = engine_builder(settings, clock, MemoryStore(), make_stream(settings, clock), actions)
    duet = Duet(clock, build, (a, b), responder=responder, on_line=printer(sys.stdout, quiet_drafts))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError):  # no signal handlers on some platforms: Ctrl-C cancels instead
        loop.add_signal_handler(signal.SIGINT, stop.set)
    print(f"{a} and {b} text each other about {topic!r} ({responder}); Ctrl-C to stop", flush=True)
    try:
        result = await duet.run(topic, messages, seconds, stop)
    finally:
        with contextlib.suppress(NotImplementedError):
            loop.remove_signal_handler(signal.SIGINT)
    print(f"-- {len(result.sends)} messages in {result.ended - result.started:.0f} s, {result.crossings} crossed, "
          f"{result.refused_pushes} pushes refused, {result.cancelled_parts} drafts withheld ({result.stopped_by})",
          flush=True)
    return result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`textbot duet`'s arguments."""
    parser.add_argument("a", metavar="PERSONA_A", help="the persona who texts first")
    parser.add_argument("b", metavar="PERSONA_B", help="the persona who answers")
    parser.add_argument("--topic", default="what you did this weekend", help="what A is nudged to text about")
    parser.add_argument("--messages", type=int, default=20, help="stop after this many messages (both bots)")
    parser.add_argument("--seconds", type=float, default=300.0, help="stop after this many seconds")
    parser.add_argument("--responder", choices=["stream", "actions"], default="stream",
                        help="the reply sessions both bots use")
    parser.add_argument("--quiet-drafts", action="store_true", help="do not print withheld or refused drafts")


def duet_command(args: argparse.Namespace, settings: Settings, make_stream: ResponderMaker, with_llm: WithModel) -> int:
    """Check the arguments, start the model if none is configured, run the duet; 0 when it ended."""
    check_names(args.a, args.b)
    if args.messages < 1 or args.seconds <= 0:
        raise ConfigError("--messages must be 1 or more and --seconds more than 0")
    make_actions = actions_maker() if args.responder == "actions" else None
    from bot.logs import setup_logging

    setup_logging(settings)

    async def main(ready: Settings) -> None:
        await duet_main(ready, args.a, args.b, args.topic, args.messages, args.seconds, args.responder,
                        args.quiet_drafts, make_stream, make_actions)

    asyncio.run(with_llm(main, settings))
    return 0
