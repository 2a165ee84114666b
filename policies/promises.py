"""Did the bot promise to come back? ("let me know how it goes", "talk tmrw"): a pure text rule."""

from __future__ import annotations

import re

_TOPIC = r"(?P<topic>[^.!?\n]{1,60}?)"
_TOMORROW = r"(?:tomorrow|tmrw|tmr)"
_YOU = r"(?:you|u)"
_PROMISES = [
    re.compile(rf"\b(?:let me know|lmk|tell me|keep me posted on) how {_TOPIC} (?:goes|went|turns out)\b", re.I),
    re.compile(rf"\bgood luck (?:with|on|at|for) (?P<topic>[\w' ]{{1,60}}?)(?:\s+{_TOMORROW})?\s*(?:[^\w\s]|$)", re.I),
    re.compile(rf"\b(?:talk|speak|chat|text)(?: to {_YOU}| with {_YOU})? (?:again )?{_TOMORROW}\b", re.I),
    re.compile(rf"\b(?:catch up|check in|ttyl|see {_YOU})(?: again)? {_TOMORROW}\b", re.I),
    re.compile(rf"\bi'?ll (?:check in|ask {_YOU}|follow up)(?: (?:about|on) {_TOPIC})? {_TOMORROW}\b", re.I),
]


def detect_follow_up(text: str) -> str | None:
    """The bot promised to come back: the topic ("" if none named); None when it promised nothing."""
    for pattern in _PROMISES:
        match = pattern.search(text)
        if match:
            return (match.groupdict().get("topic") or "").strip(" ,")
    return None
