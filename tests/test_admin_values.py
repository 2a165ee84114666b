"""Every value an admin (or TURN_POLICY) gives is checked: a bad one gets a clear answer and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from bot.core.commands import CommandResult, run_command
from bot.core.config import ChatConfig, effective_config
from bot.core.events import Author, Command, ConversationKey
from bot.settings import Settings
from persona import load_persona
from tests.telegram_kit import DM, TelegramScene

KEY = ConversationKey("telegram", "5")
ADMIN = Author("1", "alice")
FIXED = "the fixed wait must be between 0 and 120 seconds (fixed:SECONDS)"
ADAPTIVE = "the adaptive threshold must be between 0 and 1 (adaptive:THRESHOLD)"


def config_for(overrides: dict[str, Any]) -> ChatConfig:
    return effective_config(load_persona("sunny"), 1.0, {}, False, overrides)


def admin_says(name: str, *args: str, current: dict[str, Any] | None = None) -> CommandResult:
    return run_command(config_for, current or {}, Command(KEY, ADMIN, name, args, is_admin=True))


@pytest.mark.parametrize(("policy", "answer"), [
    ("fixed:nan", FIXED), ("fixed:inf", FIXED), ("fixed:-inf", FIXED), ("fixed:-5", FIXED), ("fixed:121", FIXED),
    ("fixed:abc", FIXED), ("fixed:1e309", FIXED), ("fixed:", FIXED), ("fixed:1_0", FIXED),
    ("adaptive:2", ADAPTIVE), ("adaptive:nan", ADAPTIVE), ("adaptive:-0.1", ADAPTIVE),
    ("immediate:5", "immediate takes no value (just immediate)"), ("typing:3", "typing takes no value (just typing)"),
])
def test_a_bad_turn_policy_value_is_refused_in_words_and_nothing_changes(policy: str, answer: str) -> None:
    result = admin_says("policy", "turn", policy)
    assert result.reply == answer
    assert result.overrides is None


@pytest.mark.parametrize("policy", ["fixed", "fixed:0", "fixed:120", "fixed:2.5", "adaptive:0", "adaptive:1",
                                    "adaptive:0.4", "immediate", "typing"])
def test_a_good_turn_policy_value_is_taken_and_shown(policy: str) -> None:
    result = admin_says("policy", "turn", policy)
    assert result.reply == f"turn policy set to {policy}"
    assert result.overrides is not None and result.overrides["turn"] == policy
    shown = admin_says("timing", "show", current=result.overrides).reply
    assert f"turn policy = {policy} (override)" in shown


def test_a_bad_turn_policy_stored_before_values_were_checked_falls_back_to_the_default() -> None:
    shown = admin_says("timing", "show", current={"turn": "fixed:nan"}).reply
    assert "turn policy = adaptive (persona sunny)" in shown


@pytest.mark.parametrize(("policy", "answer"), [
    ("fixed:nan", FIXED), ("fixed:inf", FIXED), ("fixed:-5", FIXED), ("fixed:abc", FIXED), ("adaptive:2", ADAPTIVE),
    ("immediate:5", "immediate takes no value (just immediate)"), ("sometimes", "unknown turn policy 'sometimes'"),
])
def test_turn_policy_setting_is_checked_when_the_settings_are_read(policy: str, answer: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(turn_policy=policy, _env_file=None)  # type: ignore[call-arg]
    (error,) = caught.value.errors()
    assert error["loc"] == ("turn_policy",) and answer in error["msg"]


def test_interrupt_and_group_policy_settings_are_checked_too() -> None:
    with pytest.raises(ValidationError, match="unknown interrupt policy 'later'"):
        Settings(interrupt_policy="later", _env_file=None)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="unknown group policy 'all'"):
        Settings(group_policy="all", _env_file=None)  # type: ignore[call-arg]
    assert Settings(turn_policy="fixed:3", _env_file=None).turn_policy == "fixed:3"  # type: ignore[call-arg]


PARTS = "max_parts must be a whole number between 1 and 12"
WPM = "words per minute must be between 5 and 400"
DIGITS = " (write numbers with the digits 0-9)"


@pytest.mark.parametrize(("field", "value", "answer"), [
    ("max_parts", "inf", PARTS), ("max_parts", "1e309", PARTS), ("max_parts", "nan", PARTS),
    ("max_parts", "-inf", PARTS), ("max_parts", "2.5", PARTS), ("max_parts", "0", PARTS), ("max_parts", "13", PARTS),
    ("wpm", "abc", WPM), ("wpm", "", WPM), ("wpm", "1_00", WPM), ("wpm", "0x50", WPM), ("wpm", "9" * 400, WPM),
    ("debounce", "NaN", "debounce must be between 0 and 120 seconds"),
    ("wpm", "١٠٠", WPM + DIGITS), ("max_parts", "５", PARTS + DIGITS),
])
def test_a_bad_timing_value_gets_the_fields_range_in_words_and_nothing_changes(
    field: str, value: str, answer: str
) -> None:
    result = admin_says("timing", "set", field, value)
    assert result.reply == answer
    assert result.overrides is None


@pytest.mark.parametrize(("field", "value", "answer", "stored"), [
    ("max_parts", "12.0", "max_parts set to 12", 12), ("wpm", "1e2", "wpm set to 100", 100.0),
    ("wpm", "+80", "wpm set to 80", 80.0), ("debounce", ".5", "debounce set to 0.5", 0.5),
])
def test_plain_ascii_numbers_are_taken_in_any_usual_spelling(field: str, value: str, answer: str,
                                                            stored: float) -> None:
    result = admin_says("timing", "set", field, value)
    assert result.reply == answer
    assert result.overrides is not None and result.overrides["timing"] == {field: stored}


async def test_on_telegram_a_value_that_overflowed_or_froze_the_bot_gets_an_answer_and_the_chat_goes_on() -> None:
    async with TelegramScene(admins=f"telegram:{DM}", script=lambda r: ["hey!"]) as tg:
        assert await tg.command(DM, "/timing set max_parts inf") == [PARTS]
        await tg.clock.advance(2)
        assert await tg.command(DM, "/timing set max_parts nan") == [PARTS]
        await tg.clock.advance(2)
        assert await tg.command(DM, "/policy turn fixed:nan") == [FIXED]
        await tg.clock.advance(2)
        assert (await tg.store.load(ConversationKey("telegram", str(DM)))).overrides == {}
        await tg.says(DM, "you there?")
        assert await tg.until_sent(DM, 4) == [PARTS, PARTS, FIXED, "hey!"]
