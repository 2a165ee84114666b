"""What one socket may send: frames read defensively, and a rate on the app's clock."""

from __future__ import annotations

import json
from typing import Any

from bot.core.clock import Clock

Json = dict[str, Any]
MAX_FRAME_CHARS = 64 * 1024  # a 4,096-character message written as \uXXXX escapes fits with room to spare
MESSAGES_PER_SECOND = 5.0
BURST = 20  # a person pasting a few lines or a page resending what it typed offline stays under this


class UnreadableFrame(ValueError):
    """What a tab sent is not one of the page's messages; the message says why."""


def read_frame(raw: str) -> Json:
    """The JSON object a tab sent; UnreadableFrame if it is too long, not JSON, too deep or not an object."""
    if len(raw) > MAX_FRAME_CHARS:
        raise UnreadableFrame(f"the page sent {len(raw):,} characters at once; the most is {MAX_FRAME_CHARS:,}")
    try:
        message = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
        raise UnreadableFrame("the page sent something unreadable") from None
    if not isinstance(message, dict):
        raise UnreadableFrame("the page sent something unreadable")
    return message


class SendRate:
    """A token bucket: `burst` messages at once, then `per_second` more each second."""

    def __init__(self, clock: Clock, per_second: float = MESSAGES_PER_SECOND, burst: int = BURST) -> None:
        self.clock = clock
        self.per_second = per_second
        self.burst = burst
        self._tokens = float(burst)
        self._at = clock.now()

    def take(self) -> bool:
        """Whether one more message may go now (and count it if so)."""
        now = self.clock.now()
        self._tokens = min(float(self.burst), self._tokens + max(0.0, now - self._at) * self.per_second)
        self._at = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True

    def refusal(self) -> str:
        """What a tab over its rate is told."""
        return f"slow down: at most {self.per_second:g} messages a second; this one was not sent"
