"""Events as JSON for the hand-over queue, and back."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any, Final

from bot.core.events import (
    Author,
    Command,
    ConversationKey,
    Event,
    HumanDelete,
    HumanEdit,
    HumanMessage,
    HumanTyping,
    Nudge,
    TaskResult,
)

KINDS: Final[dict[str, type[Any]]] = {cls.__name__: cls for cls in (
    HumanMessage, HumanEdit, HumanDelete, HumanTyping, Command, Nudge, TaskResult)}


def dump(event: Event) -> dict[str, Any]:
    """A JSON-ready dict naming the event's kind."""
    return {"kind": type(event).__name__, **asdict(event)}


def load(payload: dict[str, Any]) -> Event:
    """The event a payload holds. Raises ValueError for a kind this version does not know."""
    kind = payload.get("kind")
    cls = KINDS.get(str(kind))
    if cls is None:
        raise ValueError(f"unknown hand-over kind {kind!r}")
    values: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in payload:
            continue
        value = payload[f.name]
        if f.name == "key":
            value = ConversationKey(**value)
        elif f.name == "author":
            value = Author(**value)
        elif isinstance(value, list):
            value = tuple(value)
        values[f.name] = value
    event: Event = cls(**values)
    return event
