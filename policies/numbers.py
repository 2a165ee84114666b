"""Numbers typed by people (admin commands, settings): finite, in range, written with the digits 0-9."""

from __future__ import annotations

import math
import re

# Python's float() also reads "nan", "inf", "1_000" and any script's digits ("١٠٠", "５"); an admin
# value is shown back and stored, so only what reads the same everywhere is accepted.
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)
DIGITS_HINT = " (write numbers with the digits 0-9)"


def parse_bounded(raw: str, low: float, high: float, message: str, *, whole: bool = False) -> float:
    """`raw` as a number from `low` to `high` (a whole one if `whole`); else ValueError(`message`)."""
    text = raw.strip()
    if not _PLAIN_NUMBER.fullmatch(text):
        foreign_digits = any(ch.isdigit() and not ch.isascii() for ch in text)
        raise ValueError(message + (DIGITS_HINT if foreign_digits else ""))
    value = float(text)  # a plain decimal can still overflow to inf ("1e309")
    if not (math.isfinite(value) and low <= value <= high) or (whole and not value.is_integer()):
        raise ValueError(message)
    return value
