"""Chat-log records for the benchmark: messages, conversations, turns, and a JSONL loader."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

MIN_STRETCH_TURNS = 2  # turns each person needs in a two-person stretch of a group log


@dataclass(frozen=True)
class LogMessage:
    """One logged chat message; `ts` is in seconds (any epoch, only differences matter)."""

    conv: str
    author: str
    ts: float
    text: str


@dataclass(frozen=True)
class LogConversation:
    """One conversation: its messages sorted by time, empty texts dropped."""

    conv_id: str
    messages: list[LogMessage]

    @property
    def authors(self) -> list[str]:
        """Distinct authors in order of first appearance."""
        return list(dict.fromkeys(m.author for m in self.messages))

    def turns(self) -> list[list[LogMessage]]:
        """Consecutive messages of one author grouped into turns."""
        return group_turns(self.messages)


def group_turns(messages: Sequence[LogMessage]) -> list[list[LogMessage]]:
    """Group consecutive messages of one author; a turn ends when another author speaks."""
    turns: list[list[LogMessage]] = []
    for m in messages:
        if turns and turns[-1][-1].author == m.author:
            turns[-1].append(m)
        else:
            turns.append([m])
    return turns


def build_conversations(messages: Iterable[LogMessage]) -> list[LogConversation]:
    """Group messages by conversation (first-seen order), sort stably by time, drop empty texts."""
    by_conv: dict[str, list[LogMessage]] = {}
    for m in messages:
        if m.text.strip():
            by_conv.setdefault(m.conv, []).append(m)
    return [
        LogConversation(conv_id=cid, messages=sorted(msgs, key=lambda m: m.ts))
        for cid, msgs in by_conv.items()
    ]


def load_jsonl(path: str | Path) -> list[LogConversation]:
    """Read lines `{"conv": str, "author": str, "ts": float seconds, "text": str}`."""
    messages: list[LogMessage] = []
    with Path(path).open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                messages.append(
                    LogMessage(
                        conv=str(row["conv"]),
                        author=str(row["author"]),
                        ts=float(row["ts"]),
                        text=str(row["text"]),
                    )
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{lineno}: bad log line: {exc}") from exc
    return build_conversations(messages)


def scale_time(conv: LogConversation, factor: float) -> LogConversation:
    """The same conversation with every gap multiplied by `factor` (times measured from its first message)."""
    if factor <= 0:
        raise ValueError("the time scale must be positive")
    start = conv.messages[0].ts if conv.messages else 0.0
    return LogConversation(conv.conv_id, [replace(m, ts=start + (m.ts - start) * factor) for m in conv.messages])


def shift_time(conv: LogConversation, offset: float) -> LogConversation:
    """The same conversation with `offset` seconds added to every timestamp."""
    return LogConversation(conv.conv_id, [replace(m, ts=m.ts + offset) for m in conv.messages])


def two_person_stretches(conv: LogConversation, min_turns: int = MIN_STRETCH_TURNS) -> list[LogConversation]:
    """Cut a conversation into stretches where only two people write; a third voice ends a stretch.

    A stretch is kept when both of its people have at least `min_turns` turns in it, so that
    each side has something to replay. A two-person conversation is returned as it is.
    """
    if len(conv.authors) <= 2:
        return [conv]
    pieces: list[list[LogMessage]] = [[]]
    for m in conv.messages:
        people = {x.author for x in pieces[-1]} | {m.author}
        if len(people) > 2:
            pieces.append([])
        pieces[-1].append(m)
    out: list[LogConversation] = []
    for piece in pieces:
        stretch = LogConversation(f"{conv.conv_id}#{len(out) + 1}", piece)
        starts = [t[0].author for t in stretch.turns()]
        if len(stretch.authors) == 2 and all(starts.count(a) >= min_turns for a in stretch.authors):
            out.append(stretch)
    return out
