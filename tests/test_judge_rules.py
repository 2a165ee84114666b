"""The judge policies' pure parts: what each choice means, the group budget, reading the model's answer,
the admin's fields and choices, the fast model's settings, and how a verdict shows on the timeline."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import SecretStr

from bot.core.commands import run_command
from bot.core.config import ChatConfig, effective_config
from bot.core.events import Author, Command, ConversationKey
from bot.core.judge_port import NoRuling, Ruling
from bot.core.ports import TraceEvent
from bot.llm.judge import parse_ruling
from bot.settings import Settings
from bot.timeline import render_timeline_svg
from bot.timeline.model import build_lanes
from persona import load_persona
from policies.interrupt import Acknowledge, Defer, Finish, Relay, Revise, interrupt_policy
from policies.judged import INTERRUPT_CHOICES, judged_interruption, unsolicited_refusal
from policies.timing import Timing
from policies.turn import turn_policy
from policies.view import ConversationView, Said

NOW = 100.0
KEY = ConversationKey("telegram", "5")


def view(*new: str, gap: float = 0.5) -> ConversationView:
    said = tuple(Said(text, NOW - gap, "u1") for text in new)
    return ConversationView(pending=said, new_since_reply=said)


def decided(choice: str, *new: str, listens: bool = False, again: bool = False, gap: float = 0.5) -> tuple[Any, bool]:
    return judged_interruption(choice, view(*new, gap=gap), NOW, turn_policy("fixed:3"), listens=listens, again=again)


def test_each_choice_maps_to_what_the_engine_does_with_the_held_reply() -> None:
    assert decided("restart", "wait no") == (Revise(), True)
    assert decided("ignore", "lol") == (Acknowledge(), True)
    assert decided("continue", "also hi") == (Finish(), True)
    assert decided("relay", "also hi", listens=True) == (Relay(), True)
    assert decided("defer", "but") == (Defer(NOW + 2.5), True), "until the turn policy would look again"


def test_defer_once_the_burst_is_over_or_a_second_time_and_relay_without_a_listener_are_the_defer_rule() -> None:
    def rule(*new: str, gap: float = 0.5) -> Any:
        return interrupt_policy("defer").decide(view(*new, gap=gap), NOW, False)

    assert decided("defer", "but", gap=10.0) == (rule("but", gap=10.0), False), "nothing left to wait for"
    assert decided("defer", "lol", again=True) == (rule("lol"), False), "asked again after a defer"
    assert decided("relay", "ok") == (rule("ok"), False), "the reply session does not listen"


def test_the_judge_policy_on_its_own_is_the_defer_rule() -> None:
    for new in (("lol",), ("wait what",), ("but",)):
        for gap in (0.5, 60.0):
            v = view(*new, gap=gap)
            assert interrupt_policy("judge").decide(v, NOW, False) == interrupt_policy("defer").decide(v, NOW, False)


def test_unasked_group_replies_keep_a_cooldown_and_an_hourly_cap() -> None:
    timing = Timing(group_cooldown=600, group_max_per_hour=2)
    assert unsolicited_refusal([], NOW, timing) is None
    assert (unsolicited_refusal([NOW - 60], NOW, timing) or "").startswith("cooldown: joined in 60 s ago")
    assert unsolicited_refusal([NOW - 700], NOW, timing) is None
    assert (unsolicited_refusal([NOW - 3000, NOW - 700], NOW, timing) or "").startswith("hourly cap: 2")
    assert unsolicited_refusal([NOW - 3700, NOW - 700], NOW, timing) is None, "an hour later it counts no more"
    assert unsolicited_refusal([], NOW, Timing(group_max_per_hour=0)) is not None, "0: never unasked"


def completion(*calls: tuple[str, str], content: str | None = None) -> Any:
    tool_calls = [SimpleNamespace(function=SimpleNamespace(name=name, arguments=args)) for name, args in calls]
    return SimpleNamespace(choices=[SimpleNamespace(message=SimpleNamespace(content=content, tool_calls=tool_calls))])


def test_a_ruling_is_read_from_the_forced_tool_call_and_anything_else_is_no_ruling() -> None:
    good = completion(("decide_interruption", '{"choice": "ignore", "reason": "just a lol"}'))
    assert parse_ruling(good, "decide_interruption", INTERRUPT_CHOICES) == Ruling("ignore", "just a lol")
    assert parse_ruling(completion(("decide_interruption", '{"choice": "defer"}')), "decide_interruption",
                        INTERRUPT_CHOICES) == Ruling("defer", "")
    for bad, why in (
        (completion(content="restart"), "no decide_interruption call"),
        (completion(("decide_interruption", '{"choice": "resta')), "arguments are not JSON"),
        (completion(("decide_interruption", '["restart"]')), "is not one of"),
        (completion(("decide_interruption", '{"choice": "panic", "reason": "x"}')), "'panic' is not one of"),
        (SimpleNamespace(choices=[]), "no message"),
    ):
        with pytest.raises(NoRuling, match=why):
            parse_ruling(bad, "decide_interruption", INTERRUPT_CHOICES)


def config_for(overrides: dict[str, Any]) -> ChatConfig:
    return effective_config(load_persona("sunny"), 1.0, {}, False, overrides)


def admin(*words: str) -> str:
    return run_command(config_for, {}, Command(KEY, Author("7", "sam"), words[0], words[1:], is_admin=True)).reply


def test_admins_choose_the_judge_policies_and_tune_its_fields_in_words() -> None:
    assert admin("policy", "interrupt", "judge") == "interrupt policy set to judge"
    assert admin("policy", "group", "judge") == "group policy set to judge"
    assert admin("timing", "set", "judge_timeout", "3") == "judge_timeout set to 3"
    assert admin("timing", "set", "judge_timeout", "0") == "judge_timeout must be between 0.1 and 30 seconds"
    assert admin("timing", "set", "group_cooldown", "120") == "group_cooldown set to 120"
    assert admin("timing", "set", "group_max_per_hour", "2.5") == (
        "group_max_per_hour must be a whole number between 0 and 60")
    shown = admin("timing", "show")
    assert "judge_timeout = 2 (persona sunny)" in shown and "group_max_per_hour = 4 (persona sunny)" in shown


def test_the_fast_model_defaults_to_the_main_one_and_each_part_can_be_set_alone() -> None:
    main: dict[str, Any] = {"_env_file": None, "openai_base_url": "http://main/v1", "openai_api_key": "sk-main",
                            "llm_model": "big"}
    assert Settings(**main).fast_llm() == ("http://main/v1", "sk-main", "big")
    fast = Settings(**main, llm_fast_model="small", llm_fast_api_key=SecretStr("sk-fast"))
    assert fast.fast_llm() == ("http://main/v1", "sk-fast", "small")
    assert "sk-fast" in fast.secrets(), "the fast key is redacted from logs too"
    with pytest.raises(ValueError, match="unknown interrupt policy"):
        Settings(_env_file=None, interrupt_policy="judges")  # type: ignore[call-arg]


def test_the_timeline_shows_the_choice_who_made_it_and_why() -> None:
    events = [
        TraceEvent("human_message", 1.0, {"text": "wait no i meant the concert"}),
        TraceEvent("interrupt", 1.2, {"decision": "restart", "reason": "they changed the question", "by": "judge",
                                      "applied": "revise"}),
        TraceEvent("interrupt", 5.0, {"decision": "relay", "reason": "hand it over", "by": "judge",
                                      "applied": "defer"}),
        TraceEvent("interrupt", 9.0, {"decision": "revise"}),
        TraceEvent("group", 20.0, {"decision": "ignore", "reason": "cooldown: joined in 60 s ago", "by": "rule"}),
    ]
    marks = [(m.kind, m.label, m.detail) for m in build_lanes(events).marks if m.lane == "turn"]
    assert marks == [
        ("interrupt", "restart (judge)", "they changed the question"),
        ("interrupt", "relay (judge) → defer", "hand it over"),
        ("interrupt", "revise", ""),
        ("ignore", "ignore (rule)", "cooldown: joined in 60 s ago"),
    ]
    svg = render_timeline_svg(events)
    assert "restart (judge)" in svg and "they changed the question" in svg
