"""How the `duplex` turn policy reads on the timeline: each tick the fast model was asked at, its prediction,
and what became of a draft, each a mark on the turn lane."""

from __future__ import annotations

from typing import Any

ASKED = "action"  # a request to the fast model (a small square, as a model step)
DONE = "respond"  # the model says the turn is over and drafts the reply
NOT_DONE = "ignore"  # more text predicted, or no usable answer
DROPPED = "interrupt"  # a draft or request the human's new words made stale


def _ticks(data: dict[str, Any]) -> str:
    ticks = int(data.get("ticks", 0))
    return f"{ticks} silence tick{'s' if ticks != 1 else ''}"


def describe_duplex(kind: str, data: dict[str, Any]) -> tuple[str, str, str]:
    """(mark kind, label, detail) for one `duplex_*` trace event."""
    what = kind.removeprefix("duplex_")
    if what == "ask":
        return ASKED, f"ask at {_ticks(data)}", f"request {data.get('call', '?')} of this turn"
    if what == "prediction":
        if data.get("turn_over"):
            return DONE, "turn over (duplex)", f"draft: \u201c{data.get('assistant', '')}\u201d"
        if data.get("failure"):
            return NOT_DONE, "no prediction (duplex)", str(data["failure"])
        return NOT_DONE, "more coming (duplex)", f"predicted: \u201c{data.get('user', '')}\u201d"
    if what == "draft_sent":
        return DONE, "draft sent (duplex)", f"drafted at {_ticks(data)}: no second request"
    return DROPPED, f"{what.replace('_', ' ')} (duplex)", str(data.get("reason", ""))
