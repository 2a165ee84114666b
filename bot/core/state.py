"""One conversation's state, as its actor (its only writer) keeps it: history, unanswered messages, rhythms."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from bot.core.events import ConversationKey, HumanMessage, describe_attachments
from bot.core.ports import HISTORY_LIMIT, Line, ReplyRequest, StoredConversation
from policies.timing import Timing
from policies.turn_split import carries_on
from policies.view import ConversationView, Rhythm, Said

if TYPE_CHECKING:
    from bot.core.config import ChatConfig


@dataclass(frozen=True)
class Pending:
    """An unanswered human message and when it arrived."""

    msg: HumanMessage
    at: float

    @property
    def id(self) -> str:
        """The platform's id for the message."""
        return self.msg.message_id

    def text(self) -> str:
        """The message as the prompt sees it: its text and its attachments in words."""
        note = describe_attachments(self.msg.attachments)
        return f"{self.msg.text} {note}".strip()

    def line(self) -> Line:
        """The message as a history line."""
        return Line("human", self.text(), self.at, self.msg.author.name)

    def said(self) -> Said:
        """The message as the policies see it."""
        return Said(self.text(), self.at, self.msg.author.id)


@dataclass
class ConversationState:
    """Everything one conversation knows; changed only by its actor."""

    history: list[Line] = field(default_factory=list)
    pending: list[Pending] = field(default_factory=list)
    overrides: dict[str, Any] = field(default_factory=dict)
    rhythms: dict[str, Rhythm] = field(default_factory=dict)
    typing_until: float | None = None
    held_until: float | None = None  # a reply session chose to wait until then before answering
    new_since_job: list[Pending] = field(default_factory=list)
    deferred_once: bool = False
    refs: dict[str, Line] = field(default_factory=dict)  # part id → its line in history, to edit or unsend

    @classmethod
    def restored(cls, stored: StoredConversation, now: float) -> ConversationState:
        """The state a conversation had, from the store."""
        return cls(history=list(stored.history), pending=[Pending(m, m.at or now) for m in stored.pending],
                   overrides=dict(stored.overrides), rhythms=dict(stored.rhythms))

    def typing_hold(self, now: float, held_since: float | None, max_wait: float) -> float | None:
        """While the human types, when to look again; None once they stopped or held a reply's parts back
        for `max_wait` since the first hold."""
        start = now if held_since is None else held_since
        if (self.typing_until or 0.0) <= now or now - start >= max_wait:
            return None
        return min(self.typing_until or now, start + max_wait)

    def job_over(self) -> None:
        """A reply ended or was stopped: what came in during it, and any deferral, no longer apply."""
        self.new_since_job = []
        self.deferred_once = False

    def find(self, message_id: str) -> Pending | None:
        """The unanswered message with this id, if any."""
        return next((p for p in self.pending if p.id == message_id), None)

    def drop(self, message_id: str) -> Pending | None:
        """Remove an unanswered message (deleted by the human); return it."""
        found = self.find(message_id)
        if found is not None:
            self.pending.remove(found)
            self.new_since_job = [p for p in self.new_since_job if p is not found]
        return found

    def replace_text(self, message_id: str, text: str) -> Pending | None:
        """Change an unanswered message's text (edited by the human); return the new version."""
        found = self.find(message_id)
        if found is None:
            return None
        edited = Pending(replace(found.msg, text=text), found.at)
        self.pending[self.pending.index(found)] = edited
        return edited

    def take_answered(self, message_ids: list[str] | set[str]) -> list[Pending]:
        """Move these unanswered messages into history; return those that were still unanswered."""
        ids = set(message_ids)
        moved = [p for p in self.pending if p.id in ids]
        self.pending = [p for p in self.pending if p.id not in ids]
        self.remember([p.line() for p in moved])
        return moved

    def remember(self, lines: list[Line], ref: str = "") -> None:
        """Add delivered lines to the history the prompt sees, keeping only the newest (as the store does)."""
        self.history.extend(lines)
        if ref and lines:
            self.refs[ref] = lines[-1]
        del self.history[:-HISTORY_LIMIT]
        if len(self.refs) > HISTORY_LIMIT:
            live = {id(line) for line in self.history}
            self.refs = {k: v for k, v in self.refs.items() if id(v) in live}

    def change_line(self, ref: str, text: str | None) -> None:
        """A delivered part was edited (new text) or taken back (None)."""
        line = self.refs.pop(ref, None)
        index = next((i for i, x in enumerate(self.history) if x is line), None)
        if line is None or index is None:
            return
        if text is None:
            del self.history[index]
        else:
            self.history[index] = replace(line, text=text)
            self.refs[ref] = self.history[index]

    def view(self, timing: Timing, has_typing_signal: bool) -> ConversationView:
        """A read-only view for the policies."""
        pending = self.pending
        author = pending[-1].msg.author.id if pending else ""
        return ConversationView(
            pending=tuple(p.said() for p in pending),
            timing=timing,
            typing_until=self.typing_until,
            has_typing_signal=has_typing_signal,
            is_group=bool(pending) and pending[-1].msg.is_group,
            addressed=any(p.msg.addressed for p in pending),
            rhythm=self.rhythms.get(author, Rhythm()),
            new_since_reply=tuple(p.said() for p in self.new_since_job),
        )

    def observe_turn(self) -> tuple[str, Rhythm]:
        """The bot answers now: the newest author's burst is a finished turn to learn their rhythm from."""
        author = self.pending[-1].msg.author.id
        burst = [p for p in self.pending if p.msg.author.id == author]
        rhythm = self.rhythms.get(author, Rhythm())
        new = rhythm.observe_turn([p.at for p in burst], self._went_on(rhythm, burst[0]))
        self.rhythms[author] = new
        return author, new

    def _went_on(self, rhythm: Rhythm, first: Pending) -> bool:
        """Whether this burst carries on the person's previous turn although the bot's reply showed in between
        (in a direct chat: in a group others write between anyone's messages)."""
        shown = self.shown_between(rhythm, first)
        if shown is None:
            return False
        return carries_on(first.at - rhythm.last_at, first.at - shown, len(first.msg.text), rhythm)

    def shown_between(self, rhythm: Rhythm, first: Pending) -> float | None:
        """When the bot's newest line showed, if after the person's previous message and before `first` (in a
        direct chat): only then can `first` be the rest of a turn the bot talked over."""
        shown = next((line.at for line in reversed(self.history) if line.role == "bot"), None)
        if first.msg.is_group or shown is None or rhythm.messages == 0 or not rhythm.last_at < shown < first.at:
            return None
        return shown

    def reply_request(self, cfg: ChatConfig, limit: int, note: str = "", is_group: bool = False,
                      key: ConversationKey | None = None) -> ReplyRequest:
        """What a responder needs to answer everything unanswered (a `note` adds to the persona's style)."""
        pending = self.pending
        return ReplyRequest(
            system=f"{cfg.persona.style}\n\n{note}" if note else cfg.persona.style,
            history=tuple(self.history),
            unanswered=tuple(p.line() for p in pending),
            max_parts=cfg.timing.max_parts,
            max_part_chars=cfg.persona.typing.max_part_chars,
            limit=limit,
            is_group=pending[-1].msg.is_group if pending else is_group,
            max_wait=cfg.timing.max_wait,
            key=key,
            people=tuple(dict.fromkeys(p.msg.author.id for p in pending if p.msg.author.id)),
            addressed=any(p.msg.addressed for p in pending),
        )

    def quote_target(self) -> str | None:
        """In a group, the reply quotes the message that called the bot, not whatever came last."""
        pending = self.pending
        if not pending or not pending[-1].msg.is_group:
            return None
        return ([p for p in pending if p.msg.addressed] or pending)[-1].id
