"""The Starlette app of the web chat: the page, its static files, the chat socket and the timeline SVG."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from bot.timeline import render_timeline_svg
from bot.web.auth import AccessGate
from bot.web.chat import TAB_ID, EngineFactory, WebChat, conversation_key
from bot.web.duet import duet_page, duet_socket

STATIC = Path(__file__).parent / "static"
log = logging.getLogger(__name__)


def _chat(scope_app: Starlette) -> WebChat:
    chat: WebChat = scope_app.state.chat
    return chat


async def index(request: Request) -> Response:
    """The chat page."""
    return FileResponse(STATIC / "index.html", headers={"cache-control": "no-cache"})


async def timeline_svg(request: Request) -> Response:
    """The current timeline of one tab's conversation, as a downloadable SVG file."""
    tab = request.query_params.get("tab", "")
    if not TAB_ID.fullmatch(tab):
        return PlainTextResponse("unknown tab", status_code=400)
    chat, key = _chat(request.app), conversation_key(tab)
    room = chat.rooms.rooms.get(key)
    events = room.events if room is not None and room.loaded else await chat.engine.deps.store.load_trace(key)
    return Response(render_timeline_svg(events), media_type="image/svg+xml",
                    headers={"content-disposition": f'attachment; filename="timeline-{tab[:12]}.svg"'})


async def chat_socket(ws: WebSocket) -> None:
    """One tab's live connection: its messages in, bubbles, typing, settings and timeline out."""
    tab = ws.query_params.get("tab", "")
    if not TAB_ID.fullmatch(tab):
        await ws.close(code=1008)
        return
    await ws.accept()
    chat = _chat(ws.app)
    client = chat.client(ws)
    room = await chat.join(tab, client)
    try:
        while (message := await ws.receive())["type"] != "websocket.disconnect":
            await chat.handle(room, client, message.get("text") or "")
            await asyncio.sleep(0)  # a burst of frames must not keep the keepalive pings from being answered
    except WebSocketDisconnect:
        pass
    finally:
        await chat.leave(room, client)


def create_web_app(engine_factory: EngineFactory, *, token: str | None = None, model: str | None = None) -> Starlette:
    """The web chat app; `engine_factory(outlet)` builds its engine (a test passes one on a virtual clock).

    With `token`, every request must carry it; without, the app only answers requests addressed to a
    loopback name (serve it on 127.0.0.1). `model` is the LLM's name the page shows. Once started,
    `app.state.chat` is the running WebChat.
    """

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.chat = WebChat(engine_factory, model)
        app.state.engine_factory = engine_factory  # the duet page builds its two engines with it
        try:
            yield
        finally:
            await app.state.chat.close()
            log.info("web chat stopped")

    return Starlette(
        routes=[
            Route("/", index),
            Route("/timeline.svg", timeline_svg),
            Route("/duet", duet_page),
            WebSocketRoute("/duet/ws", duet_socket),
            WebSocketRoute("/ws", chat_socket),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        middleware=[Middleware(AccessGate, token=token)],
        lifespan=lifespan,
    )
