"""The web chat's duet page: two personas text each other over a real websocket, on a virtual clock."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from websockets.asyncio.client import connect

from bot.core.clock import VirtualClock
from bot.core.memory_store import MemoryStore
from bot.duet.standins import standin_builder
from bot.web import WebServer, create_web_app

Json = dict[str, Any]


@asynccontextmanager
async def duet_site() -> AsyncIterator[tuple[str, VirtualClock]]:
    clock = VirtualClock()
    app = create_web_app(standin_builder(clock, MemoryStore(), random.Random(2)))
    server = WebServer(app, "127.0.0.1", 0)
    await server.start()
    try:
        yield server.url, clock
    finally:
        await server.stop()


async def watch(url: str, clock: VirtualClock, query: str) -> list[Json]:
    """Everything the page is sent for one duet, the clock running while it plays."""
    received: list[Json] = []
    async with connect(url.replace("http", "ws", 1) + f"/duet/ws?{query}", origin=url) as ws:  # type: ignore[arg-type]
        async def read() -> None:
            async for frame in ws:
                received.append(json.loads(frame))

        reading = asyncio.create_task(read())
        await clock.run_until(reading.done, limit=4000)
        await reading
    return received


async def test_the_duet_page_is_served() -> None:
    async with duet_site() as (url, _), httpx.AsyncClient() as client:
        page = await client.get(f"{url}/duet")
    assert page.status_code == 200 and 'id="timeline-a"' in page.text and "static/duet.js" in page.text


async def test_a_person_watches_both_sides_and_both_timelines_until_the_duet_ends() -> None:
    async with duet_site() as (url, clock):
        got = await watch(url, clock, "a=sunny&b=sage&topic=cats&messages=6&responder=actions")
    kinds = [m["type"] for m in got]
    assert kinds[0] == "start" and kinds[-1] == "end"
    said = [m for m in got if m["type"] == "line" and not m["draft"]]
    assert len(said) == 6 and said[0]["side"] == "a" and said[0]["name"] == "sunny"
    assert {m["side"] for m in said} == {"a", "b"}
    last = [m for m in got if m["type"] == "line"][-1]["timelines"]
    assert last["a"].startswith("<svg") and last["b"].startswith("<svg")
    assert got[-1]["messages"] == 6 and got[-1]["crossings"] == 0 and got[-1]["stopped_by"] == "messages"


async def test_the_same_persona_twice_is_refused_with_the_reason() -> None:
    async with duet_site() as (url, clock):
        got = await watch(url, clock, "a=sunny&b=sunny")
    assert got == [{"type": "error", "error": "pick two different personas among: sage, sunny"}]


async def test_closing_the_page_mid_duet_stops_it_and_its_engines() -> None:
    async with duet_site() as (url, clock):
        async with connect(url.replace("http", "ws", 1) + "/duet/ws?a=sunny&b=sage&messages=40",
                           origin=url) as ws:  # type: ignore[arg-type]
            assert json.loads(await ws.recv())["type"] == "start"
            waiting = asyncio.create_task(ws.recv())
            await clock.run_until(waiting.done, limit=600)
            assert json.loads(waiting.result())["type"] == "line"
        for _ in range(200):  # real time for the server to see the close
            names = {t.get_name().split(":")[0] for t in asyncio.all_tasks()}
            if not names & {"duet", "reply", "generate", "actor"}:
                break
            await asyncio.sleep(0.01)
        assert not names & {"duet", "reply", "generate", "actor"}


async def test_in_a_browser_a_person_starts_a_duet_and_sees_both_sides_and_both_timelines() -> None:
    from playwright.async_api import async_playwright, expect

    from tests.test_web_browser import ARGS, chromium

    executable = chromium()
    async with duet_site() as (url, clock), async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable, args=ARGS, headless=True)
        try:
            page = await browser.new_page()
            await page.goto(f"{url}/duet")
            await page.fill("#messages", "6")
            await page.select_option("#responder", "actions")
            await page.click("#start")
            summary = page.locator("#summary")
            for _ in range(600):  # the duet plays on the virtual clock, a step at a time, while the page draws it
                if await summary.inner_text():
                    break
                await clock.advance(1.0)
                await asyncio.sleep(0.01)
            await expect(summary).to_contain_text("6 messages")
            await expect(summary).to_contain_text("0 crossed")
            sent = page.locator(".line:not(.draft)")
            await expect(sent).to_have_count(6)
            await expect(page.locator(".line.a").first).to_contain_text("sunny 1 starts")
            await expect(page.locator(".line.b").first).to_contain_text("sage")
            await expect(page.locator("#timeline-a svg")).to_have_count(1)
            await expect(page.locator("#timeline-b svg")).to_have_count(1)
            await expect(page.locator("#tb-title")).to_have_text("sage's timeline")
        finally:
            await browser.close()
