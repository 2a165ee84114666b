"""Two bots text each other without turns (seed 001): each one's sends are the other's human messages."""

from __future__ import annotations

from bot.duet.outlet import DuetOutlet, DuetSend
from bot.duet.run import Duet, DuetLine, DuetResult, format_line

__all__ = ["Duet", "DuetLine", "DuetOutlet", "DuetResult", "DuetSend", "format_line"]
