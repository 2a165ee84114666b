"""Turns a conversation's trace into what a timeline draws: spans and marks on lanes, and a time scale."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.core.ports import TraceEvent
from bot.timeline.actions import describe_action
from bot.timeline.duplex import describe_duplex
from bot.timeline.tasks import TASK_LANE, task_bar

# (lane id, label shown at the left), top to bottom.
LANES: tuple[tuple[str, str], ...] = (
    ("human_typing", "you typing"),
    ("human", "you"),
    ("turn", "turn policy"),
    ("llm", "model"),
    TASK_LANE,
    ("bot_typing", "bot typing"),
    ("bot", "bot"),
)
MARK_LANES = frozenset({"human", "bot"})
BUSY_PAD = 0.6  # seconds of context kept around every event when long gaps are squeezed


@dataclass(frozen=True, slots=True)
class Span:
    """Something that lasted: typing, a wait decided by the turn policy, a generation."""

    lane: str
    start: float
    end: float
    kind: str
    label: str = ""
    detail: str = ""
    open: bool = False  # still going when the trace ends


@dataclass(frozen=True, slots=True)
class Mark:
    """Something instant: a message, a decision, a part sent, cancelled, edited or unsent."""

    lane: str
    at: float
    kind: str
    label: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Lanes:
    """Everything a timeline shows, derived from the trace."""

    spans: list[Span]
    marks: list[Mark]
    start: float
    end: float


def _next_at(events: list[TraceEvent], index: int, kinds: frozenset[str]) -> float | None:
    return next((e.at for e in events[index + 1:] if e.kind in kinds), None)


def _clip(end: float, *limits: float | None) -> float:
    return min([end, *(x for x in limits if x is not None)])


def _merge(spans: Iterable[Span]) -> list[Span]:
    out: list[Span] = []
    for span in sorted(spans, key=lambda s: s.start):
        if out and span.start <= out[-1].end:
            last = out[-1]
            out[-1] = Span(last.lane, last.start, max(last.end, span.end), last.kind, last.label)
        else:
            out.append(span)
    return out


_WAIT_ENDERS = frozenset({"decision", "interrupt", "generation_start"})
_TYPING_ENDERS = frozenset({"typing_stop", "typing_start", "part_cancelled", "part_sent", "generation_start"})


def build_lanes(events: list[TraceEvent]) -> Lanes:
    """Spans and marks for every lane, from a conversation's trace (any order)."""
    events = sorted(events, key=lambda e: e.at)
    if not events:
        return Lanes([], [], 0.0, 0.0)
    last = events[-1].at
    spans: list[Span] = []
    typing: list[Span] = []
    marks: list[Mark] = []
    for i, ev in enumerate(events):
        d = ev.data
        if ev.kind == "human_typing":
            until = float(d.get("until") or ev.at)
            typing.append(Span("human_typing", ev.at, _clip(until, _next_at(events, i, frozenset({"human_message"}))),
                               "human_typing", "typing"))
        elif ev.kind == "human_message":
            marks.append(Mark("human", ev.at, "message", str(d.get("text", ""))))
        elif ev.kind == "decision":
            item = _decision(events, i)
            if isinstance(item, Span):
                spans.append(item)
            else:
                marks.append(item)
        elif ev.kind == "interrupt":
            marks.append(_judged(ev, "interrupt"))
        elif ev.kind == "group":  # whether to join a group's talk unasked (the group judge)
            marks.append(_judged(ev, "respond" if d.get("decision") == "respond" else "ignore"))
        elif ev.kind == "generation_start":
            stop = _next_at(events, i, frozenset({"generation_end"}))
            covers = d.get("covers") or []
            spans.append(Span("llm", ev.at, last if stop is None else stop, "generation", "generating",
                              f"answers {len(covers)} message(s)", open=stop is None))
        elif ev.kind == "typing_start":
            stop = _next_at(events, i, _TYPING_ENDERS)
            spans.append(Span("bot_typing", ev.at, last if stop is None else stop, "bot_typing", "typing",
                              open=stop is None))
        elif ev.kind == "part_sent":
            marks.append(Mark("bot", ev.at, "sent", str(d.get("text", ""))))
        elif ev.kind == "part_cancelled":
            _add_cancelled(marks, Mark("bot", ev.at, "cancelled", str(d.get("text", "")), str(d.get("reason", ""))))
        elif ev.kind == "part_edited":
            marks.append(Mark("bot", ev.at, "edited", str(d.get("text", "")), f"was: {d.get('was', '')}"))
        elif ev.kind == "part_unsent":
            marks.append(Mark("bot", ev.at, "unsent", str(d.get("text", "")), "taken back"))
        elif ev.kind == "holding_line":  # the fast model's line while the slow one thinks
            marks.append(Mark("llm", ev.at, "action", "holding line", str(d.get("text", ""))))
        elif ev.kind == "task_start":  # a background task: a bar until it is done
            end, label, detail, still_open = task_bar(events, i, last)
            spans.append(Span(TASK_LANE[0], ev.at, end, "task", label, detail, open=still_open))
        elif ev.kind.startswith("action_"):
            _add_action(marks, Mark("llm", ev.at, *describe_action(ev.kind, d)))
        elif ev.kind.startswith("duplex_"):  # the duplex policy's requests and predictions
            marks.append(Mark("turn", ev.at, *describe_duplex(ev.kind, d)))
    spans.extend(_merge(typing))
    spans.sort(key=lambda s: (s.start, s.lane))
    end = max([last, *(s.end for s in spans)])
    return Lanes(spans, marks, events[0].at, end)


def _add_cancelled(marks: list[Mark], mark: Mark) -> None:
    """Parts dropped together for the same reason become one mark, so the reason is told once."""
    last = marks[-1] if marks else None
    if last is not None and last.kind == "cancelled" and last.detail == mark.detail and mark.at - last.at < 0.05:
        marks[-1] = Mark(last.lane, last.at, last.kind, f"{last.label} · {mark.label}", last.detail)
    else:
        marks.append(mark)


def _add_action(marks: list[Mark], mark: Mark) -> None:
    """Steps of one model answer (the same instant, the same kind) become one mark: append "a" · append "b"."""
    last = next((m for m in reversed(marks) if m.lane == "llm"), None)
    if last is not None and last.kind == mark.kind and mark.at - last.at < 0.05:
        marks.remove(last)
        detail = "; ".join(d for d in (last.detail, mark.detail) if d)
        mark = Mark(last.lane, last.at, last.kind, f"{last.label} · {mark.label}", detail)
    marks.append(mark)


def _judged(ev: TraceEvent, kind: str) -> Mark:
    """A decision, and when the fast model or its rule made it, who did, what was done and why."""
    d = ev.data
    label = str(d.get("decision", "?"))
    if d.get("by"):
        label += f" ({d['by']})"
    if d.get("applied") and d["applied"] not in (d.get("decision"), _SAME.get(str(d.get("decision")))):
        label += f" → {d['applied']}"
    return Mark("turn", ev.at, kind, label, str(d.get("reason", "")))


# The judge's choices and the engine's decisions that carry them out (shown once when they agree).
_SAME = {"restart": "revise", "ignore": "acknowledge", "continue": "finish"}


def _decision(events: list[TraceEvent], index: int) -> Span | Mark:
    ev = events[index]
    decision = str(ev.data.get("decision", "?"))
    until = ev.data.get("until")
    if decision == "waituntil" and until is not None:
        end = _clip(float(until), _next_at(events, index, _WAIT_ENDERS))
        return Span("turn", ev.at, max(end, ev.at), "wait", f"wait {float(until) - ev.at:.1f}s",
                    f"wait until +{float(until) - ev.at:.1f}s")
    return Mark("turn", ev.at, decision, "" if decision == "respond" else decision)


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of time drawn at full scale; the gaps between segments are squeezed."""

    start: float
    end: float
    x: float  # where `start` is drawn


class TimeScale:
    """Maps trace instants to x positions, squeezing idle gaps longer than `max_gap` seconds."""

    def __init__(self, lanes: Lanes, *, px_per_s: float, x0: float, max_gap: float = 6.0, gap_px: float = 34.0):
        self.px_per_s = px_per_s
        self.segments: list[Segment] = []
        self.breaks: list[tuple[float, float]] = []  # (x of the squeeze mark, seconds skipped)
        busy = _merge(
            [Span("", s.start - BUSY_PAD, s.end + BUSY_PAD, "") for s in lanes.spans]
            + [Span("", m.at - BUSY_PAD, m.at + BUSY_PAD, "") for m in lanes.marks]
        )
        x = x0
        for i, b in enumerate(busy):
            if i and b.start - busy[i - 1].end <= max_gap:
                prev = self.segments.pop()
                self.segments.append(Segment(prev.start, b.end, prev.x))
                continue
            if i:
                x = self._x_in(self.segments[-1], self.segments[-1].end)
                self.breaks.append((x + gap_px / 2, b.start - busy[i - 1].end))
                x += gap_px
            self.segments.append(Segment(b.start, b.end, x))
        self.width = self._x_in(self.segments[-1], self.segments[-1].end) if self.segments else x0

    def _x_in(self, seg: Segment, t: float) -> float:
        return seg.x + (t - seg.start) * self.px_per_s

    def x(self, t: float) -> float:
        """The x position of instant `t`."""
        for i, seg in enumerate(self.segments):
            if t <= seg.end or i == len(self.segments) - 1:
                if t < seg.start and i:  # inside a squeezed gap: place it on the squeeze mark
                    return self.breaks[i - 1][0]
                return self._x_in(seg, t)
        return 0.0

    def ticks(self, origin: float, every: float) -> list[tuple[float, float]]:
        """(x, seconds since `origin`) for round instants inside the drawn segments."""
        out: list[tuple[float, float]] = []
        for seg in self.segments:
            k = -(-(seg.start - origin) // every)
            while origin + k * every <= seg.end:
                out.append((self._x_in(seg, origin + k * every), k * every))
                k += 1
        return out
