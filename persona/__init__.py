"""Personas: who the bot is, how it types, and which policies it uses by default (TOML files here)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from policies.timing import Timing


@dataclass(frozen=True, slots=True)
class TypingProfile:
    """How a persona types: speed and its jitter, reading speed, and caps on every delay."""

    jitter: float = 0.25
    min_typing: float = 0.6
    max_typing: float = 12.0
    max_read: float = 6.0
    max_pause: float = 4.0
    max_part_chars: int = 300


@dataclass(frozen=True, slots=True)
class PolicyDefaults:
    """The policies a persona uses unless a chat overrides them."""

    turn: str = "adaptive"
    turn_with_typing: str = "typing"
    interrupt: str = "revise"
    group: str = "mention"
    responder: str = "stream"


@dataclass(frozen=True, slots=True)
class Persona:
    """A character the bot plays: prompt, typing profile, timing and canned lines."""

    name: str
    description: str
    style: str
    typing: TypingProfile = field(default_factory=TypingProfile)
    timing: Timing = field(default_factory=Timing)
    policies: PolicyDefaults = field(default_factory=PolicyDefaults)
    lines: dict[str, str] = field(default_factory=dict)

    def line(self, what: str) -> str:
        """A canned line in this persona's voice (start, help, llm_down, late, reset)."""
        return self.lines.get(what, _FALLBACK_LINES.get(what, ""))


_FALLBACK_LINES = {
    "start": "hey! just text me like you would a friend",
    "help": "text me in as many messages as you like, I'll wait till you're done",
    "llm_down": "sorry, my phone's acting up, give me a minute",
    "late": "sorry, only just saw this!",
    "reset": "ok, fresh start",
}


def available_personas() -> list[str]:
    """Names of the personas shipped in this package."""
    return sorted(
        p.name.removesuffix(".toml") for p in resources.files(__package__).iterdir() if p.name.endswith(".toml")
    )


def persona_from_dict(data: dict[str, Any]) -> Persona:
    """Build a persona from parsed TOML."""
    return Persona(
        name=data["name"],
        description=data.get("description", ""),
        style=data["style"].strip(),
        typing=TypingProfile(**data.get("typing", {})),
        timing=Timing().with_overrides(data.get("timing", {})),
        policies=PolicyDefaults(**data.get("policies", {})),
        lines={k: str(v) for k, v in data.get("lines", {}).items()},
    )


@lru_cache(maxsize=32)
def load_persona(name: str) -> Persona:
    """Load the shipped persona called `name`; raise ValueError naming the choices otherwise."""
    if name not in available_personas():
        raise ValueError(f"unknown persona {name!r}; choose from {', '.join(available_personas())}")
    text = resources.files(__package__).joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return persona_from_dict(tomllib.loads(text))
