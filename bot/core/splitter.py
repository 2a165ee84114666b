"""Cuts a streamed reply into text messages: a line each, long lines at sentences, code kept whole."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
FENCE = "```"


def cut_sentences(text: str, max_chars: int) -> list[str]:
    """Split an over-long line at sentence boundaries into pieces of at most `max_chars`."""
    if len(text) <= max_chars:
        return [text]
    pieces: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(text):
        candidate = f"{current} {sentence}".strip()
        if len(candidate) <= max_chars:
            current = candidate
            continue
        if current:
            pieces.append(current)
        current = sentence
        while len(current) > max_chars:
            pieces.append(_cut_words(current, max_chars))
            current = current[len(pieces[-1]) :].lstrip()
    if current:
        pieces.append(current)
    return pieces


def _cut_words(text: str, max_chars: int) -> str:
    """The longest prefix of at most `max_chars` that ends at a word boundary (or a hard cut)."""
    head = text[:max_chars]
    space = head.rfind(" ")
    return head[:space] if space > max_chars // 2 else head


def split_code_block(block: str, limit: int) -> list[str]:
    """A fenced block as one message, or, when over the platform limit, fenced chunks cut between lines."""
    if len(block) <= limit:
        return [block]
    lines = block.split("\n")
    opening, body = lines[0], lines[1:-1]
    budget = limit - len(opening) - len(FENCE) - 2
    chunks: list[str] = []
    current: list[str] = []
    for line in body:
        while len(line) > budget:
            current.append(line[:budget])
            chunks.append("\n".join([opening, *current, FENCE]))
            current, line = [], line[budget:]
        if sum(len(x) + 1 for x in current) + len(line) > budget:
            chunks.append("\n".join([opening, *current, FENCE]))
            current = []
        current.append(line)
    if current:
        chunks.append("\n".join([opening, *current, FENCE]))
    return chunks


@dataclass
class PartCutter:
    """Feed it streamed text; it hands back finished parts as soon as each line completes."""

    max_parts: int
    max_part_chars: int
    limit: int
    emitted: int = 0
    _buffer: str = ""
    _code: list[str] | None = None
    _tail: list[str] = field(default_factory=list)

    def feed(self, delta: str) -> list[str]:
        """Add streamed text; return the parts completed by it."""
        self._buffer += delta
        out: list[str] = []
        while "\n" in self._buffer:
            line, self._buffer = self._buffer.split("\n", 1)
            out.extend(self._line(line))
        return out

    def finish(self) -> list[str]:
        """The stream ended: return whatever is left as final parts."""
        out = self._line(self._buffer) if self._buffer else []
        self._buffer = ""
        if self._code is not None:
            self._code.append(FENCE)
            out.extend(self._emit(split_code_block("\n".join(self._code), self.limit)))
            self._code = None
        if self._tail:
            out.extend(self._flush_tail())
        return out

    def _line(self, line: str) -> list[str]:
        if self._code is not None:
            self._code.append(line)
            if line.strip().startswith(FENCE):
                block, self._code = "\n".join(self._code), None
                return self._emit(split_code_block(block, self.limit))
            return []
        if line.strip().startswith(FENCE):
            self._code = [line.rstrip()]
            return []
        text = line.strip()
        if not text:
            return []
        return self._emit(cut_sentences(text, min(self.max_part_chars, self.limit)))

    def _emit(self, parts: list[str]) -> list[str]:
        out: list[str] = []
        for part in parts:
            if self.emitted < self.max_parts - 1:
                self.emitted += 1
                out.append(part)
            else:
                # The last allowed part gathers everything left, so nothing the model said is lost.
                self._tail.append(part)
        return out

    def _flush_tail(self) -> list[str]:
        joined = "\n".join(self._tail)
        self._tail = []
        pieces = [joined] if len(joined) <= self.limit else cut_sentences(joined.replace("\n", " "), self.limit)
        self.emitted += len(pieces)
        return pieces
