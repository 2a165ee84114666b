"""A store that keeps everything in process memory: for `textbot chat`, tests and benches."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from bot.core.events import ConversationKey, HumanMessage
from bot.core.ports import HISTORY_LIMIT, CutShortReply, Line, StoredConversation, TraceEvent
from policies.view import Rhythm

Delay = Callable[[], Awaitable[None]]

PLANNED, SENT, UNCONFIRMED = "planned", "sent", "unconfirmed"
CANCELLED, UNSENT = "cancelled", "unsent"
COMMAND = "command"


@dataclass(slots=True)
class _Part:
    """A bot message on its way out (or, in the newest reply, what became of it)."""

    part_id: str
    text: str
    kind: str
    state: str = PLANNED


@dataclass(slots=True)
class _Reply:
    """The newest reply session of a conversation, while it runs, and the parts it planned."""

    reply_id: str
    covers: tuple[str, ...]
    parts: list[_Part] = field(default_factory=list)

    def cut_short(self) -> CutShortReply | None:
        """What it delivered (or may have delivered), if anything: it has not ended, or it would be gone."""
        said = tuple(p.text for p in self.parts if p.state in (SENT, UNCONFIRMED) and p.kind != COMMAND)
        return CutShortReply(self.reply_id, said, self.covers) if said else None


@dataclass
class _Record:
    seen: set[str] = field(default_factory=set)  # every human message id stored here (a redelivery is no news)
    humans: dict[str, tuple[HumanMessage, float]] = field(default_factory=dict)  # unanswered, stored at, in order
    planned: dict[str, _Part] = field(default_factory=dict)
    sent: dict[str, Line] = field(default_factory=dict)  # sent parts' history lines, while in the history
    reply: _Reply | None = None
    history: list[Line] = field(default_factory=list)
    overrides: dict[str, Any] = field(default_factory=dict)
    rhythms: dict[str, Rhythm] = field(default_factory=dict)
    trace: list[TraceEvent] = field(default_factory=list)


class MemoryStore:
    """The Store port in memory; history of answered messages and sent parts kept in order.

    `delay`, when set, is awaited at the start of every write, so a test on a virtual clock can make the
    store slow and see what else happens meanwhile; without it no write ever yields to the loop.
    """

    def __init__(self, delay: Delay | None = None) -> None:
        self._records: dict[ConversationKey, _Record] = {}
        self.delay = delay

    def _rec(self, key: ConversationKey) -> _Record:
        return self._records.setdefault(key, _Record())

    async def save_human(self, msg: HumanMessage, at: float) -> bool:
        """Keep the message as unanswered; False if this id was seen before (answered or not)."""
        if self.delay is not None:
            await self.delay()
        rec = self._rec(msg.key)
        if msg.message_id in rec.seen:
            return False
        rec.seen.add(msg.message_id)
        rec.humans[msg.message_id] = (msg if msg.at == at else replace(msg, at=at), at)
        return True

    async def edit_human(self, key: ConversationKey, message_id: str, text: str | None) -> None:
        """Replace or drop an unanswered message's text."""
        if self.delay is not None:
            await self.delay()
        rec = self._rec(key)
        if message_id not in rec.humans:
            return
        if text is None:
            del rec.humans[message_id]
            return
        msg, at = rec.humans[message_id]
        rec.humans[message_id] = (replace(msg, text=text), at)

    async def mark_answered(self, key: ConversationKey, message_ids: list[str]) -> None:
        """Move these messages into history, in the order given."""
        if self.delay is not None:
            await self.delay()
        rec = self._rec(key)
        for mid in message_ids:
            if mid in rec.humans:
                msg, at = rec.humans.pop(mid)
                rec.history.append(Line("human", msg.text, at, msg.author.name))
        del rec.history[:-HISTORY_LIMIT]

    async def plan_part(
        self, key: ConversationKey, part_id: str, text: str, at: float, kind: str = "reply", reply_id: str = ""
    ) -> None:
        """Remember the part as planned (and as one of its reply's)."""
        if self.delay is not None:
            await self.delay()
        rec = self._rec(key)
        part = _Part(part_id, text, kind)
        rec.planned[part_id] = part
        if reply_id and rec.reply is not None and rec.reply.reply_id == reply_id:
            rec.reply.parts.append(part)

    async def part_sent(self, key: ConversationKey, part_id: str, platform_id: str, at: float) -> None:
        """The part was delivered: it joins history, unless it answered a command."""
        if self.delay is not None:
            await self.delay()
        rec = self._rec(key)
        part = rec.planned.pop(part_id, None)
        if part is None:
            return
        part.state = SENT
        if part.kind == COMMAND:
            return
        rec.sent[part_id] = line = Line("bot", part.text, at)
        rec.history.append(line)
        del rec.history[:-HISTORY_LIMIT]
        if len(rec.sent) > HISTORY_LIMIT:  # the oldest has left the history: it can no longer change
            del rec.sent[next(iter(rec.sent))]

    async def part_cancelled(self, key: ConversationKey, part_id: str, reason: str) -> None:
        """The part was never said."""
        if self.delay is not None:
            await self.delay()
        part = self._rec(key).planned.pop(part_id, None)
        if part is not None:
            part.state = CANCELLED

    async def part_edited(self, key: ConversationKey, part_id: str, text: str, at: float) -> None:
        """A sent part now reads `text`, in place in the history."""
        if self.delay is not None:
            await self.delay()
        rec = self._rec(key)
        line = rec.sent.get(part_id)
        if line is None:
            return
        rec.sent[part_id] = edited = replace(line, text=text)
        _swap(rec.history, line, edited)
        for part in _sent_in(rec.reply, part_id):
            part.text = text

    async def part_unsent(self, key: ConversationKey, part_id: str, at: float) -> None:
        """A sent part was taken back: it leaves the history."""
        if self.delay is not None:
            await self.delay()
        rec = self._rec(key)
        line = rec.sent.pop(part_id, None)
        if line is None:
            return
        _swap(rec.history, line, None)
        for part in _sent_in(rec.reply, part_id):
            part.state = UNSENT

    async def reply_started(self, key: ConversationKey, reply_id: str, covers: list[str], at: float) -> None:
        """A reply session began: it is now the conversation's newest."""
        if self.delay is not None:
            await self.delay()
        self._rec(key).reply = _Reply(reply_id, tuple(covers))

    async def reply_ended(self, key: ConversationKey, reply_id: str, at: float) -> None:
        """A reply session ended: nothing of it is left to finish."""
        if self.delay is not None:
            await self.delay()
        rec = self._rec(key)
        if rec.reply is not None and rec.reply.reply_id == reply_id:
            rec.reply = None  # nothing of it is left to finish, so nothing of it is worth keeping

    async def load(self, key: ConversationKey) -> StoredConversation:
        """Everything kept for this conversation."""
        rec = self._records.get(key)
        if rec is None:
            return StoredConversation()
        return StoredConversation(
            history=list(rec.history),
            pending=[msg for msg, _ in rec.humans.values()],
            overrides=dict(rec.overrides),
            rhythms=dict(rec.rhythms),
            cut_short=rec.reply.cut_short() if rec.reply is not None else None,
        )

    async def recover(self) -> list[ConversationKey]:
        """A simulated restart, as SqlStore.recover: planned parts become unconfirmed; returns the chats to wake."""
        woken = []
        for key, rec in self._records.items():
            for part in rec.planned.values():
                part.state = UNCONFIRMED
            rec.planned.clear()
            if rec.humans or (rec.reply is not None and rec.reply.cut_short() is not None):
                woken.append(key)
        return woken

    async def forget(self, key: ConversationKey) -> None:
        """Drop the conversation's history, messages and replies (settings stay)."""
        if self.delay is not None:
            await self.delay()
        rec = self._records.get(key)
        if rec is not None:
            self._records[key] = _Record(overrides=rec.overrides)

    async def save_overrides(self, key: ConversationKey, overrides: dict[str, Any]) -> None:
        """Keep the chat's overrides."""
        if self.delay is not None:
            await self.delay()
        self._rec(key).overrides = dict(overrides)

    async def save_rhythm(self, key: ConversationKey, author: str, rhythm: Rhythm) -> None:
        """Keep one person's rhythm."""
        if self.delay is not None:
            await self.delay()
        self._rec(key).rhythms[author] = rhythm

    async def record_trace(self, key: ConversationKey, events: list[TraceEvent]) -> None:
        """Append timeline events."""
        if self.delay is not None:
            await self.delay()
        self._rec(key).trace.extend(events)

    async def load_trace(self, key: ConversationKey, since: float = 0.0) -> list[TraceEvent]:
        """Timeline events from `since` on."""
        rec = self._records.get(key)
        return [e for e in rec.trace if e.at >= since] if rec else []


def _sent_in(reply: _Reply | None, part_id: str) -> list[_Part]:
    """The newest reply's sent part with this id, if it is one of them."""
    return [p for p in reply.parts if p.part_id == part_id and p.state == SENT] if reply is not None else []


def _swap(history: list[Line], line: Line, new: Line | None) -> None:
    """Replace (or, with None, remove) this very line, newest first; gone already if it left the window."""
    for i in range(len(history) - 1, -1, -1):
        if history[i] is line:
            if new is None:
                del history[i]
            else:
                history[i] = new
            return
