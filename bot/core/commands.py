"""Chat commands: the one registry every platform lists, and carrying a command out in words.

Telegram's menus, Discord's slash commands, the web chat and `textbot config` all read COMMANDS,
POLICY_KINDS and TIMING_FIELDS from here, so a command, a field or a decision is added in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from bot.core.config import ChatConfig
from bot.core.events import Command
from persona import available_personas
from policies.group import GROUP_POLICIES, group_policy
from policies.interrupt import INTERRUPT_POLICIES, interrupt_policy
from policies.responder import RESPONDERS, responder_kind
from policies.timing import TIMING_FIELD_NAMES, TIMING_FIELDS, parse_timing_value  # noqa: F401 (the registry's)
from policies.turn import TURN_POLICIES, turn_policy

ConfigFor = Callable[[dict[str, Any]], ChatConfig]
Access = Literal["anyone", "admins in groups", "admins"]
REFUSAL = "sorry, only admins can do that here"


@dataclass(frozen=True)
class PolicyKind:
    """A decision whose policy an admin picks per chat: the names on offer and the check for a name."""

    name: str
    choices: tuple[str, ...]
    build: Callable[[str], object]  # the policy called so; ValueError, in words, for a bad name or value
    groups_only: bool = False  # matters only where several people share a chat (not the web chat)


# One line per decision: /policy, Discord's choices, the web page's selects and `textbot config` follow.
POLICY_KINDS: dict[str, PolicyKind] = {kind.name: kind for kind in (
    PolicyKind("turn", TURN_POLICIES, turn_policy),
    PolicyKind("interrupt", INTERRUPT_POLICIES, interrupt_policy),
    PolicyKind("group", GROUP_POLICIES, group_policy, groups_only=True),
    PolicyKind("responder", RESPONDERS, responder_kind),
)}


@dataclass(frozen=True)
class Arg:
    """A word a command takes, as menus, usage lines and slash-command options describe it."""

    name: str
    description: str
    choices: tuple[str, ...] = ()  # a fixed set, offered as choices where the platform can
    optional: bool = False
    spelled_out: bool = False  # the usage line lists the choices instead of <name>

    @property
    def usage(self) -> str:
        """`<value>`, `[name]` or `turn|interrupt|group|responder`."""
        if self.optional:
            return f"[{self.name}]"
        return "|".join(self.choices) if self.spelled_out else f"<{self.name}>"


@dataclass(frozen=True)
class CommandSpec:
    """A chat command as every platform offers it: name, one line on what it does, who may run it, its words."""

    name: str
    description: str
    access: Access = "anyone"
    args: tuple[Arg, ...] = ()
    actions: tuple[CommandSpec, ...] = ()  # sub-commands: /timing show | set | reset
    slash: bool = True  # Discord lists it (start and help are Telegram's conventions)

    @property
    def hint(self) -> str:
        """What may follow the name: `show | set <field> <value> | reset`, `[name]`, or nothing."""
        if self.actions:
            return " | ".join(_words(action.name, action.hint) for action in self.actions)
        return " ".join(arg.usage for arg in self.args)

    @property
    def usage(self) -> str:
        """`/timing show | /timing set <field> <value> | /timing reset`."""
        if self.actions:
            return " | ".join(_words(f"/{self.name} {action.name}", action.hint) for action in self.actions)
        return _words(f"/{self.name}", self.hint)

    def allows(self, cmd: Command) -> bool:
        """Whether the command's author may run it where it was sent."""
        if self.access == "anyone":
            return True
        return cmd.is_admin or (self.access == "admins in groups" and not cmd.is_group)


def _words(*parts: str) -> str:
    return " ".join(part for part in parts if part)


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("start", "Say hi", slash=False),
    CommandSpec("help", "How to text me", slash=False),
    CommandSpec("reset", "Forget this conversation (in groups and servers: admins only)", access="admins in groups"),
    CommandSpec("forget", "What I remember about you here (a number or all: forget it)",
                args=(Arg("which", "a number from the list, or all", optional=True),)),
    CommandSpec("timing", "How long the bot waits and how fast it types here", access="admins", actions=(
        CommandSpec("show", "The timing in effect here and where each value comes from"),
        CommandSpec("set", "Change one timing value for this conversation", args=(
            Arg("field", "what to change", choices=TIMING_FIELD_NAMES),
            Arg("value", "the new value (seconds, words per minute or a count)"),
        )),
        CommandSpec("reset", "Back to the persona's own timing"),
    )),
    CommandSpec("persona", "Who the bot is here (no name: list them)", access="admins",
                args=(Arg("name", "the persona to become", optional=True),)),
    CommandSpec("policy", "How the bot decides when, and whether, to answer here", access="admins", args=(
        Arg("kind", "which decision", choices=tuple(POLICY_KINDS), spelled_out=True),
        Arg("name", "the policy to use for it"),
    )),
)
BY_NAME = {spec.name: spec for spec in COMMANDS}
COMMAND_NAMES = tuple(BY_NAME)
USAGE = "commands: " + " | ".join(spec.usage for spec in COMMANDS if spec.access != "anyone")


@dataclass(frozen=True)
class CommandResult:
    """What a command changes and what to say back."""

    reply: str = ""
    overrides: dict[str, Any] | None = None
    forget: bool = False
    memory_words: tuple[str, ...] | None = None  # /forget: listed or deleted by the actor (bot.core.memory_commands)


Handler = Callable[[ChatConfig, tuple[str, ...], dict[str, Any]], CommandResult]


def run_command(config_for: ConfigFor, current: dict[str, Any], cmd: Command) -> CommandResult:
    """Carry out `cmd` for a chat whose overrides are `current`, refusing whom the registry says to refuse."""
    spec = BY_NAME.get(cmd.name)
    if spec is None:
        return CommandResult(reply=USAGE)
    if not spec.allows(cmd):
        return CommandResult(reply=REFUSAL)
    try:
        return _HANDLERS[spec.name](config_for(current), cmd.args, _copy(current))
    except ValueError as exc:
        return CommandResult(reply=str(exc))


def _copy(overrides: dict[str, Any]) -> dict[str, Any]:
    out = dict(overrides)
    out["timing"] = dict(overrides.get("timing", {}))
    return out


def show_timing(cfg: ChatConfig) -> str:
    """The effective timing and policies, each with where it comes from."""
    rows = [f"{name} = {getattr(cfg.timing, name):g} ({cfg.sources[name]})" for name in TIMING_FIELD_NAMES]
    names = cfg.policy_names()
    rows += [f"{kind} policy = {names[kind]} ({cfg.sources[kind]})" for kind in POLICY_KINDS]
    rows.append(f"persona = {cfg.persona.name}")
    return "\n".join(rows)


def _line(what: str) -> Handler:
    def answer(cfg: ChatConfig, args: tuple[str, ...], overrides: dict[str, Any]) -> CommandResult:
        return CommandResult(reply=cfg.persona.line(what))

    return answer


def _reset(cfg: ChatConfig, args: tuple[str, ...], overrides: dict[str, Any]) -> CommandResult:
    return CommandResult(reply=cfg.persona.line("reset"), forget=True)


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
    raise ValueError(f"usage: {BY_NAME['timing'].usage}; fields: {', '.join(TIMING_FIELD_NAMES)}")


def _persona(cfg: ChatConfig, args: tuple[str, ...], overrides: dict[str, Any]) -> CommandResult:
    names = available_personas()
    if not args:
        current = cfg.persona.name
        return CommandResult(reply="personas: " + ", ".join(f"{n} (current)" if n == current else n for n in names))
    if args[0] not in names:
        raise ValueError(f"unknown persona {args[0]!r}; choose from {', '.join(names)}")
    overrides["persona"] = args[0]
    return CommandResult(reply=f"persona set to {args[0]}", overrides=overrides)


def _policy(cfg: ChatConfig, args: tuple[str, ...], overrides: dict[str, Any]) -> CommandResult:
    if len(args) != 2 or args[0] not in POLICY_KINDS:
        raise ValueError(f"usage: {BY_NAME['policy'].usage}")
    kind, name = args
    POLICY_KINDS[kind].build(name)  # raises ValueError naming the choices or the value's range
    overrides[kind] = name
    return CommandResult(reply=f"{kind} policy set to {name}", overrides=overrides)


def _forget(cfg: ChatConfig, args: tuple[str, ...], overrides: dict[str, Any]) -> CommandResult:
    if len(args) > 1 or (args and args[0].lower() != "all" and not (args[0].isascii() and args[0].isdigit())):
        raise ValueError(f"usage: {BY_NAME['forget'].usage} (a number from the list, or all)")
    return CommandResult(reply="i don't keep memories here", memory_words=args)  # the actor's answer replaces it


_HANDLERS: dict[str, Handler] = {
    "start": _line("start"), "help": _line("help"), "reset": _reset, "forget": _forget,
    "timing": _timing, "persona": _persona, "policy": _policy,
}
