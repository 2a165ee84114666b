"""The page's timing controls: checked here, then applied through the engine's own admin commands."""

from __future__ import annotations

from typing import Any

from bot.core.engine import Engine
from bot.core.events import Author, Command, ConversationKey
from bot.web.outlet import CONTROL_REPLY
from persona import available_personas
from policies.interrupt import INTERRUPT_POLICIES
from policies.timing import LIMITS, parse_timing_value
from policies.turn import TURN_POLICIES, turn_policy

Json = dict[str, Any]
# (unit, what it does) for each timing field, as the page labels them.
FIELD_HELP: dict[str, tuple[str, str]] = {
    "debounce": ("s", "quiet time the fixed/adaptive policies wait for"),
    "max_wait": ("s", "never wait longer than this after your last message"),
    "wpm": ("wpm", "how fast the bot types"),
    "read_delay": ("s/100 chars", "reading time before it starts typing"),
    "part_pause": ("s", "pause between two parts"),
    "max_parts": ("parts", "most messages in one reply"),
}


class ControlError(ValueError):
    """A control's value was refused; `field` says which control, the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def field_specs() -> list[Json]:
    """The timing fields with their bounds, step, unit and help, for the page to build its inputs."""
    return [
        {"name": name, "low": low, "high": high, "step": 1 if name in ("max_parts", "wpm") else 0.1,
         "unit": FIELD_HELP[name][0], "help": FIELD_HELP[name][1]}
        for name, (low, high, _) in LIMITS.items()
    ]


def choices() -> Json:
    """What the page's selects offer."""
    return {"turn": list(TURN_POLICIES), "interrupt": list(INTERRUPT_POLICIES), "persona": available_personas()}


async def settings_snapshot(engine: Engine, key: ConversationKey) -> Json:
    """This conversation's effective timing, policies and persona, and where each value comes from."""
    actor = engine.actors.get(key)
    overrides = actor.state.overrides if actor is not None else (await engine.deps.store.load(key)).overrides
    cfg = engine.deps.chat_config(overrides)
    return {
        "type": "settings",
        "timing": {name: getattr(cfg.timing, name) for name in LIMITS},
        "sources": dict(cfg.sources),
        "turn": cfg.turn_policy.name,
        "interrupt": cfg.interrupt_policy.name,
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
    if which == "turn":
        try:
            turn_policy(name)
        except ValueError as exc:
            raise ControlError("turn", str(exc) if "turn policy" in str(exc) else f"bad turn policy {name!r}") from None
    elif which == "interrupt":
        if name not in INTERRUPT_POLICIES:
            raise ControlError("interrupt", f"unknown interrupt policy {name!r}; choose from "
                                            f"{', '.join(INTERRUPT_POLICIES)}")
    else:
        raise ControlError(which, "only the turn and interrupt policies can be set here")


def _command(key: ConversationKey, author: Author, name: str, args: tuple[str, ...], control: str) -> Command:
    # The local page is its conversation's admin: whoever can open it already controls the bot.
    return Command(key, author, name, args, is_admin=True, reply_to=CONTROL_REPLY + control)
