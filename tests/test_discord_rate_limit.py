"""A long Discord rate limit: the part waits on the clock, and one the human made stale meanwhile never goes out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from bot.adapters.discord.client import MAX_RATELIMIT_WAIT
from bot.core.ports import ReplyRequest
from tests.discord_scene import DM, HUMAN, DiscordScene, scenes
from tests.fakes.discord_rest import Call
from tests.kit import unanswered_texts

make_scene = pytest.fixture(scenes)
Make = Callable[..., Awaitable[DiscordScene]]
RETRY_AFTER = 40.0
EPSILON = 1e-6  # float sums of virtual times


def answer(request: ReplyRequest) -> list[str]:
    if "wait, never mind" in unanswered_texts(request):
        return ["oh ok np"]
    return ["so basically", "it's a long story"]


def posts(chat: DiscordScene) -> list[Call]:
    return [c for c in chat.server.calls if c.method == "POST" and c.path == f"/channels/{DM}/messages"]


async def rate_limited_after_part_one(chat: DiscordScene) -> float:
    """The human asks; part one arrives; part two meets a 429 asking for 40 s. Returns when it did."""
    await chat.says("what happened?")
    await chat.until(lambda: chat.bot_texts() == ["so basically"])
    chat.server.rate_limit_next("POST", f"/channels/{DM}/messages", retry_after=RETRY_AFTER)
    await chat.until(lambda: [c.status for c in posts(chat)] == [200, 429])
    return posts(chat)[-1].at


async def test_a_part_the_human_made_stale_during_a_long_rate_limit_is_withdrawn_not_posted(make_scene: Make) -> None:
    assert RETRY_AFTER > MAX_RATELIMIT_WAIT, "discord.py hands this wait back to the outlet"
    chat = await make_scene(script=answer)
    limited_at = await rate_limited_after_part_one(chat)
    await chat.waits(5)
    never_mind = chat.server.send_message(DM, HUMAN, "wait, never mind")
    await chat.until(lambda: chat.seen(never_mind["id"]))  # virtual time moves: the waiting part lets go
    assert chat.clock.now() < limited_at + 6, "the stale part let go at once, not after the limit"
    await chat.until_quiet()

    assert chat.bot_texts() == ["so basically", "oh ok np"]
    assert [c.json["content"] for c in posts(chat)] == ["so basically", "it's a long story", "oh ok np"]
    assert posts(chat)[-1].at >= limited_at + RETRY_AFTER - EPSILON, "nothing posted into the rate limit"


async def test_a_part_still_wanted_after_a_long_rate_limit_goes_out_once_when_it_ends(make_scene: Make) -> None:
    chat = await make_scene(script=answer)
    limited_at = await rate_limited_after_part_one(chat)
    await chat.until_quiet()

    assert chat.bot_texts() == ["so basically", "it's a long story"]
    assert [c.status for c in posts(chat)] == [200, 429, 200]
    assert limited_at + RETRY_AFTER - EPSILON <= posts(chat)[-1].at < limited_at + RETRY_AFTER + 1
