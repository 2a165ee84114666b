"""The web chat names the model writing the replies (with no provider set: the bundled local model)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, async_playwright, expect

from bot.core.clock import VirtualClock
from bot.core.config import EngineDeps
from bot.core.engine import Engine
from bot.core.memory_store import MemoryStore
from bot.core.ports import Outlet
from bot.llm.local_model import BUNDLED_NAME
from bot.web import WebServer, create_web_app
from persona import load_persona
from tests.kit import ScriptedResponder
from tests.test_web_browser import ARGS, chromium


def build_engine(outlet: Outlet) -> Engine:
    clock = VirtualClock()
    return Engine(EngineDeps(clock=clock, responder=ScriptedResponder(clock), outlet=outlet, store=MemoryStore(),
                             persona=load_persona("sunny"), rng=random.Random(1)))


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = chromium()
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=executable, args=ARGS, headless=True)
        yield launched
        await launched.close()


@pytest.mark.parametrize("model", [BUNDLED_NAME, None])
async def test_the_page_shows_which_model_answers(browser: Browser, model: str | None) -> None:
    server = WebServer(create_web_app(build_engine, model=model), "127.0.0.1", 0)
    await server.start()
    try:
        page = await browser.new_page()
        await page.goto(server.url)
        await expect(page.locator("#status")).to_have_text("connected")
        await expect(page.locator("#model")).to_have_text(f"model: {model}" if model else "")
        await page.close()
    finally:
        await server.stop()
