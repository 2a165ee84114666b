"""Chat commands (start, help, reset, timing, persona, policy): parse, authorise, answer in words."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.core.config import ChatConfig
from bot.core.events import Command
from persona import available_personas
from policies.group import GROUP_POLICIES
from policies.interrupt import INTERRUPT_POLICIES
from policies.timing import LIMITS, parse_timing_value
from policies.turn import TURN_POLICIES, turn_policy

ConfigFor = Callable[[dict[str, Any]], ChatConfig]

REFUSAL = "sorry, only admins can do that here"
POLICY_KINDS = {"turn": TURN_POLICIES, "interrupt": INTERRUPT_POLICIES, "group": GROUP_POLICIES}
USAGE = (
    "commands: /timing show | /timing set <field> <value> | /timing reset | /persona [name] | "
    "/policy turn|interrupt|group <name> | /reset"
)


@dataclass(frozen=True)
class CommandResult:
    """What a command changes and what to say back."""

    reply: str = ""
    overrides: dict[str, Any] | None = None
    forget: bool = False


def run_command(config_for: ConfigFor, current: dict[str, Any], cmd: Command) -> CommandResult:
    """Carry out `cmd` for a chat whose overrides are `current`, refusing non-admins where it matters."""
    persona = config_for(current).persona
    if cmd.name in ("start", "help"):
        return CommandResult(reply=persona.line(cmd.name))
    if cmd.name == "reset":
        if cmd.is_group and not cmd.is_admin:
            return CommandResult(reply=REFUSAL)
        return CommandResult(reply=persona.line("reset"), forget=True)
    if cmd.name not in ("timing", "persona", "policy"):
        return CommandResult(reply=USAGE)
    if not cmd.is_admin:
        return CommandResult(reply=REFUSAL)
    overrides = _copy(current)
    try:
        if cmd.name == "timing":
            return _timing(config_for(current), cmd.args, overrides)
        if cmd.name == "persona":
            return _persona(config_for(current), cmd.args, overrides)
        return _policy(cmd.args, overrides)
    except ValueError as exc:
        return CommandResult(reply=str(exc))


def _copy(overrides: dict[str, Any]) -> dict[str, Any]:
    out = dict(overrides)
    out["timing"] = dict(overrides.get("timing", {}))
    return out


def show_timing(cfg: ChatConfig) -> str:
    """The effective timing and policies, each with where it comes from."""
    rows = [f"{name} = {getattr(cfg.timing, name):g} ({cfg.sources[name]})" for name in LIMITS]
    rows.append(f"turn policy = {cfg.turn_policy.name} ({cfg.sources['turn']})")
    rows.append(f"interrupt policy = {cfg.interrupt_policy.name} ({cfg.sources['interrupt']})")
    rows.append(f"group policy = {cfg.group_policy.name} ({cfg.sources['group']})")
    rows.append(f"persona = {cfg.persona.name}")
    return "\n".join(rows)


def _timing(cfg: ChatConfig, args: tuple[str, ...], overrides: dict[str, Any]) -> CommandResult:
    action = args[0] if args else "show"
    if action == "show":
        return CommandResult(reply=show_timing(cfg))
    if action == "reset":
        overrides["timing"] = {}
        return CommandResult(reply="timing back to the persona's defaults", overrides=overrides)
    if action == "set" and len(args) == 3:
        field, raw = args[1], args[2]
        value = parse_timing_value(field, raw)
        overrides["timing"][field] = value
        return CommandResult(reply=f"{field} set to {value:g}", overrides=overrides)
    raise ValueError(f"usage: /timing show | /timing set <field> <value> | /timing reset; fields: {', '.join(LIMITS)}")


def _persona(cfg: ChatConfig, args: tuple[str, ...], overrides: dict[str, Any]) -> CommandResult:
    names = available_personas()
    if not args:
        current = cfg.persona.name
        return CommandResult(reply="personas: " + ", ".join(f"{n} (current)" if n == current else n for n in names))
    if args[0] not in names:
        raise ValueError(f"unknown persona {args[0]!r}; choose from {', '.join(names)}")
    overrides["persona"] = args[0]
    return CommandResult(reply=f"persona set to {args[0]}", overrides=overrides)


def _policy(args: tuple[str, ...], overrides: dict[str, Any]) -> CommandResult:
    if len(args) != 2 or args[0] not in POLICY_KINDS:
        raise ValueError("usage: /policy turn|interrupt|group <name>")
    kind, name = args
    if kind == "turn":
        turn_policy(name)  # raises ValueError naming the choices
    elif name not in POLICY_KINDS[kind]:
        raise ValueError(f"unknown {kind} policy {name!r}; choose from {', '.join(POLICY_KINDS[kind])}")
    overrides[kind] = name
    return CommandResult(reply=f"{kind} policy set to {name}", overrides=overrides)
