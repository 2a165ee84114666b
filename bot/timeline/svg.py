"""Draws a conversation's timeline as SVG: who typed, what was decided, generated, sent, cancelled, edited
and unsent."""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from bot.core.ports import TraceEvent
from bot.timeline.model import LANES, Lanes, Mark, Span, TimeScale, build_lanes

PX_PER_S = 48.0
LEFT = 92.0
RIGHT = 24.0
LEGEND_H = 26.0
BAR_H = 14.0
ROW_H = 14.0
CHAR_W = 6.1  # average width of an 11px glyph, to keep labels from overlapping
LABEL_ROWS = {"human": 3, "turn": 1, "llm": 2, "bot": 3}
MAX_TEXT = 30

STYLE = """
text{font:11px system-ui,-apple-system,'Segoe UI',sans-serif;fill:#334155}
.lane-label{font-weight:600;fill:#64748b}
.lane-bg{fill:#f8fafc}.lane-bg.odd{fill:#f1f5f9}
.axis{stroke:#cbd5e1}.tick text{fill:#94a3b8;font-size:10px}.tick line{stroke:#cbd5e1}
.human_typing rect{fill:#bfdbfe;stroke:#60a5fa}
.wait rect{fill:#fef3c7;stroke:#d97706;stroke-dasharray:3 2}
.generation rect{fill:#ddd6fe;stroke:#7c3aed}
.bot_typing rect{fill:#e2e8f0;stroke:#64748b}
.task rect{fill:#ccfbf1;stroke:#0d9488}
.open rect{stroke-dasharray:2 2;opacity:.7}
.bar-label{font-size:10px;fill:#1e293b}
.message circle{fill:#2563eb}.sent circle{fill:#16a34a}
.respond path{fill:#16a34a}.ignore path{fill:#94a3b8}.interrupt path{fill:#dc2626}
.cancelled path{stroke:#dc2626;stroke-width:2.2}
.cancelled .text{fill:#b91c1c;text-decoration:line-through}.cancelled .reason{fill:#dc2626;font-style:italic}
.edited circle{fill:#fff;stroke:#d97706;stroke-width:2}.edited .reason{fill:#b45309;font-style:italic}
.unsent path{fill:none;stroke:#64748b;stroke-width:1.8}
.unsent .text{fill:#64748b;text-decoration:line-through}.unsent .reason{fill:#64748b;font-style:italic}
.action rect{fill:#7c3aed}.action_push path{fill:#16a34a}.action_refused path{fill:#dc2626}
.action .reason,.action_push .reason{fill:#6d28d9;font-style:italic}
.action_refused .reason{fill:#b91c1c;font-style:italic}
.leader{stroke:#cbd5e1}
.mark:not(.cancelled) text{paint-order:stroke;stroke:rgba(255,255,255,.85);stroke-width:3px;stroke-linejoin:round}
.squeeze line{stroke:#94a3b8;stroke-dasharray:2 3}.squeeze text{fill:#64748b;font-size:10px}
.legend text{font-size:10px;fill:#475569}
"""
LEGEND = (
    ("human_typing", "you typing"), ("message", "your message"), ("wait", "waiting (turn policy)"),
    ("respond", "respond"), ("interrupt", "you interrupted: what to do"),
    ("generation", "model generating"), ("bot_typing", "bot typing"),
    ("sent", "part sent"), ("cancelled", "part cancelled"), ("edited", "part edited"), ("unsent", "part unsent"),
    ("action", "model action"), ("action_push", "push sent"), ("action_refused", "push refused"),
    ("task", "background task"),
)


def _legend_step(label: str) -> float:
    return 26 + len(label) * 5.6


LEGEND_W = 16 + sum(_legend_step(label) for _, label in LEGEND)


def clock_label(seconds: float) -> str:
    """Seconds since the start as people read them: 12s, 1:05, 1:02:03."""
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}:{s % 60:02d}"
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _short(text: str, limit: int = MAX_TEXT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class _LaneBox:
    top: float
    height: float
    rows: int
    row_ends: list[float] = field(default_factory=list)

    @property
    def bar_mid(self) -> float:
        return self.top + 6 + BAR_H / 2

    def row_for(self, x: float, width: float) -> int:
        """The first label row free at `x` (or the one that frees soonest), then reserve it."""
        if not self.row_ends:
            self.row_ends = [float("-inf")] * max(1, self.rows)
        free = [i for i, end in enumerate(self.row_ends) if end <= x]
        row = free[0] if free else min(range(len(self.row_ends)), key=lambda i: self.row_ends[i])
        self.row_ends[row] = x + width + 8
        return row


def _layout() -> tuple[dict[str, _LaneBox], float]:
    boxes: dict[str, _LaneBox] = {}
    y = LEGEND_H
    for lane, _ in LANES:
        rows = LABEL_ROWS.get(lane, 0)
        height = 6 + BAR_H + 6 + rows * ROW_H + (4 if rows else 0)
        boxes[lane] = _LaneBox(y, height, rows)
        y += height
    return boxes, y


def render_timeline_svg(events: list[TraceEvent]) -> str:
    """The timeline of one conversation's trace as a standalone SVG document."""
    lanes = build_lanes(events)
    boxes, lanes_bottom = _layout()
    scale = TimeScale(lanes, px_per_s=PX_PER_S, x0=LEFT + 12)
    width = max(LEGEND_W, scale.width + RIGHT + 160)  # room for the last labels
    height = lanes_bottom + 26
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="conversation timeline">',
        f"<style>{STYLE}</style>",
        _legend(),
    ]
    for i, (lane, label) in enumerate(LANES):
        box = boxes[lane]
        out.append(f'<rect class="lane-bg{" odd" if i % 2 else ""}" x="0" y="{box.top:.1f}" '
                   f'width="{width:.0f}" height="{box.height:.1f}"/>')
        out.append(f'<text class="lane-label" x="8" y="{box.bar_mid + 4:.1f}">{escape(label)}</text>')
    if not events:
        out.append(f'<text x="{LEFT + 12:.0f}" y="{LEGEND_H + 60:.0f}">nothing yet: text the bot</text></svg>')
        return "".join(out)
    out.extend(_axis(scale, lanes, lanes_bottom))
    out.extend(_span(s, scale, boxes[s.lane], lanes.start) for s in lanes.spans)
    drawn = [_mark(m, scale, boxes[m.lane], lanes.start) for m in sorted(lanes.marks, key=lambda m: m.at)]
    out.extend([leader for leader, _ in drawn] + [body for _, body in drawn])
    out.append("</svg>")
    return "".join(out)


def _legend() -> str:
    parts = ['<g class="legend">']
    x = 8.0
    for kind, label in LEGEND:
        parts.append(f'<g class="{kind}">{_glyph(kind, x + 6, 13)}</g>')
        parts.append(f'<text x="{x + 16:.0f}" y="17">{escape(label)}</text>')
        x += _legend_step(label)
    parts.append("</g>")
    return "".join(parts)



def _glyph(kind: str, x: float, y: float) -> str:
    if kind in ("human_typing", "wait", "generation", "bot_typing", "task"):
        return f'<rect x="{x - 6:.1f}" y="{y - 5:.1f}" width="12" height="10" rx="2"/>'
    if kind in ("message", "sent"):
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5"/>'
    if kind == "edited":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4"/>'
    if kind == "action":  # a step of an `actions` session: a small square on the model's lane
        return f'<rect x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" height="7"/>'
    if kind in ("action_push", "action_refused"):  # an arrow up: out to the human (or not)
        return f'<path d="M{x:.1f} {y - 6:.1f}L{x + 5:.1f} {y + 4:.1f}L{x - 5:.1f} {y + 4:.1f}Z"/>'
    if kind == "unsent":  # a crossed-out circle: it was there, and was taken back
        return (f'<path d="M{x + 4.5:.1f} {y:.1f}A4.5 4.5 0 1 1 {x - 4.5:.1f} {y:.1f}A4.5 4.5 0 1 1 {x + 4.5:.1f} '
                f'{y:.1f}M{x - 3.2:.1f} {y + 3.2:.1f}L{x + 3.2:.1f} {y - 3.2:.1f}"/>')
    if kind == "cancelled":
        a, b, c, d = x - 4, y - 4, x + 4, y + 4
        return f'<path d="M{a:.1f} {b:.1f}L{c:.1f} {d:.1f}M{c:.1f} {b:.1f}L{a:.1f} {d:.1f}"/>'
    if kind == "interrupt":
        return f'<path d="M{x:.1f} {y - 6:.1f}L{x + 5:.1f} {y:.1f}L{x:.1f} {y + 6:.1f}L{x - 5:.1f} {y:.1f}Z"/>'
    return f'<path d="M{x - 4:.1f} {y - 6:.1f}L{x + 5:.1f} {y:.1f}L{x - 4:.1f} {y + 6:.1f}Z"/>'  # respond, ignore


def _axis(scale: TimeScale, lanes: Lanes, bottom: float) -> list[str]:
    out = [f'<line class="axis" x1="{LEFT:.0f}" y1="{bottom:.1f}" x2="{scale.width + 12:.1f}" y2="{bottom:.1f}"/>']
    for x, seconds in scale.ticks(lanes.start, 1.0):
        major = round(seconds) % 5 == 0
        out.append(f'<g class="tick"><line x1="{x:.1f}" y1="{bottom:.1f}" x2="{x:.1f}" '
                   f'y2="{bottom + (6 if major else 3):.1f}"/>')
        if major:
            out.append(f'<text x="{x:.1f}" y="{bottom + 17:.1f}" text-anchor="middle">{clock_label(seconds)}</text>')
        out.append("</g>")
    for x, skipped in scale.breaks:
        out.append(f'<g class="squeeze"><line x1="{x:.1f}" y1="{LEGEND_H:.0f}" x2="{x:.1f}" y2="{bottom:.1f}"/>'
                   f'<text x="{x:.1f}" y="{bottom + 17:.1f}" text-anchor="middle">+{clock_label(skipped)}</text></g>')
    return out


def _title(text: str) -> str:
    return f"<title>{escape(text)}</title>"


def _span(span: Span, scale: TimeScale, box: _LaneBox, origin: float) -> str:
    x1, x2 = scale.x(span.start), scale.x(span.end)
    w = max(2.0, x2 - x1)
    detail = f"{span.label} {clock_label(span.start - origin)}–{clock_label(span.end - origin)}"
    detail += f" ({span.end - span.start:.1f}s){' · ' + span.detail if span.detail else ''}"
    cls = f"span {span.kind}{' open' if span.open else ''}"
    label = ""
    if span.label and w > len(span.label) * CHAR_W * 0.9 + 6:
        label = f'<text class="bar-label" x="{x1 + 4:.1f}" y="{box.bar_mid + 3.5:.1f}">{escape(span.label)}</text>'
    return (f'<g class={quoteattr(cls)} data-start="{span.start - origin:.3f}" data-end="{span.end - origin:.3f}">'
            f"{_title(detail)}<rect x=\"{x1:.1f}\" y=\"{box.top + 6:.1f}\" width=\"{w:.1f}\" height=\"{BAR_H:.0f}\" "
            f'rx="3"/>{label}</g>')


def _mark(mark: Mark, scale: TimeScale, box: _LaneBox, origin: float) -> tuple[str, str]:
    """The mark's leader line (drawn under every label) and the mark itself."""
    x, y = scale.x(mark.at), box.bar_mid
    text = _short(mark.label, 48 if mark.kind == "cancelled" else MAX_TEXT)
    reason = _short(mark.detail, 44)
    full = f"{clock_label(mark.at - origin)} {mark.kind}: {mark.label}" + (f" ({mark.detail})" if mark.detail else "")
    body = f'<g class="mark {mark.kind}" data-at="{mark.at - origin:.3f}">{_title(full)}{_glyph(mark.kind, x, y)}'
    leader = ""
    if box.rows and text:
        width = (len(text) + (len(reason) + 3 if reason else 0)) * CHAR_W
        row = box.row_for(x - 4, width)
        ty = box.top + 6 + BAR_H + 6 + (row + 1) * ROW_H - 3
        leader = f'<line class="leader" x1="{x:.1f}" y1="{y + 5:.1f}" x2="{x:.1f}" y2="{ty - 9:.1f}"/>'
        body += f'<text x="{x - 4:.1f}" y="{ty:.1f}"><tspan class="text">{escape(text)}</tspan>'
        if reason:
            body += f'<tspan class="reason"> — {escape(reason)}</tspan>'
        body += "</text>"
    return leader, body + "</g>"
