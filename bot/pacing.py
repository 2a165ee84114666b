"""Turns text into human-like durations: reading, typing with jitter, pauses between parts."""

from __future__ import annotations

import random
from dataclasses import dataclass

from persona import TypingProfile
from policies.timing import Timing

CHARS_PER_WORD = 5.0


@dataclass
class Pacing:
    """A persona's typing profile and a chat's timing, scaled by TIMING_SCALE."""

    profile: TypingProfile
    timing: Timing
    scale: float = 1.0
    rng: random.Random | None = None

    def _jitter(self) -> float:
        rng = self.rng or random
        return max(0.3, rng.gauss(1.0, self.profile.jitter))

    def read_delay(self, chars_read: int) -> float:
        """Seconds to read `chars_read` characters before starting to type."""
        raw = self.timing.read_delay * chars_read / 100.0 * self._jitter()
        return min(raw, self.profile.max_read) * self.scale

    def typing_time(self, text: str) -> float:
        """Seconds to type `text` at the persona's words per minute, with jitter and caps."""
        words = max(1.0, len(text) / CHARS_PER_WORD)
        raw = words / self.timing.wpm * 60.0 * self._jitter()
        return min(max(raw, self.profile.min_typing), self.profile.max_typing) * self.scale

    def part_pause(self) -> float:
        """Seconds between sending one part and starting to type the next."""
        raw = self.timing.part_pause * self._jitter()
        return min(raw, self.profile.max_pause) * self.scale
