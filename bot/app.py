"""The composition root: builds the clock, store, responder, engines and platform adapters from settings."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from bot.adapters.discord import run_discord
from bot.adapters.telegram import run_telegram
from bot.adapters.terminal import TerminalOutlet, read_lines
from bot.app_clients import fast_client, main_client
from bot.app_tasks import build_board, with_holding
from bot.core.background import TaskBoard
from bot.core.clock import Clock, RealClock
from bot.core.config import EngineDeps
from bot.core.duplex_port import TurnPredictor
from bot.core.engine import Engine, EngineFactory
from bot.core.events import ConversationKey
from bot.core.judge_port import Judge
from bot.core.memory_port import Memories
from bot.core.ports import Outlet, Responder, Store
from bot.core.tasks import cancel_and_wait
from bot.core.trace import TraceRecorder
from bot.llm.actions import ActionResponder
from bot.llm.duplex import OpenAIDuplex
from bot.llm.fact_check import FastFactCheck
from bot.llm.fact_extract import FactLearner
from bot.llm.judge import OpenAIJudge
from bot.llm.memory_prompt import RememberingResponder
from bot.llm.memory_tools import FactKeeper, memory_tools
from bot.llm.model_errors import RetryPolicy
from bot.llm.openai_responder import OpenAIResponder
from bot.llm.task_tools import task_tools
from bot.llm.tool_model import ToolModel
from bot.logs import setup_logging
from bot.runtime import keep_gc_young, tune_gc
from bot.settings import Settings
from bot.storage.jobs import JobSettings, LongJobs
from bot.storage.memories import SqlMemories
from bot.storage.migrate import upgrade_async
from bot.storage.sql_store import SqlStore
from bot.web import serve_web
from bot.workers.join import Workers, joined, starting
from persona import load_persona

log = logging.getLogger(__name__)


@dataclass
class Parts:
    """The shared pieces every platform's engine is built from."""

    settings: Settings
    clock: Clock
    responder: Responder
    store: Store
    jobs: LongJobs | None = None
    unanswered: list[ConversationKey] = field(default_factory=list)
    rng: random.Random = field(default_factory=random.Random)  # jitter in pacing; seeded in tests
    responders: dict[str, Responder] = field(default_factory=dict)  # other kinds than `stream` (e.g. "actions")
    judge: Judge | None = None  # the fast model of the `judge` policies (None: they decide by their rules)
    workers: Workers | None = None  # set while this process runs as one of several workers
    memories: Memories | None = None  # facts per person and chat (seed 004): tools, the stream prompt, /forget
    duplex: TurnPredictor | None = None  # the fast model of the `duplex` turn policy (None: it decides as adaptive)
    tasks: TaskBoard | None = None  # background tasks (seed 004): create_task/check_task, results told once


def build_responder(settings: Settings, clock: Clock) -> Responder:
    """The OpenAI-compatible responder (settings.require_llm() must have passed)."""
    client, model = main_client(settings)
    return OpenAIResponder(client, model, clock, RetryPolicy(attempts=settings.llm_attempts))


def build_responders(settings: Settings, clock: Clock, memories: Memories | None = None,
                     tasks: TaskBoard | None = None) -> dict[str, Responder]:
    """The responders besides `stream`, on the same model: `actions` (tool calls, one request per step)."""
    model = ToolModel(*main_client(settings), clock, RetryPolicy(attempts=settings.llm_attempts))
    remembering = memory_tools(memories, clock, build_fact_check(settings, clock)) if memories is not None else []
    tasking = task_tools(tasks) if tasks is not None else []
    actions: Responder = ActionResponder(model, tools=[*remembering, *tasking])
    if memories is not None:  # the relevant facts in its prompt too: often no recall step is needed
        actions = RememberingResponder(actions, memories, clock)
    return {"actions": with_holding(settings, clock, actions)}


def build_fact_check(settings: Settings, clock: Clock) -> FastFactCheck | None:
    """The fast model that decides which older facts a new one replaces (LLM_FAST_*), if one is set."""
    fast = fast_client(settings)
    return FastFactCheck(*fast, clock) if fast is not None else None


def build_learner(settings: Settings, clock: Clock, memories: Memories) -> FactLearner | None:
    """The fast model that keeps the facts of stream turns: MEMORY_EXTRACTION=on, or unset with LLM_FAST_MODEL."""
    wanted = settings.memory_extraction == "on" or (settings.memory_extraction is None and settings.llm_fast_model)
    fast = fast_client(settings) if wanted else None
    if fast is None:
        return None
    client, model = fast
    return FactLearner(client, model, FactKeeper(memories, clock, FastFactCheck(client, model, clock)), clock)


def build_judge(settings: Settings, clock: Clock) -> Judge | None:
    """The fast model for small decisions (LLM_FAST_*, defaulting to the main model), if one is set."""
    fast = fast_client(settings)
    return OpenAIJudge(*fast, clock) if fast is not None else None  # its rule decides when the model does not answer


def build_duplex(settings: Settings, clock: Clock) -> TurnPredictor | None:
    """The fast model of the `duplex` turn policy (LLM_FAST_*, as the judge's), if one is set."""
    fast = fast_client(settings)
    return OpenAIDuplex(*fast, clock) if fast is not None else None  # no answer: the next tick asks again


def build_parts(settings: Settings) -> Parts:
    """Clock, responder, the durable store and the long-horizon jobs from settings."""
    settings.require_llm()
    clock = RealClock()
    store = SqlStore.open(settings.database_url)
    jobs = LongJobs(store, settings.database_url, JobSettings(
        follow_up_after=settings.follow_up_after_seconds, double_text_after=settings.double_text_after_seconds,
        misfire_grace=settings.job_misfire_grace_seconds))
    memories = SqlMemories(store)
    stream = RememberingResponder(build_responder(settings, clock), memories, clock,  # memories in its prompt
                                  learner=build_learner(settings, clock, memories))
    tasks = build_board(settings, clock, store, jobs)
    stream_held = with_holding(settings, clock, stream)  # the fast model's holding line when the answer is slow
    return Parts(settings, clock, stream_held, store, jobs, judge=build_judge(settings, clock),
                 responders=build_responders(settings, clock, memories, tasks), memories=memories,
                 duplex=build_duplex(settings, clock), tasks=tasks)


async def open_storage(parts: Parts) -> None:
    """Migrate the database, settle what a crash left behind, start the long-horizon jobs."""
    if isinstance(parts.store, SqlStore):
        await upgrade_async(parts.settings.database_url)
        if parts.settings.worker_count == 1:  # several workers settle each conversation they take on instead
            parts.unanswered = await parts.store.recover()
    if parts.jobs is not None:
        await parts.jobs.start()
    if parts.tasks is not None:  # after the scheduler: a reminder's timer is set in it
        await parts.tasks.start()


async def close_storage(parts: Parts) -> None:
    """Stop the jobs (they stay persisted) and release the database."""
    if parts.tasks is not None:
        await parts.tasks.close()
    if parts.jobs is not None:
        await parts.jobs.shutdown()
    if isinstance(parts.store, SqlStore):
        await parts.store.close()


def build_engine(parts: Parts, outlet: Outlet) -> Engine:
    """One engine (actors for one platform) writing to `outlet`."""
    s = parts.settings
    store = parts.store
    if parts.workers is not None:
        outlet, store = parts.workers.fence(outlet, store)
    deps = EngineDeps(
        clock=parts.clock, responder=parts.responder, outlet=outlet, store=store,
        persona=load_persona(s.persona), scale=s.timing_scale, turn=s.turn_policy,
        interrupt=s.interrupt_policy, group=s.group_policy, responder_kind=s.responder,
        failure_reply=s.llm_failure_reply,
        rng=parts.rng, fresh_seconds=s.late_after_seconds, late_reply=s.late_reply,
        trace=TraceRecorder(parts.store),  # every platform's timeline is stored for `textbot timeline`
        responders=parts.responders,
        judge=parts.judge,
        memories=parts.memories,
        duplex=parts.duplex,
        tasks=parts.tasks,
    )
    engine = Engine(deps)
    submit = parts.workers.route(engine).submit if parts.workers is not None else engine.submit
    if parts.jobs is not None:
        parts.jobs.connect(outlet.platform, submit)
    if parts.tasks is not None:
        parts.tasks.connect(outlet.platform, submit)
    for key in parts.unanswered:  # answered once, now, rather than when the human next writes
        if key.platform == outlet.platform:
            engine.wake(key)
    return engine


def engine_factory(parts: Parts) -> EngineFactory:
    """What each platform adapter builds its engine with."""
    if parts.workers is not None:
        return EngineFactory(parts.clock, lambda outlet: build_engine(parts, outlet), parts.workers.route,
                             parts.workers.alone)
    return EngineFactory(parts.clock, lambda outlet: build_engine(parts, outlet))


async def run_terminal_chat(settings: Settings) -> None:
    """Chat with the bot in this terminal until end of input (Ctrl-D)."""
    parts = build_parts(settings)
    await open_storage(parts)
    persona = load_persona(settings.persona)
    engine = build_engine(parts, TerminalOutlet(parts.clock, persona.name))
    print(f"texting {persona.name} — one message per line, Ctrl-D to quit")
    try:
        await read_lines(engine)
        await engine.until_idle(poll=0.2)
    finally:
        await engine.close()
        await close_storage(parts)


async def run(settings: Settings) -> None:
    """Every platform whose token is set; with none set, the local web chat."""
    setup_logging(settings)
    parts = build_parts(settings)
    assert isinstance(parts.store, SqlStore)  # build_parts opens one
    async with starting(settings, parts.store):
        await open_storage(parts)
    try:
        async with joined(settings, parts.store) as parts.workers:
            await _run_platforms(settings, parts)
    finally:
        await close_storage(parts)


async def _run_platforms(settings: Settings, parts: Parts) -> None:
    tune_gc()
    gc_keeper = asyncio.create_task(keep_gc_young(), name="gc")
    try:
        await _serve(settings, parts)
    finally:
        await cancel_and_wait(gc_keeper)


async def _serve(settings: Settings, parts: Parts) -> None:
    if settings.telegram_bot_token is None and settings.discord_bot_token is None:
        log.info("no platform token set: starting the local web chat")
        await serve_web(settings, engine_factory(parts))
        return
    platforms: list[Coroutine[Any, Any, None]] = []
    if settings.telegram_bot_token is not None:
        platforms.append(run_telegram(settings, engine_factory(parts)))
    if settings.discord_bot_token is not None:
        platforms.append(run_discord(settings, engine_factory(parts), None))
    # gather, not a TaskGroup: a ConfigError must reach the CLI as itself, not in an ExceptionGroup
    await asyncio.gather(*platforms)
