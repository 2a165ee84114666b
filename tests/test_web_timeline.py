"""The timeline SVG drawn from a conversation's trace: what it shows, in what order, and the CLI's file."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bot.core.events import ConversationKey
from bot.core.memory_store import MemoryStore
from bot.core.ports import TraceEvent
from bot.settings import ConfigError, Settings
from bot.timeline import clock_label, render_timeline_svg
from bot.timeline.cli import timeline_command
from tests.kit import ChatScene

SVG = "{http://www.w3.org/2000/svg}"
REVISED = "revised: the human wrote again"


def interrupted_reply() -> list[TraceEvent]:
    """Human types and sends two messages; the bot answers in parts; the human interrupts its second part."""
    t = 100.0
    raw: list[tuple[float, str, dict[str, object]]] = [
        (0.0, "human_typing", {"until": 4.0}),
        (1.0, "human_message", {"text": "heyyy", "id": "h1"}),
        (1.0, "decision", {"decision": "waituntil", "until": 2.5}),
        (2.0, "human_typing", {"until": 6.0}),
        (2.0, "decision", {"decision": "waituntil", "until": 6.0}),
        (3.0, "human_message", {"text": "saw your story?", "id": "h2"}),
        (3.0, "decision", {"decision": "waituntil", "until": 3.75}),
        (3.75, "decision", {"decision": "respond", "until": None}),
        (3.75, "generation_start", {"covers": ["h1", "h2"]}),
        (4.5, "typing_start", {}),
        (5.0, "generation_end", {}),
        (5.6, "typing_stop", {}),
        (5.6, "part_sent", {"text": "omg hi", "covers": ["h1", "h2"]}),
        (6.2, "typing_start", {}),
        (6.5, "human_typing", {"until": 10.5}),
        (7.5, "human_message", {"text": "wait actually", "id": "h3"}),
        (7.5, "interrupt", {"decision": "revise"}),
        (7.5, "part_cancelled", {"text": "yes i saw it", "reason": REVISED}),
        (7.5, "part_cancelled", {"text": "wbu?", "reason": REVISED}),
    ]
    return [TraceEvent(kind, t + at, {k: (v + t if k == "until" and isinstance(v, float) else v)
                                       for k, v in data.items()}) for at, kind, data in raw]


def groups(svg: str, css_class: str) -> list[ET.Element]:
    root = ET.fromstring(svg)
    return [g for g in root.iter(f"{SVG}g") if css_class in (g.get("class") or "").split()]


def text_of(element: ET.Element) -> str:
    return "".join(element.itertext())


def test_the_svg_shows_a_cancelled_part_with_its_reason() -> None:
    svg = render_timeline_svg(interrupted_reply())
    cancelled = groups(svg, "cancelled")
    marks = [g for g in cancelled if "mark" in (g.get("class") or "")]
    assert len(marks) == 1, "parts dropped together are one mark, so the reason is told once"
    label = text_of(marks[0])
    assert "yes i saw it" in label and "wbu?" in label
    assert REVISED in label
    assert next(text_of(g) for g in groups(svg, "sent") if "mark" in (g.get("class") or "")).endswith("omg hi")


def test_spans_are_drawn_in_time_order_on_their_lanes() -> None:
    svg = render_timeline_svg(interrupted_reply())
    spans = groups(svg, "span")
    starts = [float(g.get("data-start", "nan")) for g in spans]
    assert starts == sorted(starts)
    xs = [float(g.find(f"{SVG}rect").get("x", "nan")) for g in spans]  # type: ignore[union-attr]
    assert xs == sorted(xs), "later spans are further right"
    kinds = [(g.get("class") or "").split()[1] for g in spans]
    assert kinds.index("human_typing") < kinds.index("wait") < kinds.index("generation") < kinds.index("bot_typing")
    waits = [g for g in spans if "wait" in (g.get("class") or "")]
    assert float(waits[0].get("data-end", "0")) == 2.0, "a wait ends when a newer decision replaces it"
    typing = [g for g in spans if "bot_typing" in (g.get("class") or "")]
    assert float(typing[-1].get("data-end", "0")) == 7.5, "typing the cancelled part ends when it is cancelled"


def test_human_typing_ends_when_the_message_is_sent() -> None:
    spans = groups(render_timeline_svg(interrupted_reply()), "human_typing")
    drawn = [(float(g.get("data-start", "0")), float(g.get("data-end", "0"))) for g in spans if g.get("data-start")]
    assert drawn == [(0.0, 1.0), (2.0, 3.0), (6.5, 7.5)]


def test_long_quiet_gaps_are_squeezed_and_labelled() -> None:
    events = interrupted_reply()
    events.append(TraceEvent("human_message", events[-1].at + 600, {"text": "back", "id": "h4"}))
    svg = render_timeline_svg(events)
    root = ET.fromstring(svg)
    assert float(root.get("width", "0")) < 2000
    assert any("+" + clock_label(600 - 0.6 * 2) in text_of(g) for g in groups(svg, "squeeze"))


def test_text_is_escaped_and_an_empty_trace_still_draws() -> None:
    svg = render_timeline_svg([TraceEvent("human_message", 1.0, {"text": "<b>&\"hi\"</b>", "id": "h"})])
    ET.fromstring(svg)
    assert "<b>" not in svg
    ET.fromstring(render_timeline_svg([]))


async def test_a_real_conversation_trace_renders(scene_factory: object) -> None:
    scene: ChatScene = await scene_factory(turn="fixed:2", script=lambda r: ["one", "two"])  # type: ignore[operator]
    await scene.says("hi")
    await scene.until_quiet()
    svg = render_timeline_svg([TraceEvent(kind, at, data) for kind, at, data in scene.trace])
    sent = [text_of(g) for g in groups(svg, "sent") if "mark" in (g.get("class") or "")]
    assert len(sent) == 2 and sent[0].endswith("one") and sent[1].endswith("two")
    assert groups(svg, "generation") and groups(svg, "respond")


def test_the_cli_writes_a_stored_conversations_timeline(tmp_path: Path) -> None:
    store = MemoryStore()
    key = ConversationKey("telegram", "42")
    asyncio.run(store.record_trace(key, interrupted_reply()))
    out = tmp_path / "out" / "t.svg"
    assert timeline_command("telegram", "42", "", out, Settings(), store=store) == 0
    assert "yes i saw it" in out.read_text()
    assert timeline_command("telegram", "nope", "", tmp_path / "empty.svg", Settings(), store=store) == 1


def test_the_cli_reads_the_database_url(tmp_path: Path) -> None:
    sql_store = pytest.importorskip("bot.storage.sql_store", reason="the SQL store is not in this tree")
    from bot.storage.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'bot.db'}"
    upgrade(url)

    async def record() -> None:
        store = sql_store.SqlStore.open(url)
        await store.record_trace(ConversationKey("web", "tab-1"), interrupted_reply())
        await store.close()

    asyncio.run(record())
    out = tmp_path / "t.svg"
    assert timeline_command("web", "tab-1", "", out, Settings(database_url=url, _env_file=None)) == 0  # type: ignore[call-arg]
    assert "revised: the human wrote again" in out.read_text()


def test_the_cli_explains_a_database_without_the_schema(tmp_path: Path) -> None:
    pytest.importorskip("bot.storage.sql_store", reason="the SQL store is not in this tree")
    empty = tmp_path / "empty.db"
    settings = Settings(database_url=f"sqlite:///{empty}", _env_file=None)  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match="nothing has been stored yet"):
        timeline_command("web", "x", "", tmp_path / "t.svg", settings)
    assert not empty.exists()
    empty.touch()
    with pytest.raises(ConfigError, match="textbot db upgrade"):
        timeline_command("web", "x", "", tmp_path / "t.svg", settings)
