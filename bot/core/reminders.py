"""The `remind` task kind: at a time the human gave, the bot brings up what they asked to be reminded of."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from bot.core.background import TaskRecord

MAX_AHEAD = 366 * 24 * 3600.0  # a reminder more than a year out is almost surely a misread time


def at_instant(text: str) -> float | None:
    """An ISO 8601 date-time as seconds since the epoch (no zone given: UTC); None if it is not one."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def utc_text(instant: float) -> str:
    """An instant as the model reads it: ISO 8601 in UTC, to the minute."""
    return datetime.fromtimestamp(instant, UTC).strftime("%Y-%m-%dT%H:%MZ")


class RemindKind:
    """remind: {"what": ..., "in_minutes": N} or {"what": ..., "at": ISO 8601}; fires once at that time."""

    name = "remind"
    summary = ('remind: args {"what": text, "in_minutes": number} or {"what": text, "at": ISO 8601 time}: '
               "at that time you are told to remind them")

    def argument_error(self, args: dict[str, Any]) -> str:
        """What is wrong with the arguments, if anything."""
        what = args.get("what")
        if not isinstance(what, str) or not what.strip():
            return "remind needs what, the thing to remind them of"
        if "in_minutes" in args:
            minutes = args["in_minutes"]
            if isinstance(minutes, bool) or not isinstance(minutes, int | float) or not math.isfinite(minutes) \
                    or minutes <= 0 or minutes * 60 > MAX_AHEAD:
                return "in_minutes must be a number of minutes from now, above 0 and within a year"
            return ""
        at = args.get("at")
        if not isinstance(at, str) or at_instant(at) is None:
            return "remind needs in_minutes (a number) or at (an ISO 8601 time such as 2026-12-01T18:00:00+01:00)"
        return ""

    def due(self, args: dict[str, Any], now: float) -> float | None:
        """When the reminder fires (never in the past: a time already gone fires at once)."""
        if "in_minutes" in args:
            return now + float(args["in_minutes"]) * 60
        instant = at_instant(str(args["at"]))
        if instant is None or instant - now > MAX_AHEAD:
            raise ValueError("the time is unreadable or more than a year away")
        return max(now, instant)

    async def run(self, task: TaskRecord) -> str:
        """The reminder itself, as the conversation is told it."""
        asked = utc_text(task.created_at)
        return f"it is time to remind them: {str(task.args['what']).strip()} (they asked at {asked})"
