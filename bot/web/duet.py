"""The web chat's duet page: a person picks two personas and a topic and watches them text, with both timelines."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.websockets import WebSocket, WebSocketDisconnect

from bot.core.engine import Engine
from bot.core.ports import Outlet, TraceEvent
from bot.core.tasks import cancel_and_wait
from bot.core.trace import TraceRecorder
from bot.duet.run import Duet, DuetLine, DuetResult
from bot.timeline import render_timeline_svg
from persona import available_personas

MAX_MESSAGES = 40
MAX_SECONDS = 600.0


async def duet_page(request: Request) -> Response:
    """The duet page."""
    from bot.web.app import STATIC

    return FileResponse(STATIC / "duet.html", headers={"cache-control": "no-cache"})


def duet_choices(ws: WebSocket) -> dict[str, Any] | str:
    """The duet the socket asks for (personas, topic, messages, seconds, responder), or why it cannot run."""
    q = ws.query_params
    a, b, known = q.get("a", ""), q.get("b", ""), available_personas()
    if a not in known or b not in known or a == b:
        return f"pick two different personas among: {', '.join(known)}"
    try:
        messages = min(MAX_MESSAGES, max(1, int(q.get("messages", "12"))))
        seconds = min(MAX_SECONDS, max(5.0, float(q.get("seconds", "180"))))
    except ValueError:
        return "messages and seconds must be numbers"
    responder = q.get("responder", "stream")
    if responder not in ("stream", "actions"):
        return "responder must be stream or actions"
    topic = (q.get("topic") or "what you did this weekend").strip()[:200]
    return {"a": a, "b": b, "topic": topic, "messages": messages, "seconds": seconds, "responder": responder}


async def duet_socket(ws: WebSocket) -> None:
    """Run one duet for this socket, sending each line and both timelines as they change; stop on disconnect."""
    await ws.accept()
    choice = duet_choices(ws)
    build: Callable[[Outlet], Engine] = ws.app.state.engine_factory
    if isinstance(choice, str):
        return await _refuse(ws, choice)
    run_id = f"web-{secrets.token_hex(6)}"
    duet = Duet(ws.app.state.chat.engine.deps.clock, build, (choice["a"], choice["b"]), run_id=run_id,
                responder=choice["responder"])
    if choice["responder"] == "actions" and "actions" not in duet.engines[0].deps.responders:
        await duet.close()
        return await _refuse(ws, "this server has no actions responder wired: only stream duets run here")
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    timelines = _watch_timelines(duet)
    duet.on_line = lambda line: outbox.put_nowait(_line_message(duet, line, timelines))
    stop = asyncio.Event()
    running = asyncio.create_task(duet.run(choice["topic"], choice["messages"], choice["seconds"], stop),
                                  name=f"duet:{run_id}")
    sending = asyncio.create_task(_send_all(ws, outbox), name="duet:socket-out")
    listening = asyncio.create_task(_until_closed(ws), name="duet:socket-in")
    await ws.send_json({"type": "start", **choice, "run": run_id})
    try:
        await asyncio.wait([running, listening], return_when=asyncio.FIRST_COMPLETED)
        stop.set()  # the page went away: end the duet (a no-op when it is over already)
        await asyncio.wait([running])
        await cancel_and_wait(sending)
        if not running.cancelled() and running.exception() is None and not listening.done():
            await _send_all(ws, outbox, drain=True)
            await ws.send_json(_end_message(running.result()))
            await ws.close()
    finally:
        await cancel_and_wait(running)
        await cancel_and_wait(sending)
        await cancel_and_wait(listening)


def _watch_timelines(duet: Duet) -> dict[str, list[TraceEvent]]:
    """Each side's timeline events as they happen (the same events the stored timeline gets)."""
    events: dict[str, list[TraceEvent]] = {"a": [], "b": []}
    for side, engine in zip(("a", "b"), duet.engines, strict=True):
        trace = engine.deps.trace
        if isinstance(trace, TraceRecorder):
            trace.listeners.append(lambda key, event, side=side: events[side].append(event))  # type: ignore[misc]
    return events


def _line_message(duet: Duet, line: DuetLine, timelines: dict[str, list[TraceEvent]]) -> dict[str, Any]:
    side = "a" if line.name == duet.names[0] else "b"
    return {"type": "line", "side": side, **asdict(line),
            "timelines": {s: render_timeline_svg(list(ev)) for s, ev in timelines.items()}}


def _end_message(result: DuetResult) -> dict[str, Any]:
    return {"type": "end", "messages": len(result.sends), "crossings": result.crossings,
            "refused": result.refused_pushes, "withheld": result.cancelled_parts, "stopped_by": result.stopped_by,
            "seconds": round(result.ended - result.started, 1)}


async def _send_all(ws: WebSocket, outbox: asyncio.Queue[dict[str, Any]], drain: bool = False) -> None:
    while not drain or not outbox.empty():
        await ws.send_json(await outbox.get())


async def _until_closed(ws: WebSocket) -> None:
    with contextlib.suppress(WebSocketDisconnect):
        while (await ws.receive())["type"] != "websocket.disconnect":
            pass


async def _refuse(ws: WebSocket, why: str) -> None:
    await ws.send_json({"type": "error", "error": why})
    await ws.close()

