"""The page's timing controls: checked here, then applied through the engine's own admin commands.

What the page offers comes from the command registry (bot.core.commands): its timing fields, and the
policy kinds that matter in a one-person chat.
"""

from __future__ import annotations

from typing import Any

from bot.core.commands import POLICY_KINDS, PolicyKind
from bot.core.engine import Engine
from bot.core.events import Author, Command, ConversationKey
from bot.web.outlet import CONTROL_REPLY
from persona import available_personas
from policies.timing import TIMING_FIELD_NAMES, TIMING_FIELDS, parse_timing_value

Json = dict[str, Any]
# A web chat has one person in it: a policy for deciding whether to join in a group has no use here.
WEB_POLICY_KINDS: dict[str, PolicyKind] = {name: kind for name, kind in POLICY_KINDS.items() if not kind.groups_only}


class ControlError(ValueError):
    """A control's value was refused; `field` says which control, the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def field_specs() -> list[Json]:
    """The timing fields with their bounds, step, unit and help, for the page to build its inputs."""
    return [
        {"name": f.name, "low": f.low, "high": f.high, "step": f.step, "unit": f.unit, "help": f.help}
        for f in TIMING_FIELDS
    ]


def choices() -> Json:
    """What the page's selects offer."""
    return {**{name: list(kind.choices) for name, kind in WEB_POLICY_KINDS.items()}, "persona": available_personas()}


async def settings_snapshot(engine: Engine, key: ConversationKey) -> Json:
    """This conversation's effective timing, policies and persona, and where each value comes from."""
    actor = engine.actors.get(key)
    overrides = actor.state.overrides if actor is not None else (await engine.deps.store.load(key)).overrides
    cfg = engine.deps.chat_config(overrides)
    names = cfg.policy_names()
    return {
        "type": "settings",
        "timing": {name: getattr(cfg.timing, name) for name in TIMING_FIELD_NAMES},
        "sources": dict(cfg.sources),
        **{kind: names[kind] for kind in WEB_POLICY_KINDS},
        "persona": cfg.persona.name,
    }


def control_command(message: Json, key: ConversationKey, author: Author) -> Command:
    """The admin command for one control change; raises ControlError with a message for the page."""
    kind = message.get("type")
    if kind == "set_timing":
        field, raw = str(message.get("field", "")), str(message.get("value", "")).strip()
        try:
            parse_timing_value(field, raw)
        except ValueError as exc:
            raise ControlError(field, str(exc)) from None
        return _command(key, author, "timing", ("set", field, raw), field)
    if kind == "reset_timing":
        return _command(key, author, "timing", ("reset",), "timing")
    if kind == "set_policy":
        which, name = str(message.get("kind", "")), str(message.get("name", ""))
        _check_policy(which, name)
        return _command(key, author, "policy", (which, name), which)
    if kind == "set_persona":
        name = str(message.get("name", ""))
        if name not in available_personas():
            raise ControlError("persona", f"unknown persona {name!r}; choose from {', '.join(available_personas())}")
        return _command(key, author, "persona", (name,), "persona")
    raise ControlError("", f"unknown control {kind!r}")


def _check_policy(which: str, name: str) -> None:
    kind = WEB_POLICY_KINDS.get(which)
    if kind is None:
        raise ControlError(which, f"only the {' and '.join(WEB_POLICY_KINDS)} policies can be set here")
    try:
        kind.build(name)
    except ValueError as exc:
        raise ControlError(which, str(exc)) from None


def _command(key: ConversationKey, author: Author, name: str, args: tuple[str, ...], control: str) -> Command:
    # The local page is its conversation's admin: whoever can open it already controls the bot.
    return Command(key, author, name, args, is_admin=True, reply_to=CONTROL_REPLY + control)
