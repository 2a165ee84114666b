"""Which reply session a chat uses: `stream` (one streamed completion cut into parts) or `actions`
(the model drafts, checks and pushes with tools and hears new messages after every step)."""

from __future__ import annotations

RESPONDERS = ("stream", "actions")


def responder_kind(name: str) -> str:
    """The responder kind `name`; ValueError naming the choices when there is no such kind."""
    if name not in RESPONDERS:
        raise ValueError(f"unknown responder {name!r}; choose from {', '.join(RESPONDERS)}")
    return name
