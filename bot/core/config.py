"""What every actor shares (clock, ports, defaults) and how a chat's effective settings are derived."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.core.background import TaskBoard
from bot.core.clock import Clock
from bot.core.duplex_port import TurnPredictor
from bot.core.judge_port import Judge, UnsolicitedReplies
from bot.core.memory_port import Memories
from bot.core.ports import Outlet, Responder, Store, Tracer
from bot.pacing import Pacing
from persona import Persona, load_persona
from policies.group import GroupPolicy, group_policy
from policies.interrupt import InterruptPolicy, interrupt_policy
from policies.responder import responder_kind
from policies.timing import TIMING_FIELD_NAMES, Timing
from policies.turn import TurnPolicy, turn_policy

log = logging.getLogger(__name__)
POLICY_FACTORIES: dict[str, Callable[[str], object]] = {
    "turn": turn_policy, "interrupt": interrupt_policy, "group": group_policy, "responder": responder_kind,
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
    responder: str = "stream"

    def pacing(self, rng: random.Random) -> Pacing:
        """Durations for this chat's replies."""
        return Pacing(self.persona.typing, self.timing, self.scale, rng)

    def policy_names(self) -> dict[str, str]:
        """The name of the policy in effect for each decision (turn, interrupt, group)."""
        return {"turn": self.turn_policy.name, "interrupt": self.interrupt_policy.name,
                "group": self.group_policy.name, "responder": self.responder}


CONFIG_CACHE = 1024


def _no_trace(*args: Any, **kwargs: Any) -> None:
    return None


@dataclass
class EngineDeps:
    """Everything the actors of one platform share."""

    clock: Clock
    responder: Responder  # the `stream` session, and any kind not in `responders`
    outlet: Outlet
    store: Store
    persona: Persona
    scale: float = 1.0
    turn: str | None = None
    interrupt: str | None = None
    group: str | None = None
    responder_kind: str | None = None  # RESPONDER: the kind every chat uses unless it chose one
    responders: dict[str, Responder] = field(default_factory=dict)  # kind → session (e.g. "actions")
    failure_reply: str = "message"
    idle_seconds: float = 300.0
    fresh_seconds: float = 3600.0  # unanswered on restart and older than this: the late treatment
    late_reply: str = "late"  # "late": the persona's late line answers them; "silent": no reply
    rng: random.Random = field(default_factory=random.Random)
    trace: Tracer = _no_trace
    judge: Judge | None = None  # the fast model the `judge` policies ask; None: they decide by their rules
    duplex: TurnPredictor | None = None  # the fast model of the `duplex` turn policy; None: it decides as adaptive
    unsolicited: UnsolicitedReplies = field(default_factory=UnsolicitedReplies)  # the group judge's cap
    tasks: TaskBoard | None = None  # background tasks (seed 004): their results come back as TaskResult events
    memories: Memories | None = None  # facts remembered per person and chat (seed 004): /forget and /reset use it
    _configs: dict[str, ChatConfig] = field(default_factory=dict, repr=False)

    def responder_for(self, kind: str) -> Responder:
        """The reply session of this kind (the default one when the bot has no such kind wired)."""
        return self.responders.get(kind, self.responder)

    def chat_config(self, overrides: dict[str, Any]) -> ChatConfig:
        """Effective settings: chat overrides over engine settings over persona defaults (cached)."""
        cache_key = json.dumps(overrides, sort_keys=True)
        cfg = self._configs.get(cache_key)
        if cfg is None:
            if len(self._configs) > CONFIG_CACHE:
                self._configs.clear()
            bot_wide = {"turn": self.turn, "interrupt": self.interrupt, "group": self.group,
                        "responder": self.responder_kind}
            cfg = effective_config(self.persona, self.scale, bot_wide, self.outlet.has_typing_signal, overrides)
            self._configs[cache_key] = cfg
        return cfg


def effective_config(
    default_persona: Persona, scale: float, bot_wide: dict[str, str | None], has_typing: bool,
    overrides: dict[str, Any],
) -> ChatConfig:
    """A chat's settings from the bot-wide ones (policy kind → name or None) and its overrides."""
    sources: dict[str, str] = {}
    chosen_persona = overrides.get("persona")
    persona = load_persona(chosen_persona) if chosen_persona else default_persona
    timing_over = overrides.get("timing", {})
    timing = persona.timing.with_overrides(timing_over)
    for name in TIMING_FIELD_NAMES:
        sources[name] = "override" if name in timing_over else f"persona {persona.name}"
    defaults = {
        "turn": persona.policies.turn_with_typing if has_typing else persona.policies.turn,
        "interrupt": persona.policies.interrupt, "group": persona.policies.group,
        "responder": persona.policies.responder,
    }
    chosen: dict[str, str] = {}
    for name in POLICY_FACTORIES:
        here = usable_override(overrides, name)
        chosen[name] = here or bot_wide.get(name) or defaults[name]
        sources[name] = "override" if here else ("settings" if bot_wide.get(name) else f"persona {persona.name}")
    return ChatConfig(
        persona=persona,
        timing=timing,
        turn_policy=turn_policy(chosen["turn"]),
        interrupt_policy=interrupt_policy(chosen["interrupt"]),
        group_policy=group_policy(chosen["group"]),
        scale=scale,
        sources=sources,
        responder=responder_kind(chosen["responder"]),
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
