"""The tunable timing of one chat: persona defaults with per-chat overrides on top."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from policies.numbers import parse_bounded

# (low, high, unit phrase) for each field an admin may set; messages name the field the way people do.
LIMITS: dict[str, tuple[float, float, str]] = {
    "debounce": (0.0, 120.0, "debounce must be between 0 and 120 seconds"),
    "max_wait": (1.0, 600.0, "max_wait must be between 1 and 600 seconds"),
    "wpm": (5.0, 400.0, "words per minute must be between 5 and 400"),
    "read_delay": (0.0, 30.0, "read_delay must be between 0 and 30 seconds per 100 characters"),
    "part_pause": (0.0, 30.0, "part_pause must be between 0 and 30 seconds"),
    "max_parts": (1.0, 12.0, "max_parts must be a whole number between 1 and 12"),
}


@dataclass(frozen=True, slots=True)
class Timing:
    """How long to wait for a burst to end and how fast to 'type' the reply."""

    debounce: float = 3.0
    max_wait: float = 45.0
    wpm: float = 60.0
    read_delay: float = 0.6
    part_pause: float = 0.8
    max_parts: int = 4

    def with_overrides(self, overrides: dict[str, Any]) -> Timing:
        """This timing with valid overrides applied (unknown fields are ignored)."""
        known = {f.name for f in fields(self)}
        clean: dict[str, Any] = {
            k: (int(v) if k == "max_parts" else float(v)) for k, v in overrides.items() if k in known
        }
        return replace(self, **clean)


def parse_timing_value(field: str, raw: str) -> float | int:
    """Validate an admin's value for `field`; raise ValueError with a message a person can act on."""
    if field not in LIMITS:
        raise ValueError(f"unknown field {field!r}; fields: {', '.join(LIMITS)}")
    low, high, message = LIMITS[field]
    whole = field == "max_parts"
    value = parse_bounded(raw, low, high, message, whole=whole)
    return int(value) if whole else value
