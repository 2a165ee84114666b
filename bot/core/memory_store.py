"""A store that keeps everything in process memory: for `textbot chat`, tests and benches."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.core.events import ConversationKey, HumanMessage
from bot.core.ports import HISTORY_LIMIT, Line, StoredConversation, TraceEvent
from policies.view import Rhythm


@dataclass
class _Record:
    humans: dict[str, tuple[HumanMessage, float]] = field(default_factory=dict)
    unanswered: list[str] = field(default_factory=list)
    parts: dict[str, tuple[str, float, str]] = field(default_factory=dict)  # id -> text, at, state
    history: list[Line] = field(default_factory=list)
    overrides: dict[str, Any] = field(default_factory=dict)
    rhythms: dict[str, Rhythm] = field(default_factory=dict)
    trace: list[TraceEvent] = field(default_factory=list)


class MemoryStore:
    """The Store port in memory; history of answered messages and sent parts kept in order."""

    def __init__(self) -> None:
        self._records: dict[ConversationKey, _Record] = {}

    def _rec(self, key: ConversationKey) -> _Record:
        return self._records.setdefault(key, _Record())

    async def save_human(self, msg: HumanMessage, at: float) -> bool:
        """Keep the message as unanswered; False if this id was seen before."""
        rec = self._rec(msg.key)
        if msg.message_id in rec.humans:
            return False
        rec.humans[msg.message_id] = (msg, at)
        rec.unanswered.append(msg.message_id)
        return True

    async def edit_human(self, key: ConversationKey, message_id: str, text: str | None) -> None:
        """Replace or drop an unanswered message's text."""
        rec = self._rec(key)
        if message_id not in rec.humans:
            return
        msg, at = rec.humans[message_id]
        if text is None:
            del rec.humans[message_id]
            if message_id in rec.unanswered:
                rec.unanswered.remove(message_id)
            return
        from dataclasses import replace

        rec.humans[message_id] = (replace(msg, text=text), at)

    async def mark_answered(self, key: ConversationKey, message_ids: list[str]) -> None:
        """Move these messages into history, in arrival order."""
        rec = self._rec(key)
        for mid in message_ids:
            if mid in rec.unanswered:
                rec.unanswered.remove(mid)
                msg, at = rec.humans.pop(mid)
                rec.history.append(Line("human", msg.text, at, msg.author.name))
        del rec.history[:-HISTORY_LIMIT]

    async def plan_part(self, key: ConversationKey, part_id: str, text: str, at: float) -> None:
        """Remember the part as planned."""
        self._rec(key).parts[part_id] = (text, at, "planned")

    async def part_sent(self, key: ConversationKey, part_id: str, platform_id: str, at: float) -> None:
        """The part was delivered: it joins history."""
        rec = self._rec(key)
        text, _, _ = rec.parts.pop(part_id)
        rec.history.append(Line("bot", text, at))
        del rec.history[:-HISTORY_LIMIT]

    async def part_cancelled(self, key: ConversationKey, part_id: str, reason: str) -> None:
        """The part was never said."""
        self._rec(key).parts.pop(part_id, None)

    async def load(self, key: ConversationKey) -> StoredConversation:
        """Everything kept for this conversation."""
        rec = self._records.get(key)
        if rec is None:
            return StoredConversation()
        return StoredConversation(
            history=list(rec.history),
            pending=[rec.humans[m][0] for m in rec.unanswered],
            overrides=dict(rec.overrides),
            rhythms=dict(rec.rhythms),
        )

    async def forget(self, key: ConversationKey) -> None:
        """Drop the conversation's history and messages (settings stay)."""
        rec = self._records.get(key)
        if rec is not None:
            self._records[key] = _Record(overrides=rec.overrides)

    async def save_overrides(self, key: ConversationKey, overrides: dict[str, Any]) -> None:
        """Keep the chat's overrides."""
        self._rec(key).overrides = dict(overrides)

    async def save_rhythm(self, key: ConversationKey, author: str, rhythm: Rhythm) -> None:
        """Keep one person's rhythm."""
        self._rec(key).rhythms[author] = rhythm

    async def record_trace(self, key: ConversationKey, events: list[TraceEvent]) -> None:
        """Append timeline events."""
        self._rec(key).trace.extend(events)

    async def load_trace(self, key: ConversationKey, since: float = 0.0) -> list[TraceEvent]:
        """Timeline events from `since` on."""
        rec = self._records.get(key)
        return [e for e in rec.trace if e.at >= since] if rec else []
