"""What every actor shares (clock, ports, defaults) and how a chat's effective settings are derived."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.core.clock import Clock
from bot.core.ports import Outlet, Responder, Store, Tracer
from bot.pacing import Pacing
from persona import Persona, load_persona
from policies.group import GroupPolicy, group_policy
from policies.interrupt import InterruptPolicy, interrupt_policy
from policies.timing import TIMING_FIELD_NAMES, Timing
from policies.turn import TurnPolicy, turn_policy

log = logging.getLogger(__name__)
POLICY_FACTORIES: dict[str, Callable[[str], object]] = {
    "turn": turn_policy, "interrupt": interrupt_policy, "group": group_policy,
}


@dataclass(frozen=True)
class ChatConfig:
    """A chat's effective persona, timing and policies, with where each value came from."""

    persona: Persona
    timing: Timing
    turn_policy: TurnPolicy
    interrupt_policy: InterruptPolicy
    group_policy: GroupPolicy
    scale: float
    sources: dict[str, str]

    def pacing(self, rng: random.Random) -> Pacing:
        """Durations for this chat's replies."""
        return Pacing(self.persona.typing, self.timing, self.scale, rng)

    def policy_names(self) -> dict[str, str]:
        """The name of the policy in effect for each decision (turn, interrupt, group)."""
        return {"turn": self.turn_policy.name, "interrupt": self.interrupt_policy.name,
                "group": self.group_policy.name}


CONFIG_CACHE = 1024


def _no_trace(*args: Any, **kwargs: Any) -> None:
    return None


@dataclass
class EngineDeps:
    """Everything the actors of one platform share."""

    clock: Clock
    responder: Responder
    outlet: Outlet
    store: Store
    persona: Persona
    scale: float = 1.0
    turn: str | None = None
    interrupt: str | None = None
    group: str | None = None
    failure_reply: str = "message"
    idle_seconds: float = 300.0
    fresh_seconds: float = 3600.0  # unanswered on restart and older than this: the late treatment
    late_reply: str = "late"  # "late": the persona's late line answers them; "silent": no reply
    rng: random.Random = field(default_factory=random.Random)
    trace: Tracer = _no_trace
    _configs: dict[str, ChatConfig] = field(default_factory=dict, repr=False)

    def chat_config(self, overrides: dict[str, Any]) -> ChatConfig:
        """Effective settings: chat overrides over engine settings over persona defaults (cached)."""
        cache_key = json.dumps(overrides, sort_keys=True)
        cfg = self._configs.get(cache_key)
        if cfg is None:
            if len(self._configs) > CONFIG_CACHE:
                self._configs.clear()
            cfg = effective_config(self.persona, self.scale, self.turn, self.interrupt, self.group,
                                   self.outlet.has_typing_signal, overrides)
            self._configs[cache_key] = cfg
        return cfg


def effective_config(
    default_persona: Persona, scale: float, turn: str | None, interrupt: str | None, group: str | None,
    has_typing: bool, overrides: dict[str, Any],
) -> ChatConfig:
    """A chat's settings from the bot-wide ones and its overrides."""
    sources: dict[str, str] = {}
    chosen_persona = overrides.get("persona")
    persona = load_persona(chosen_persona) if chosen_persona else default_persona
    timing_over = overrides.get("timing", {})
    timing = persona.timing.with_overrides(timing_over)
    for name in TIMING_FIELD_NAMES:
        sources[name] = "override" if name in timing_over else f"persona {persona.name}"
    default_turn = persona.policies.turn_with_typing if has_typing else persona.policies.turn
    chosen_here = {name: usable_override(overrides, name) for name in POLICY_FACTORIES}
    chosen = {
        "turn": chosen_here["turn"] or turn or default_turn,
        "interrupt": chosen_here["interrupt"] or interrupt or persona.policies.interrupt,
        "group": chosen_here["group"] or group or persona.policies.group,
    }
    bot_wide = {"turn": turn, "interrupt": interrupt, "group": group}
    for name in chosen:
        from_bot = "settings" if bot_wide[name] else f"persona {persona.name}"
        sources[name] = "override" if chosen_here[name] else from_bot
    return ChatConfig(
        persona=persona,
        timing=timing,
        turn_policy=turn_policy(chosen["turn"]),
        interrupt_policy=interrupt_policy(chosen["interrupt"]),
        group_policy=group_policy(chosen["group"]),
        scale=scale,
        sources=sources,
    )


def usable_override(overrides: dict[str, Any], kind: str) -> str | None:
    """A chat's stored choice of `kind` policy, or None when it is not valid (stored before it was checked)."""
    name = overrides.get(kind)
    if not name:
        return None
    try:
        POLICY_FACTORIES[kind](str(name))
    except ValueError as exc:
        log.warning("ignoring this chat's stored %s policy: %s", kind, exc)
        return None
    return str(name)
