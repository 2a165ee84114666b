"""The timeline shows the duplex policy's work on the turn lane: each tick asked, each prediction, the draft."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from bot.core.ports import TraceEvent
from bot.timeline import render_timeline_svg
from bot.timeline.model import build_lanes

SVG = "{http://www.w3.org/2000/svg}"
EVENTS = [
    TraceEvent("human_message", 0.0, {"text": "i got the job!!", "id": "1"}),
    TraceEvent("duplex_ask", 0.0, {"ticks": 0, "call": 1, "covers": ["1"]}),
    TraceEvent("duplex_prediction", 0.3, {"ticks": 0, "turn_over": False, "user": "and i start monday",
                                          "assistant": "hm?", "failure": None, "seconds": 0.3}),
    TraceEvent("duplex_ask", 13.5, {"ticks": 27, "call": 2, "covers": ["1"]}),
    TraceEvent("duplex_prediction", 13.8, {"ticks": 27, "turn_over": True, "user": "",
                                           "assistant": "omg congrats!!", "failure": None, "seconds": 0.3}),
    TraceEvent("duplex_draft_sent", 13.8, {"ticks": 27}),
    TraceEvent("part_sent", 16.0, {"text": "omg congrats!!"}),
]


def test_each_tick_asked_and_each_prediction_is_a_mark_on_the_turn_lane() -> None:
    lanes = build_lanes(EVENTS)
    turn = [(m.label, m.detail) for m in lanes.marks if m.lane == "turn"]
    assert turn == [
        ("ask at 0 silence ticks", "request 1 of this turn"),
        ("more coming (duplex)", "predicted: \u201cand i start monday\u201d"),
        ("ask at 27 silence ticks", "request 2 of this turn"),
        ("turn over (duplex)", "draft: \u201comg congrats!!\u201d"),
        ("draft sent (duplex)", "drafted at 27 silence ticks: no second request"),
    ]


def test_the_drawn_timeline_names_the_ticks_and_shows_no_silence_token_in_the_chat() -> None:
    svg = render_timeline_svg(EVENTS)
    titles = [t.text or "" for t in ET.fromstring(svg).iter(f"{SVG}title")]
    assert any("ask at 27 silence ticks" in t for t in titles)
    assert "<|silence|>" not in svg
