"""Between stored rows and the core's values: history lines, unanswered messages, rhythms."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from bot.core.events import Author, ConversationKey, HumanMessage
from bot.core.ports import Line
from bot.storage.models import HUMAN, Message
from policies.view import Rhythm


def rhythm_to_json(rhythm: Rhythm) -> dict[str, Any]:
    """A rhythm's fields as JSON (whatever fields the policy keeps)."""
    return dataclasses.asdict(rhythm)


def rhythm_from_json(data: dict[str, Any]) -> Rhythm:
    """Back from JSON: lists become tuples; unknown keys are dropped and missing ones take their defaults."""
    known = {f.name for f in dataclasses.fields(Rhythm)}
    fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known}
    return Rhythm(**fields)


def history_line(m: Message) -> Line:
    """A delivered message as the prompt sees it (a bot part at the instant it was sent)."""
    if m.direction == HUMAN:
        return Line("human", m.text, m.created_at, m.author_name)
    return Line("bot", m.text, m.sent_at if m.sent_at is not None else m.created_at)


def human_message(key: ConversationKey, m: Message) -> HumanMessage:
    """A stored human message back as the event it came in as."""
    return HumanMessage(key, m.platform_id or "", Author(m.author_id, m.author_name), m.text,
                        tuple(_strings(m.attachments)), is_group=m.is_group, addressed=m.addressed, at=m.created_at)


def _strings(values: Sequence[Any]) -> list[str]:
    return [str(v) for v in values]
