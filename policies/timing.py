"""The tunable timing of one chat: persona defaults with per-chat overrides on top."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from policies.numbers import parse_bounded


@dataclass(frozen=True, slots=True)
class TimingField:
    """One timing value an admin may set: its range, how people say it, and how a page labels it."""

    name: str
    low: float
    high: float
    message: str  # names the field the way people do
    unit: str
    help: str
    whole: bool = False
    step: float = 0.1  # the smallest change worth a click on a page's input


TIMING_FIELDS: tuple[TimingField, ...] = (
    TimingField("debounce", 0.0, 120.0, "debounce must be between 0 and 120 seconds",
                "s", "quiet time the fixed/adaptive policies wait for"),
    TimingField("max_wait", 1.0, 600.0, "max_wait must be between 1 and 600 seconds",
                "s", "never wait longer than this after your last message"),
    TimingField("wpm", 5.0, 400.0, "words per minute must be between 5 and 400", "wpm", "how fast the bot types",
                step=1.0),
    TimingField("read_delay", 0.0, 30.0, "read_delay must be between 0 and 30 seconds per 100 characters",
                "s/100 chars", "reading time before it starts typing"),
    TimingField("part_pause", 0.0, 30.0, "part_pause must be between 0 and 30 seconds",
                "s", "pause between two parts"),
    TimingField("max_parts", 1.0, 12.0, "max_parts must be a whole number between 1 and 12",
                "parts", "most messages in one reply", whole=True, step=1.0),
    TimingField("judge_timeout", 0.1, 30.0, "judge_timeout must be between 0.1 and 30 seconds",
                "s", "how long the judge policies wait for the fast model before using their rule"),
    TimingField("group_cooldown", 0.0, 86400.0, "group_cooldown must be between 0 and 86400 seconds",
                "s", "group judge: quiet time after joining in unasked", step=1.0),
    TimingField("group_max_per_hour", 0.0, 60.0, "group_max_per_hour must be a whole number between 0 and 60",
                "replies", "group judge: most unasked replies in a group per hour", whole=True, step=1.0),
    TimingField("silence_tick", 0.1, 5.0, "silence_tick must be between 0.1 and 5 seconds",
                "s", "duplex: seconds of quiet each silence token stands for"),
    TimingField("duplex_max_calls", 0.0, 20.0, "duplex_max_calls must be a whole number between 0 and 20",
                "requests", "duplex: most fast-model requests per turn", whole=True, step=1.0),
)
TIMING_FIELD_NAMES = tuple(f.name for f in TIMING_FIELDS)
_BY_NAME = {f.name: f for f in TIMING_FIELDS}
_WHOLE = frozenset(f.name for f in TIMING_FIELDS if f.whole)


@dataclass(frozen=True, slots=True)
class Timing:
    """How long to wait for a burst to end and how fast to 'type' the reply."""

    debounce: float = 3.0
    max_wait: float = 45.0
    wpm: float = 60.0
    read_delay: float = 0.6
    part_pause: float = 0.8
    max_parts: int = 4
    judge_timeout: float = 2.0
    group_cooldown: float = 600.0
    group_max_per_hour: int = 4
    silence_tick: float = 0.5
    duplex_max_calls: int = 4

    def with_overrides(self, overrides: dict[str, Any]) -> Timing:
        """This timing with valid overrides applied (unknown fields are ignored)."""
        known = {f.name for f in fields(self)}
        clean: dict[str, Any] = {
            k: (int(v) if k in _WHOLE else float(v)) for k, v in overrides.items() if k in known
        }
        return replace(self, **clean)


def parse_timing_value(field: str, raw: str) -> float | int:
    """Validate an admin's value for `field`; raise ValueError with a message a person can act on."""
    spec = _BY_NAME.get(field)
    if spec is None:
        raise ValueError(f"unknown field {field!r}; fields: {', '.join(TIMING_FIELD_NAMES)}")
    value = parse_bounded(raw, spec.low, spec.high, spec.message, whole=spec.whole)
    return int(value) if spec.whole else value
