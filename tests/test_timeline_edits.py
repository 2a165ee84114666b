"""The timeline shows when the bot corrected a part (edited, with what it said before) or took one back (unsent)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

from bot.core.ports import Edit, Intent, ReplyRequest, TraceEvent, Unsend
from bot.timeline import render_timeline_svg
from tests.kit import ChatScene

SVG = "{http://www.w3.org/2000/svg}"


def marks(svg: str, kind: str) -> list[ET.Element]:
    return [g for g in ET.fromstring(svg).iter(f"{SVG}g") if (g.get("class") or "").split() == ["mark", kind]]


def text_of(element: ET.Element) -> str:
    return "".join(element.itertext())


def test_an_edit_and_an_unsend_are_marks_at_their_instants_on_the_bot_lane() -> None:
    svg = render_timeline_svg([
        TraceEvent("human_message", 10.0, {"text": "when r u coming", "id": "h1"}),
        TraceEvent("part_sent", 12.0, {"text": "see you at 5"}),
        TraceEvent("part_sent", 14.0, {"text": "love you babe"}),
        TraceEvent("part_unsent", 15.0, {"text": "love you babe"}),
        TraceEvent("part_edited", 16.5, {"text": "see you at 6", "was": "see you at 5"}),
    ])
    [unsent] = marks(svg, "unsent")
    [edited] = marks(svg, "edited")
    assert float(unsent.get("data-at", "nan")) == 5.0 and float(edited.get("data-at", "nan")) == 6.5
    assert "love you babe" in text_of(unsent)
    assert "see you at 6" in text_of(edited) and "was: see you at 5" in text_of(edited)
    sent_y = {c.get("cy") for g in marks(svg, "sent") for c in g.iter(f"{SVG}circle")}
    [edited_y] = {c.get("cy") for c in edited.iter(f"{SVG}circle")}
    assert sent_y == {edited_y}, "drawn on the bot's lane, where the part was sent"
    assert "part edited" in svg and "part unsent" in svg, "the legend names both"


async def test_a_conversation_where_the_bot_corrects_itself_draws_both_marks(
    scene_factory: Callable[..., Any],
) -> None:
    def answer(request: ReplyRequest) -> list[str | Intent]:
        return ["see you at 5", "love you babe", Unsend(1), Edit(0, "see you at 6")]

    scene: ChatScene = await scene_factory(script=answer)
    await scene.says("when r u coming")
    await scene.until_quiet()
    svg = render_timeline_svg([TraceEvent(kind, at, data) for kind, at, data in scene.trace])
    assert [text_of(g).endswith("love you babe — taken back") for g in marks(svg, "unsent")] == [True]
    assert ["see you at 6" in text_of(g) for g in marks(svg, "edited")] == [True]
