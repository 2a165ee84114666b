"""The web chat in a real browser (Debian's chromium through Playwright), the real openai client talking to
a local fake server, and the engine on a virtual clock that each test advances: what a person sees."""

from __future__ import annotations

import random
import re
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from bot.core.clock import VirtualClock
from bot.core.config import EngineDeps
from bot.core.engine import Engine
from bot.core.memory_store import MemoryStore
from bot.core.ports import Outlet
from bot.llm.model_errors import RetryPolicy
from bot.llm.openai_responder import OpenAIResponder
from bot.web import WebServer, create_web_app
from bot.web.chat import WebChat
from bot.web.limits import BURST
from bot.web.rooms import Room
from persona import load_persona
from tests.fakes.openai_server import FakeOpenAIServer

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
FIRST_REPLY = ["omg hi", "yes i saw it", "wbu?"]
REVISED_REPLY = ["wait what happened", "tell me everything"]


def chromium() -> str:
    """Debian's chromium, installed by scripts/install-chromium.sh if missing; skip the test if impossible."""
    if not CHROMIUM.exists():
        done = subprocess.run(["bash", str(ROOT / "scripts" / "install-chromium.sh")], capture_output=True,
                              text=True, timeout=900, check=False)
        if not CHROMIUM.exists():
            pytest.skip(f"chromium is not installed and could not be installed: {done.stderr.strip()[-300:]}")
    return str(CHROMIUM)


def reply(messages: list[dict[str, Any]]) -> str:
    """The fake model: a three-part answer, or a different one once the human said 'wait'."""
    said = " ".join(str(m["content"]) for m in messages if m["role"] == "user")
    return "\n".join(REVISED_REPLY if "wait actually" in said else FIRST_REPLY)


@dataclass
class Site:
    """The web chat served on 127.0.0.1 with its engine on a virtual clock."""

    url: str
    chat: WebChat
    clock: VirtualClock
    llm: FakeOpenAIServer

    def room(self) -> Room:
        """The only conversation the test's tab has."""
        assert len(self.chat.rooms.rooms) == 1
        return next(iter(self.chat.rooms.rooms.values()))

    def bot_said(self) -> list[str]:
        """Every bot bubble pushed to the page so far."""
        return [b["text"] for b in self.room().transcript if b["role"] == "bot"]

    def idle(self) -> bool:
        """Nothing pending, generating or queued."""
        return all(a.job is None and not a.state.pending for a in self.chat.engine.actors.values())

    async def until(self, done: Callable[[], bool], limit: float = 120.0) -> None:
        """Advance virtual time until `done()` holds."""
        await self.clock.run_until(done, limit=limit)


@asynccontextmanager
async def serving(token: str | None = None) -> AsyncIterator[Site]:
    """The web chat on a free port of 127.0.0.1, its model a fake OpenAI server, its time virtual."""
    clock = VirtualClock()
    async with FakeOpenAIServer() as llm:
        llm.reply_with(reply)
        client = openai.AsyncOpenAI(base_url=llm.url, api_key="sk-test", max_retries=0, timeout=5.0)
        responder = OpenAIResponder(client, "test-model", clock, RetryPolicy(attempts=2))

        def build(outlet: Outlet) -> Engine:
            return Engine(EngineDeps(clock=clock, responder=responder, outlet=outlet, store=MemoryStore(),
                                     persona=load_persona("sunny"), rng=random.Random(5)))

        app = create_web_app(build, token=token)
        server = WebServer(app, "127.0.0.1", 0)
        await server.start()
        try:
            yield Site(server.url, app.state.chat, clock, llm)
        finally:
            await server.stop()


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    async with serving() as served:
        yield served


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = chromium()
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=executable, args=ARGS, headless=True)
        yield launched
        await launched.close()


@pytest.fixture
async def page(site: Site, browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    opened = await context.new_page()
    await opened.goto(site.url)
    await expect(opened.locator("#status")).to_have_text("connected")
    yield opened
    await context.close()


async def say(page: Page, text: str, delivered: int, site: Site | None = None, typing_for: float = 0.0) -> None:
    """Type a message key by key (the page sends typing notices), send it, wait for the server's receipt.

    With `typing_for`, the first keys go out, and once the typing notice has arrived that many virtual
    seconds pass before the rest is typed: the person took a while to write it.
    """
    box = page.locator("#input")
    if site is not None and typing_for:
        before = typing_notices(site)
        await box.press_sequentially(text[:2], delay=15)
        await site.clock.run_until(lambda: typing_notices(site) > before, limit=0)  # real time only
        await site.clock.advance(typing_for)
        text = text[2:]
    await box.press_sequentially(text, delay=15)
    await box.press("Enter")
    await expect(page.locator(".msg.human.delivered")).to_have_count(delivered)


def typing_notices(site: Site) -> int:
    """How many of the page's typing notices reached the conversation."""
    return sum(e.kind == "human_typing" for room in site.chat.rooms.rooms.values() for e in room.events)


def bot_bubbles(page: Page) -> Any:
    return page.locator(".msg.bot:not(.typing)")


async def test_a_burst_gets_one_reply_in_several_bubbles_after_a_typing_indicator(site: Site, page: Page) -> None:
    for n, text in enumerate(["heyyy", "saw your story?", "what's up???"], start=1):
        await say(page, text, n)
    await site.until(lambda: site.room().typing)
    await expect(page.locator("#typing")).to_be_visible()
    await expect(page.locator("#presence")).to_have_text("typing…")
    assert await bot_bubbles(page).count() == 0, "nothing is shown before it is sent"
    await site.until(lambda: len(site.bot_said()) == 3 and site.idle())
    await expect(bot_bubbles(page)).to_have_count(3)
    for bubble, text in zip(await bot_bubbles(page).all(), FIRST_REPLY, strict=True):
        await expect(bubble).to_contain_text(text)
    await expect(page.locator("#typing")).to_be_hidden()
    assert site.llm.request_count == 1, "the burst was answered once, as a whole"
    assert [m["content"] for m in site.llm.last_messages()[1:]] == ["heyyy", "saw your story?", "what's up???"]
    await expect(page.locator("#timeline .mark.sent")).to_have_count(3)


async def test_typing_while_the_bot_types_drops_its_unsent_parts(site: Site, page: Page) -> None:
    await say(page, "hey so guess what", 1, site, typing_for=2.0)
    await site.until(lambda: len(site.bot_said()) == 1 and site.room().typing)
    await expect(bot_bubbles(page)).to_have_count(1)
    await expect(page.locator("#typing")).to_be_visible()  # typing "yes i saw it" when the human writes again
    await say(page, "wait actually", 2, site, typing_for=1.2)
    await site.until(lambda: len(site.bot_said()) == 3 and site.idle())
    await expect(bot_bubbles(page)).to_have_count(3)
    chat_text = await page.locator("#messages").inner_text()
    assert "yes i saw it" not in chat_text and "wbu?" not in chat_text
    assert site.bot_said() == ["omg hi", *REVISED_REPLY], "every bubble ever pushed to the page"
    assert "wait what happened" in chat_text and "tell me everything" in chat_text
    cancelled = page.locator("#timeline .mark.cancelled")
    await expect(cancelled).to_have_count(1)
    await expect(cancelled).to_contain_text("yes i saw it")
    await expect(cancelled.locator(".reason")).to_contain_text("revised: the human wrote again")
    await expect(page.locator("#timeline .mark.interrupt")).to_have_count(1)
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    await page.locator("#timeline").evaluate("el => el.scrollLeft = 0")
    await page.screenshot(path=str(artifacts / "web-chat.png"), full_page=True)
    assert (artifacts / "web-chat.png").stat().st_size > 10_000


async def test_timing_controls_apply_live_and_explain_bad_values(site: Site, page: Page) -> None:
    debounce = page.locator('input[data-field="debounce"]')
    await debounce.fill("500")
    await debounce.press("Enter")
    await expect(page.locator('[data-note="debounce"]')).to_have_text("debounce must be between 0 and 120 seconds")
    await expect(debounce).to_have_class(re.compile(r"\binvalid\b"))
    await debounce.fill("1.5")
    await debounce.press("Enter")
    await expect(page.locator('[data-note="debounce"]')).to_have_text("debounce set to 1.5")
    await expect(page.locator('[data-source="debounce"]')).to_have_text("set here")
    await page.locator("#turn").select_option("fixed")
    await expect(page.locator('[data-note="turn"]')).to_have_text("turn policy set to fixed")
    key = site.room().key
    config = site.chat.engine.actors[key].config()
    assert config.timing.debounce == 1.5 and config.turn_policy.name == "fixed"

    other = await page.context.new_page()  # another tab is another person, with its own settings
    await other.goto(site.url)
    await expect(other.locator('[data-source="debounce"]')).to_have_text("default")
    await expect(other.locator('input[data-field="debounce"]')).not_to_have_value("1.5")
    assert len(site.chat.rooms.rooms) == 2


async def test_a_token_protected_chat_works_once_opened_with_its_token(browser: Browser) -> None:
    async with serving(token="let-me-in-123") as guarded:
        context = await browser.new_context()
        tab = await context.new_page()
        refused = await tab.goto(guarded.url)
        assert refused is not None and refused.status == 401
        await tab.goto(f"{guarded.url}/?token=let-me-in-123")
        await expect(tab.locator("#status")).to_have_text("connected")
        assert "token" not in tab.url, "the token leaves the address bar once the cookie holds it"
        await say(tab, "hi", 1)
        await context.close()


async def test_a_message_the_server_refused_shows_as_not_sent_until_retried(site: Site, page: Page) -> None:
    box = page.locator("#input")
    for n in range(1, BURST + 2):  # faster than a person types: one more than the socket's burst
        await box.fill(f"line {n}")
        await box.press("Enter")
    refused = page.locator(".msg.human.not-sent")
    await expect(refused).to_have_count(1)
    await expect(refused).to_contain_text(f"line {BURST + 1}")
    await expect(refused.locator(".retry")).to_contain_text("slow down")
    await expect(page.locator(".msg.human.delivered")).to_have_count(BURST)
    await site.clock.advance(1.0)
    await refused.locator(".retry").click()
    await expect(page.locator(".msg.human.delivered")).to_have_count(BURST + 1)
    await expect(page.locator(".msg.human.not-sent")).to_have_count(0)
    assert [b["text"] for b in site.room().transcript if b["role"] == "human"][-1] == f"line {BURST + 1}"
