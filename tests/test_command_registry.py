"""One command registry: Telegram, Discord, the web chat and `textbot config` offer exactly its commands."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import fields
from typing import Any

import pytest

from bot.config_cli import as_command
from bot.core.commands import COMMANDS, POLICY_KINDS, REFUSAL, USAGE, CommandSpec, run_command
from bot.core.config import ChatConfig, effective_config
from bot.core.events import Author, Command, ConversationKey
from bot.web.chat import slash_command
from bot.web.controls import choices, field_specs
from persona import load_persona
from policies.timing import TIMING_FIELD_NAMES, TIMING_FIELDS, Timing
from tests.discord_scene import DiscordScene, scenes
from tests.fakes.discord_payloads import JSON
from tests.telegram_kit import DM, TelegramScene

make_scene = pytest.fixture(scenes)
KEY = ConversationKey("telegram", "5")
NAMES = [spec.name for spec in COMMANDS]


def config_for(overrides: dict[str, Any]) -> ChatConfig:
    return effective_config(load_persona("sunny"), 1.0, {}, False, overrides)


def answer(name: str, *args: str, admin: bool = False, group: bool = False) -> str:
    cmd = Command(KEY, Author("7", "sam"), name, args, is_admin=admin, is_group=group)
    return run_command(config_for, {}, cmd).reply


async def test_telegram_menus_are_the_registry_public_for_everyone_and_whole_for_admins() -> None:
    async with TelegramScene(admins=f"telegram:{DM}") as tg:
        def menu(scope: dict[str, object]) -> list[dict[str, str]]:
            return tg.server.commands[(json.dumps(scope, sort_keys=True), "")]

        public = menu({"type": "default"})
        full = menu({"type": "all_chat_administrators"})
        assert menu({"type": "chat", "chat_id": DM}) == full
    assert [c["command"] for c in public] == [s.name for s in COMMANDS if s.access != "admins"]
    assert [c["command"] for c in full] == NAMES
    assert all(c["description"].startswith(s.description) for c, s in zip(full, COMMANDS, strict=True))
    timing = next(c for c in full if c["command"] == "timing")
    assert timing["description"].endswith(": show | set <field> <value> | reset"), "Telegram has no options UI"


def described(spec: CommandSpec) -> list[tuple[str, str]]:
    return [(a.name, a.description) for a in spec.args]


def options(registered: JSON) -> list[tuple[str, str]]:
    return [(o["name"], o["description"]) for o in registered.get("options", [])]


async def test_discord_slash_commands_are_the_registry_with_its_words_and_choices(
    make_scene: Callable[..., Awaitable[DiscordScene]],
) -> None:
    chat = await make_scene()
    registered = {c["name"]: c for c in chat.server.commands[None]}
    slash = [s for s in COMMANDS if s.slash]
    assert sorted(registered) == sorted(s.name for s in slash)
    for spec in slash:
        command = registered[spec.name]
        assert command["description"] == spec.description
        if spec.actions:
            subs = {o["name"]: o for o in command["options"]}
            assert list(subs) == [a.name for a in spec.actions]
            for action in spec.actions:
                assert subs[action.name]["description"] == action.description
                assert options(subs[action.name]) == described(action)
        else:
            assert options(command) == described(spec)
    field = registered["timing"]["options"][1]["options"][0]
    assert [c["value"] for c in field["choices"]] == list(TIMING_FIELD_NAMES)
    kind = registered["policy"]["options"][0]
    assert [c["value"] for c in kind["choices"]] == list(POLICY_KINDS)


def test_the_web_chat_takes_exactly_the_registry_commands_and_offers_its_fields_and_kinds() -> None:
    for name in NAMES:
        assert slash_command(f"/{name.upper()} a b") == (name, ("a", "b"))
    assert slash_command("/mood happy") is None, "anything else is an ordinary message"
    assert [f["name"] for f in field_specs()] == list(TIMING_FIELD_NAMES)
    offered = choices()
    assert list(offered) == [*(k for k, kind in POLICY_KINDS.items() if not kind.groups_only), "persona"]
    assert offered["turn"] == list(POLICY_KINDS["turn"].choices)


def test_textbot_config_sets_every_registry_field_and_names_them_all_when_one_is_unknown() -> None:
    settable = {**{f.name: f"{f.high:g}" for f in TIMING_FIELDS}, "persona": "sage",
                **{k: kind.choices[0] for k, kind in POLICY_KINDS.items()}}
    for field, value in settable.items():
        result = run_command(config_for, {}, as_command(KEY, "set", [field, value]))
        assert result.overrides is not None, (field, result.reply)
    with pytest.raises(ValueError) as refused:
        as_command(KEY, "set", ["mood", "happy"])
    assert str(refused.value) == f"unknown field 'mood'; fields: {', '.join(settable)}"


def test_every_registry_command_is_carried_out_and_only_whom_it_allows_may() -> None:
    for spec in COMMANDS:
        assert answer(spec.name, admin=True) not in (USAGE, REFUSAL, ""), spec.name
        in_group = answer(spec.name, group=True)
        assert (in_group == REFUSAL) is (spec.access != "anyone"), spec.name
        in_dm = answer(spec.name)
        assert (in_dm == REFUSAL) is (spec.access == "admins"), spec.name
    assert answer("mood", admin=True) == USAGE


def test_the_usage_line_is_written_from_the_registry() -> None:
    assert USAGE == ("commands: /reset | /timing show | /timing set <field> <value> | /timing reset | "
                     "/persona [name] | /policy turn|interrupt|group|responder <name>")


def test_the_timing_fields_are_exactly_what_a_timing_holds() -> None:
    assert tuple(f.name for f in fields(Timing)) == TIMING_FIELD_NAMES
    whole = [f.name for f in TIMING_FIELDS if f.whole]
    assert whole == [f.name for f in fields(Timing) if f.type == "int"]
