"""Cuts a streamed reply into text messages: a line each, long lines at sentences, code kept whole.

A reply is capped: at most `max_parts` messages and `max_parts * limit` characters read from the
stream; the last message gathers whole lines while they fit the persona's part length (the platform's
limit once it holds code). Every step looks at each character a bounded number of times, so a huge
reply without a line break costs no more per character than a short one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
FENCE = "```"


def cut_sentences(text: str, max_chars: int) -> list[str]:
    """Split an over-long line at sentence boundaries into pieces of at most `max_chars`."""
    if len(text) <= max_chars:
        return [text]
    pieces: list[str] = []
    group: list[str] = []
    size = 0
    for sentence in _SENTENCE_END.split(text):
        if not sentence:
            continue
        grown = size + len(sentence) + (1 if group else 0)
        if grown <= max_chars:
            group.append(sentence)
            size = grown
            continue
        if group:
            pieces.append(" ".join(group))
        words = cut_words(sentence, max_chars)
        pieces.extend(words[:-1])
        group, size = [words[-1]], len(words[-1])
    if group:
        pieces.append(" ".join(group))
    return pieces


def cut_words(text: str, max_chars: int) -> list[str]:
    """Pieces of at most `max_chars`, each ending at a word boundary where one is near (else a hard cut)."""
    pieces: list[str] = []
    start, end = 0, len(text)
    while end - start > max_chars:
        stop = start + max_chars
        space = text.rfind(" ", start, stop)  # only this window is searched: linear in the whole text
        cut = space if space - start > max_chars // 2 else stop
        pieces.append(text[start:cut])
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if start < end:
        pieces.append(text[start:])
    return pieces or [text]


def split_code_block(block: str, limit: int) -> list[str]:
    """A fenced block as one message, or, when over the platform limit, fenced chunks cut between lines."""
    if len(block) <= limit:
        return [block]
    lines = block.split("\n")
    opening, body = lines[0], lines[1:-1]
    budget = max(1, limit - len(opening) - len(FENCE) - 2)
    chunks: list[str] = []
    current: list[str] = []
    size = 0  # the length of "\n".join(current), kept as lines are added

    def flush() -> None:
        nonlocal current, size
        if current:
            chunks.append("\n".join([opening, *current, FENCE]))
        current, size = [], 0

    for line in body:
        if len(line) > budget:
            flush()
            for start in range(0, len(line), budget):
                current, size = [line[start : start + budget]], min(budget, len(line) - start)
                if start + budget < len(line):
                    flush()
            continue
        if current and size + 1 + len(line) > budget:
            flush()
        size += len(line) + (1 if current else 0)
        current.append(line)
    flush()
    return chunks


def _as_is(line: str) -> str:
    return line


@dataclass
class PartCutter:
    """Feed it streamed text; it hands back finished parts as soon as each line completes.

    `tidy` cleans each line of prose before it is cut (code is left alone). Once `full` is true the
    reply has reached its cap and the rest of the stream is not worth reading.
    """

    max_parts: int
    max_part_chars: int
    limit: int
    tidy: Callable[[str], str] = _as_is
    emitted: int = 0
    read: int = 0  # characters taken from the stream, at most max_chars
    scanned: int = 0  # characters examined for line ends: each once, however the stream is chunked
    _line: list[str] = field(default_factory=list)
    _code: list[str] | None = None
    _tail: list[str] = field(default_factory=list)
    _tail_size: int = 0
    _tail_code: bool = False
    _tail_done: bool = False

    @property
    def max_chars(self) -> int:
        """The most characters one reply may read from the stream."""
        return max(1, self.max_parts) * self.limit

    @property
    def full(self) -> bool:
        """True once nothing more from the stream could be sent."""
        return self.read >= self.max_chars or self._tail_done

    def feed(self, delta: str) -> list[str]:
        """Add streamed text; return the parts completed by it."""
        if self.full:
            return []
        delta = delta[: self.max_chars - self.read]
        self.read += len(delta)
        self.scanned += len(delta)
        *complete, rest = delta.split("\n")
        out: list[str] = []
        for piece in complete:
            self._line.append(piece)
            line, self._line = "".join(self._line), []
            out.extend(self._take_line(line))
        if rest:
            self._line.append(rest)
        return out

    def finish(self) -> list[str]:
        """The stream ended (or the reply is full): return whatever is left as final parts."""
        line, self._line = "".join(self._line), []
        out = self._take_line(line) if line else []
        if self._code is not None:
            self._code.append(FENCE)
            out.extend(self._emit(split_code_block("\n".join(self._code), self.limit)))
            self._code = None
        if self._tail:
            out.append(self._flush_tail())
        return out

    def _take_line(self, line: str) -> list[str]:
        if self._code is not None:
            self._code.append(line)
            if line.strip().startswith(FENCE):
                block, self._code = "\n".join(self._code), None
                return self._emit(split_code_block(block, self.limit))
            return []
        if line.strip().startswith(FENCE):
            self._code = [line.rstrip()]
            return []
        text = self.tidy(line.strip()).strip()
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
                self._gather(part)
        return out

    def _gather(self, part: str) -> None:
        """Add a part to the last message while it fits; the first that does not ends the reply."""
        if self._tail_done:
            return
        code = part.startswith(FENCE)
        cap = self.limit if code or self._tail_code else min(self.max_part_chars, self.limit)
        size = self._tail_size + len(part) + (1 if self._tail else 0)
        if size > cap:
            self._tail_done = True
            return
        self._tail.append(part)
        self._tail_size, self._tail_code = size, self._tail_code or code

    def _flush_tail(self) -> str:
        joined = "\n".join(self._tail)
        self._tail, self._tail_size, self._tail_code = [], 0, False
        self.emitted += 1
        return joined
