"""The timeline (web chat and `textbot timeline`) shows each step of an `actions` session on the model's lane."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.core.memory_store import MemoryStore
from bot.core.ports import TraceEvent
from bot.settings import Settings
from bot.timeline import render_timeline_svg
from bot.timeline.cli import timeline_command
from tests.actions_kit import actions, human_writes
from tests.fakes.openai_answers import Answer, call, calls
from tests.fakes.openai_server import FakeOpenAIServer, Messages

SVG = "{http://www.w3.org/2000/svg}"


def marks(svg: str, kind: str) -> list[ET.Element]:
    return [g for g in ET.fromstring(svg).iter(f"{SVG}g") if (g.get("class") or "").split() == ["mark", kind]]


def text_of(element: ET.Element) -> str:
    """A mark's full description (its tooltip: the drawn label may be shortened)."""
    title = element.find(f"{SVG}title")
    return "" if title is None else title.text or ""


def lane_y(svg: str, css_class: str) -> set[str | None]:
    """The vertical centre of the glyphs of one kind of mark or span."""
    found: set[str | None] = set()
    for g in ET.fromstring(svg).iter(f"{SVG}g"):
        if css_class in (g.get("class") or "").split() and g.get("data-at", g.get("data-start")) is not None:
            for rect in g.iter(f"{SVG}rect"):
                found.add(str(float(rect.get("y", "0")) + float(rect.get("height", "0")) / 2))
    return found


def test_each_step_is_a_mark_on_the_models_lane_and_one_answers_steps_read_as_one() -> None:
    svg = render_timeline_svg([
        TraceEvent("human_message", 10.0, {"text": "dinner at 7?", "id": "h1"}),
        TraceEvent("generation_start", 12.0, {"covers": ["h1"]}),
        TraceEvent("action_append", 12.0, {"text": "sure", "truncated": False}),
        TraceEvent("action_append", 12.0, {"text": "7 works", "truncated": False}),
        TraceEvent("human_message", 12.5, {"text": "wait make it 8", "id": "h2"}),
        TraceEvent("action_push", 12.5, {"sent": False, "text": "sure 7 works", "reason": "they wrote"}),
        TraceEvent("action_error", 12.6, {"tool": "send", "error": "there is no tool 'send'"}),
        TraceEvent("action_reset", 13.0, {"text": "sure 7 works"}),
        TraceEvent("action_check", 13.5, {"seconds": 5.0, "waited": 2.0, "heard": 0}),
        TraceEvent("action_push", 16.0, {"sent": True, "text": "8 is perfect", "reason": ""}),
        TraceEvent("action_done", 16.0, {"dropped": ""}),
        TraceEvent("generation_end", 16.0, {}),
    ])
    steps = [text_of(g) for g in marks(svg, "action")]
    assert steps == ["2s action: append “sure” · append “7 works”", "3s action: reset (dropped “sure 7 works”)",
                     "4s action: check 5s (waited 2.0s, heard 0)", "6s action: done"], "one answer's appends, one mark"
    [refused, error] = [text_of(g) for g in marks(svg, "action_refused")]
    assert refused.endswith("push “sure 7 works” (refused: they wrote)")
    assert error.endswith("send (there is no tool 'send')")
    assert [text_of(g) for g in marks(svg, "action_push")] == ["6s action_push: push “8 is perfect” (sent)"]
    assert lane_y(svg, "action") == lane_y(svg, "generation"), "drawn on the model's lane"
    assert "model action" in svg and "push refused" in svg, "the legend names them"


@pytest.fixture
async def model() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer() as server:
        yield server


async def test_textbot_timeline_draws_a_stored_session_with_its_refused_and_sent_pushes(
    scene_factory: Callable[..., Any], model: FakeOpenAIServer, tmp_path: Path,
) -> None:
    async def thinking(messages: Messages) -> Answer:
        if model.request_count == 1:
            return calls(call("append", text="sure 7 works"))
        if model.request_count == 2:
            await human_writes(chat, "wait make it 8")
            return calls(call("push"))
        return calls(call("reset"), call("append", text="8 is perfect"), call("push"), call("done"))

    model.reply_with(thinking)
    chat = await scene_factory(responder=actions(model))
    await chat.says("dinner at 7?")
    await chat.until_quiet()
    store = MemoryStore()
    await store.record_trace(chat.key, [TraceEvent(kind, at, data) for kind, at, data in chat.trace])

    out = tmp_path / "timeline.svg"
    command = (chat.key.platform, chat.key.chat, "", out, Settings(), store)
    assert await asyncio.to_thread(timeline_command, *command) == 0  # the CLI runs its own event loop
    svg = out.read_text()
    [refused] = [text_of(g) for g in marks(svg, "action_refused")]
    assert refused.endswith("push “sure 7 works” (refused: they wrote since your last step: read new_messages first)")
    assert [text_of(g).endswith("push “8 is perfect” (sent)") for g in marks(svg, "action_push")] == [True]
    steps = [text_of(g) for g in marks(svg, "action")]
    assert [step.split(": ", 1)[1] for step in steps] == [
        "append “sure 7 works”", "reset · append “8 is perfect” (dropped “sure 7 works”)", "done"]
