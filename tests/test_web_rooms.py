"""Rooms and the web outlet without a server: what each tab is sent, and a browser that stops reading."""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast

from starlette.websockets import WebSocket

from bot.core.events import ConversationKey
from bot.web.outlet import CONTROL_REPLY, WebOutlet
from bot.web.rooms import OUTBOX_LIMIT, Client, Rooms

KEY = ConversationKey("web", "tab-one")


class FakeSocket:
    """Records what a client writes and how it was closed."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.closed_with: int | None = None

    async def send_text(self, text: str) -> None:
        self.sent.append(json.loads(text))

    async def close(self, code: int = 1000) -> None:
        self.closed_with = code


def client(ws: FakeSocket) -> Client:
    return Client(cast(WebSocket, ws))


async def test_bubbles_typing_and_control_answers_reach_the_tab() -> None:
    rooms = Rooms()
    outlet = WebOutlet(rooms)
    ws = FakeSocket()
    tab = client(ws)
    rooms.room(KEY).clients.add(tab)
    tab.start()
    await outlet.typing(KEY)
    assert rooms.room(KEY).typing
    await outlet.stop_typing(KEY)
    await outlet.send(KEY, "omg hi", None)
    await outlet.send(KEY, "wpm set to 80", CONTROL_REPLY + "wpm")
    await asyncio.sleep(0.01)
    assert [m["type"] for m in ws.sent] == ["typing", "typing", "bubble", "notice"]
    assert ws.sent[3] == {"type": "notice", "ok": True, "field": "wpm", "text": "wpm set to 80"}
    assert [b["text"] for b in rooms.room(KEY).transcript] == ["omg hi"], "a control's answer is not chat"
    await rooms.close()


async def test_a_browser_that_stops_reading_is_closed_not_buffered_forever() -> None:
    ws = FakeSocket()
    tab = client(ws)
    for i in range(OUTBOX_LIMIT + 1):  # nothing is written yet: the browser is not reading
        tab.push({"type": "bubble", "text": str(i)})
    assert tab.closing
    tab.push({"type": "bubble", "text": "late"})
    tab.start()
    assert tab.task is not None
    await asyncio.wait_for(tab.task, 1)
    assert ws.sent == [], "the backlog is dropped: the page reconnects and gets a fresh welcome"
    assert ws.closed_with == 1013
