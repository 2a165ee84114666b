"""Composition of seed 003/004's background tasks and holding line (part of the composition root, beside app.py)."""

from __future__ import annotations

import importlib

from bot.app_clients import fast_client, main_client
from bot.core.background import TaskBoard, TaskKind
from bot.core.clock import Clock
from bot.core.ports import Responder
from bot.core.reminders import RemindKind
from bot.core.trace import TraceRecorder
from bot.llm.holding import HoldingLines, HoldingResponder
from bot.llm.model_errors import RetryPolicy
from bot.llm.thinking import ThinkKind
from bot.settings import ConfigError, Settings
from bot.storage.jobs import LongJobs
from bot.storage.sql_store import SqlStore
from bot.storage.tasks import SchedulerTimers, SqlTaskStore


def operator_kinds(spec: str) -> list[TaskKind]:
    """TASK_KINDS: comma-separated `module:Class`, each made with no arguments (an operator's own kinds)."""
    kinds: list[TaskKind] = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        module_name, _, name = item.partition(":")
        try:
            made = getattr(importlib.import_module(module_name), name)()
        except (ImportError, AttributeError, TypeError, ValueError) as exc:
            raise ConfigError(f"TASK_KINDS: cannot make {item!r} ({type(exc).__name__}: {exc})") from None
        kinds.append(made)
    return kinds


def task_kinds(settings: Settings, clock: Clock) -> list[TaskKind]:
    """think (on LLM_MODEL), remind, and the operator's kinds."""
    think = ThinkKind(*main_client(settings), clock, RetryPolicy(attempts=settings.llm_attempts))
    shipped: list[TaskKind] = [think, RemindKind()]
    extra = operator_kinds(settings.task_kinds)
    names = [kind.name for kind in [*shipped, *extra]]
    if len(set(names)) != len(names):
        raise ConfigError(f"TASK_KINDS: two task kinds share a name ({', '.join(names)})")
    return [*shipped, *extra]


def build_board(settings: Settings, clock: Clock, store: SqlStore, jobs: LongJobs) -> TaskBoard:
    """The task board on the bot's database, its timers in the follow-ups' scheduler."""
    timers = SchedulerTimers(jobs.scheduler)
    board = TaskBoard(SqlTaskStore(store), clock, task_kinds(settings, clock), timers, trace=TraceRecorder(store))
    timers.serve(board)
    return board


def with_holding(settings: Settings, clock: Clock, responder: Responder) -> Responder:
    """The responder with the fast model's holding line, when LLM_FAST_MODEL is set and HOLDING_AFTER_SECONDS > 0.

    Without LLM_FAST_MODEL the "fast" model would be the slow one: its line would come as late as the answer.
    """
    fast = fast_client(settings) if settings.llm_fast_model and settings.holding_after_seconds > 0 else None
    if fast is None:
        return responder
    return HoldingResponder(responder, HoldingLines(*fast, clock), clock, after=settings.holding_after_seconds)
