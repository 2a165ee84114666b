"""Rooms and the web outlet without a server: what each tab is sent, and a browser that stops reading."""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast

from starlette.websockets import WebSocket

from bot.core.events import ConversationKey
from bot.web.outlet import CONTROL_REPLY, WebOutlet
from bot.web.rooms import OUTBOX_LIMIT, Client, Rooms
from tests.web_kit import web_chat

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


async def test_rooms_of_closed_tabs_are_released_after_the_idle_time_and_a_returning_tab_sees_its_chat() -> None:
    async with web_chat(idle_seconds=300.0) as site:
        for n in range(40):  # tabs opened and closed without a word
            async with site.tab(f"quiet-{n:03d}"):
                pass
        async with site.tab("talker") as tab:
            assert await tab.says("m1", "hey") == {"type": "ack", "id": "m1"}
            await site.clock.run_until(lambda: site.transcript("talker") == ["hey", "ok"])
            assert (await tab.next("bubble"))["text"] == "ok"
        assert len(site.chat.rooms.rooms) == 41
        await site.clock.advance(250)
        assert len(site.chat.rooms.rooms) == 41, "not before the idle time"
        await site.clock.advance(200)
        assert site.chat.rooms.rooms == {}, "every closed tab's room is released"
        assert site.chat.engine.actors == {}, "as the engine released their conversations"
        welcome = await site.welcome("talker")
        assert [(b["role"], b["text"]) for b in welcome["transcript"]] == [("human", "hey"), ("bot", "ok")]


async def test_a_room_with_an_open_tab_is_kept_however_long_it_is_quiet() -> None:
    async with web_chat(idle_seconds=60.0) as site, site.tab("open-tab") as tab:
        assert (await tab.says("m1", "hi"))["type"] == "ack"
        await site.clock.advance(3600)
        assert site.transcript("open-tab") == ["hi", "ok"]
        assert (await tab.says("m2", "still here"))["type"] == "ack"
        assert site.transcript("open-tab")[-1] == "still here"


async def test_the_bot_answering_a_closed_tab_after_its_room_was_released_does_not_bring_the_room_back() -> None:
    async with web_chat(idle_seconds=60.0, latency=200.0) as site:
        async with site.tab("leaves-early") as tab:
            assert (await tab.says("m1", "brb"))["type"] == "ack"
        await site.clock.advance(120)
        assert site.chat.rooms.rooms == {}, "released while the model is still thinking"
        await site.clock.advance(90)  # the reply went out at ~201 s
        assert site.chat.rooms.rooms == {}, "the late reply did not bring the room back"
        welcome = await site.welcome("leaves-early")
        assert [b["text"] for b in welcome["transcript"]] == ["brb", "ok"], "shown once, from the store"
