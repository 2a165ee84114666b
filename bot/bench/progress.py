"""A progress bar with an ETA on stderr, for benchmarks that replay for minutes."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

BAR_WIDTH = 28
REDRAW_SECONDS = 0.5  # on a terminal; a log file gets a line every LINE_SECONDS instead
LINE_SECONDS = 30.0


def format_seconds(seconds: float) -> str:
    """`1:05` for 65 s, `1:02:03` past an hour."""
    s = max(0, round(seconds))
    hours, rest = divmod(s, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """Counts finished units of work and redraws `label [####....] done/total  elapsed  ETA` on a stream.

    On a terminal the line is redrawn in place; elsewhere (a CI log) a plain line is written now and then,
    so the output stays readable. Nothing is written to stdout, so tables and JSON are unchanged.
    """

    def __init__(self, total: int, label: str, stream: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total = max(0, total)
        self.label = label
        self.stream = sys.stderr if stream is None else stream
        self.clock = clock
        self.done = 0
        self.started = clock()
        self._drawn_at: float | None = None
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def line(self) -> str:
        """The current progress line (no line ending)."""
        elapsed = self.clock() - self.started
        share = self.done / self.total if self.total else 1.0
        filled = int(share * BAR_WIDTH)
        eta = elapsed * (self.total - self.done) / self.done if self.done else float("nan")
        eta_text = format_seconds(eta) if self.done else "?"
        return (f"{self.label} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {self.done}/{self.total} "
                f"{share:4.0%}  elapsed {format_seconds(elapsed)}  ETA {eta_text}")

    def advance(self, units: int = 1) -> None:
        """Count `units` more finished, and redraw when it is time to."""
        self.done = min(self.total, self.done + units)
        now = self.clock()
        every = REDRAW_SECONDS if self._tty else LINE_SECONDS
        if self._drawn_at is None or now - self._drawn_at >= every or self.done == self.total:
            self._draw(now)

    def close(self) -> None:
        """End the progress line (the next output starts on a fresh line)."""
        if self._drawn_at is not None and self._tty:
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self, now: float) -> None:
        self._drawn_at = now
        self.stream.write(("\r" if self._tty else "") + self.line() + ("" if self._tty else "\n"))
        self.stream.flush()
