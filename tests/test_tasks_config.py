"""Configuring tasks and the holding line: an operator's own kinds, and the holding line only with a fast model."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from bot.app_tasks import operator_kinds, task_kinds, with_holding
from bot.core.background import TaskRecord
from bot.core.clock import VirtualClock
from bot.core.reminders import RemindKind
from bot.llm.holding import HoldingResponder
from bot.settings import ConfigError, Settings
from bot.testing import ScriptedResponder

MAIN = {"openai_base_url": "http://127.0.0.1:9/v1", "openai_api_key": "sk-test", "llm_model": "big"}


class CoinFlipKind:
    """An operator's kind: flips a coin (what TASK_KINDS=module:Class names)."""

    name = "coin"
    summary = 'coin: args {}: heads or tails'

    def argument_error(self, args: dict[str, Any]) -> str:
        return ""

    def due(self, args: dict[str, Any], now: float) -> float | None:
        return None

    async def run(self, task: TaskRecord) -> str:
        return "heads"


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **{**MAIN, **values})  # type: ignore[call-arg]


def test_an_operators_kind_named_in_task_kinds_joins_think_and_remind() -> None:
    kinds = task_kinds(settings(task_kinds="tests.test_tasks_config:CoinFlipKind"), VirtualClock())
    assert [kind.name for kind in kinds] == ["think", "remind", "coin"]
    assert isinstance(operator_kinds(" bot.core.reminders:RemindKind , ")[0], RemindKind)


@pytest.mark.parametrize(("spec", "says"), [
    ("no.such.module:Kind", "cannot make 'no.such.module:Kind'"),
    ("bot.core.reminders:Nothing", "cannot make 'bot.core.reminders:Nothing'"),
    ("bot.core.reminders:RemindKind", "two task kinds share a name"),
])
def test_a_task_kind_that_cannot_be_made_is_refused_at_start_up(spec: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        task_kinds(settings(task_kinds=spec), VirtualClock())


def test_the_holding_line_needs_a_fast_model_of_its_own_and_a_delay_above_zero() -> None:
    clock = VirtualClock()
    inner = ScriptedResponder(clock)
    assert with_holding(settings(), clock, inner) is inner, "the 'fast' model would be the slow one"
    assert with_holding(settings(llm_fast_model="small", holding_after_seconds=0), clock, inner) is inner
    held = with_holding(settings(llm_fast_model="small", holding_after_seconds=3.5), clock, inner)
    assert isinstance(held, HoldingResponder) and held.after == 3.5 and held.lines.model == "small"
    with pytest.raises(ValidationError, match="no holding line"):
        settings(holding_after_seconds=-1)
