"""The web chat shows the bot correcting itself as a messenger does: an edited bubble says so, an unsent one
becomes a small grey note; every window of the tab sees it, and so does a reload."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from bot.core.events import ConversationKey
from bot.core.ports import CannotChange, Edit, Intent, ReplyRequest, Unsend
from bot.testing import ScriptedResponder
from bot.web.outlet import WebOutlet
from bot.web.rooms import Rooms
from tests.test_web_browser import ARGS, ROOT, chromium
from tests.web_kit import WebSite, web_chat

TAB = "tab-edits"


def corrects_itself(request: ReplyRequest) -> list[str | Intent]:
    """Three parts: the second taken back, the first corrected."""
    return ["see you at 5", "love you babe", Unsend(1), Edit(0, "see you at 6"), "bring snacks"]


def scripted(site: WebSite) -> ScriptedResponder:
    responder = site.chat.engine.deps.responder
    assert isinstance(responder, ScriptedResponder)
    return responder


async def test_every_window_is_told_of_the_unsend_and_the_edit_and_a_reload_shows_the_marks() -> None:
    async with web_chat() as site:
        scripted(site).script = corrects_itself
        async with site.tab(TAB) as tab, site.tab(TAB) as other:
            assert (await tab.says("m1", "when r u coming"))["type"] == "ack"
            await site.chat.engine.until_idle(limit=120)
            for window in (tab, other):
                first = await window.next("bubble")
                if first["role"] == "human":  # the other window is shown what this one sent
                    first = await window.next("bubble")
                second = await window.next("bubble")
                assert await window.next("unsend") == {"type": "unsend", "id": second["id"]}
                assert await window.next("edit") == {"type": "edit", "id": first["id"], "text": "see you at 6"}
        welcome = await site.welcome(TAB)
        bot = [b for b in welcome["transcript"] if b["role"] == "bot"]
        assert [(b["text"], b.get("edited", False), b.get("unsent", False)) for b in bot] == [
            ("see you at 6", True, False), ("", False, True), ("bring snacks", False, False)]
        history = (await site.chat.engine.deps.store.load(ConversationKey("web", TAB))).history
        assert [line.text for line in history] == ["when r u coming", "see you at 6", "bring snacks"]


async def test_a_message_a_tab_no_longer_shows_cannot_be_changed() -> None:
    rooms = Rooms()
    outlet = WebOutlet(rooms)
    key = ConversationKey("web", TAB)
    rooms.room(key)
    with pytest.raises(CannotChange):
        await outlet.edit(key, "b-gone", "new")
    with pytest.raises(CannotChange):
        await outlet.delete(key, "b-gone")
    await outlet.edit(ConversationKey("web", "closed-tab"), "b1", "new")  # a closed tab: the store has it
    await rooms.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = chromium()
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=executable, args=ARGS, headless=True)
        yield launched
        await launched.close()


async def shows_the_correction(page: Page) -> None:
    """The page's bubbles and timeline after the bot corrected itself."""
    bubbles = page.locator(".msg.bot:not(.typing)")
    await expect(bubbles).to_have_count(3)
    edited, unsent, last = await bubbles.all()
    await expect(edited).to_have_class("msg bot edited")
    await expect(edited).to_contain_text("see you at 6")
    await expect(edited.locator(".meta")).to_contain_text("edited")
    await expect(unsent).to_have_class("msg bot unsent")
    await expect(unsent).to_contain_text("sunny unsent a message")
    await expect(last).to_contain_text("bring snacks")
    assert "love you babe" not in await page.locator("#messages").inner_text()
    assert "see you at 5" not in await page.locator("#messages").inner_text()
    await expect(page.locator("#timeline .mark.unsent")).to_contain_text("love you babe")
    await expect(page.locator("#timeline .mark.edited")).to_contain_text("was: see you at 5")


async def test_in_the_browser_the_edited_and_unsent_marks_show_and_survive_a_reload(browser: Browser) -> None:
    async with web_chat() as site:
        scripted(site).script = corrects_itself
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        page = await context.new_page()
        await page.goto(site.url)
        await expect(page.locator("#status")).to_have_text("connected")
        await page.locator("#input").fill("when r u coming")
        await page.locator("#input").press("Enter")
        await expect(page.locator(".msg.human.delivered")).to_have_count(1)
        await site.chat.engine.until_idle(limit=120)
        await shows_the_correction(page)

        await page.reload()
        await expect(page.locator("#status")).to_have_text("connected")
        await shows_the_correction(page)
        artifacts = ROOT / "test-artifacts"
        artifacts.mkdir(exist_ok=True)
        await page.screenshot(path=str(artifacts / "web-chat-edits.png"), full_page=True)
        await context.close()
