"""A conversation's timeline: the trace laid out in lanes (`model`), drawn as SVG (`svg`), from the CLI (`cli`)."""

from __future__ import annotations

from bot.timeline.svg import clock_label, render_timeline_svg

__all__ = ["clock_label", "render_timeline_svg"]
