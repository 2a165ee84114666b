"""The `duplex` turn policy on Telegram and on Discord (where the human's typing also holds the draft).

The bots run on the fake platforms in virtual time; the duplex model is the real openai client against the
local Chat Completions server; the main model is the scripted responder, which must never be asked.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from bot.core.ports import ReplyRequest
from tests.discord_scene import DiscordScene, scenes
from tests.duplex_kit import DuplexModel, duplex_model, more, over, planned_ticks
from tests.telegram_kit import DM, TelegramScene

fast = pytest.fixture(duplex_model)
make_scene = pytest.fixture(scenes)
Make = Callable[..., Awaitable[DiscordScene]]


def generated(request: ReplyRequest) -> list[str]:
    """The main model's reply (these tests expect it never to be asked)."""
    return ["a generated reply"]


def congrats_after_a_second(burst: str, ticks: int) -> str:
    """Turn over after two ticks of quiet, with a two-part draft."""
    return over("omg congrats!!\nwhen do u start") if ticks >= 2 else more("and i start monday")


async def test_on_telegram_the_drafted_reply_arrives_with_no_generation(fast: DuplexModel) -> None:
    fast.script = congrats_after_a_second
    tg = TelegramScene(script=generated, admins=f"telegram:{DM}", duplex=fast.duplex)
    await tg.start()
    try:
        assert await tg.command(DM, "/policy turn duplex") == ["turn policy set to duplex"]
        await tg.says(DM, "i got the job!!")
        await tg.clock.run_until(lambda: "when do u start" in tg.server.sent_texts(DM), limit=60)
        assert tg.server.sent_texts(DM)[-2:] == ["omg congrats!!", "when do u start"]
        assert tg.scripted.requests == [], "the draft was the reply: the main model was never asked"
        assert [ticks for _, ticks in fast.asked()] == planned_ticks("i got the job!!", 2)
    finally:
        await tg.close()


async def test_on_discord_the_humans_typing_holds_the_draft_until_it_lapses(make_scene: Make,
                                                                            fast: DuplexModel) -> None:
    fast.script, fast.latency = (lambda burst, ticks: over("omg congrats!!\nwhen do u start")), 0.3
    chat = await make_scene(script=generated, duplex=fast.duplex, settings={"turn_policy": "duplex"})
    await chat.says("i got the job!!")
    await chat.types()
    typing_from = chat.clock.now()
    await chat.waits(5)
    assert chat.bot_texts() == [], "the model says the turn is over, but the human is typing"
    await chat.until(lambda: len(chat.bot_texts()) == 2)
    assert chat.bot_texts() == ["omg congrats!!", "when do u start"]
    assert chat.sent_at()[0] >= typing_from + 10, "held until the human's typing lapsed"
    assert chat.scripted.requests == [] and len(fast.asked()) == 1, "one duplex request, no generation"


async def test_on_discord_a_draft_held_by_typing_is_dropped_when_the_human_sends_more(make_scene: Make,
                                                                                      fast: DuplexModel) -> None:
    def drafts(burst: str, ticks: int) -> str:
        return over("omg congrats!!\nmonday already??") if "monday" in burst else over("omg congrats")

    fast.script, fast.latency = drafts, 0.3
    chat = await make_scene(script=generated, duplex=fast.duplex, settings={"turn_policy": "duplex"})
    await chat.says("i got the job!!")
    await chat.types()
    await chat.waits(3)
    await chat.says("and i start monday")
    await chat.until(lambda: len(chat.bot_texts()) == 2)
    await chat.until_quiet()
    assert chat.bot_texts() == ["omg congrats!!", "monday already??"], "the stale draft never reached Discord"
    assert chat.scripted.requests == []
