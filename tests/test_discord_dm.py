"""Texting the bot in a Discord DM, through real discord.py and the fake Discord, in virtual time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from bot.core.ports import ReplyRequest
from tests.discord_scene import DM, HUMAN, DiscordScene, scenes
from tests.kit import unanswered_texts

make_scene = pytest.fixture(scenes)
Make = Callable[..., Awaitable[DiscordScene]]
THREE_PARTS = ["omg hi", "yes i saw it lol", "wbu?"]


def three_parts(request: ReplyRequest) -> list[str]:
    return list(THREE_PARTS)


async def test_burst_with_typing_in_the_gaps_gets_one_reply_after_the_last_message(make_scene: Make) -> None:
    chat = await make_scene(script=three_parts)
    await chat.says("heyyy")
    await chat.waits(0.5)
    await chat.types()
    await chat.waits(8)  # without the typing signal the bot would have answered "heyyy" alone by now
    assert chat.bot_texts() == [] and chat.scripted.requests == []
    await chat.says("saw your story?")
    await chat.waits(0.5)
    await chat.types()
    await chat.waits(7)
    await chat.says("what's up???")
    last = chat.clock.now()
    await chat.until_quiet()

    assert chat.bot_texts() == THREE_PARTS
    assert [unanswered_texts(r) for r in chat.scripted.requests] == [["heyyy", "saw your story?", "what's up???"]]
    sent, typing = chat.sent_at(), chat.typing_at()
    assert sent == sorted(sent) and min(sent) > last
    assert all(any(s - 10 < t < s for t in typing) for s in sent), "typing… shown before every part"
    assert all(m.get("message_reference") is None for m in chat.bot_messages()), "a DM reply quotes nothing"


async def test_typing_while_the_bot_types_part_two_holds_it_and_a_new_message_revises_it(make_scene: Make) -> None:
    def answer(request: ReplyRequest) -> list[str]:
        said = unanswered_texts(request)
        return ["oh no", "what happened?"] if said == ["wait actually my day was awful"] else ["omg hi", "HELD PART"]

    chat = await make_scene(script=answer)
    await chat.says("hey how are you")
    await chat.until(lambda: len(chat.bot_texts()) == 1 and any(t > chat.sent_at()[0] for t in chat.typing_at()))
    await chat.types()  # the human starts typing while the bot is typing its second part
    await chat.waits(5)
    assert chat.bot_texts() == ["omg hi"], "the part is held while the human types"
    await chat.says("wait actually my day was awful")
    await chat.until_quiet()

    assert chat.bot_texts() == ["omg hi", "oh no", "what happened?"]
    assert "HELD PART" not in chat.bot_texts()
    revised = chat.scripted.requests[-1]
    assert [line.text for line in revised.history] == ["hey how are you", "omg hi"]


async def test_typing_that_stops_without_a_message_lets_the_held_part_go(make_scene: Make) -> None:
    chat = await make_scene(script=lambda r: ["omg hi", "kept part"])
    await chat.says("hey")
    await chat.until(lambda: len(chat.bot_texts()) == 1 and any(t > chat.sent_at()[0] for t in chat.typing_at()))
    typing_from = chat.clock.now()
    await chat.types()
    await chat.until_quiet()
    assert chat.bot_texts() == ["omg hi", "kept part"]
    assert chat.sent_at()[1] >= typing_from + 10, "held until the human's typing lapsed"
    assert len(chat.scripted.requests) == 1


async def test_a_429_on_send_delivers_each_part_exactly_once_in_order(make_scene: Make) -> None:
    parts = ["one", "two", "three", "four"]
    chat = await make_scene(script=lambda r: list(parts))
    await chat.says("count for me")
    await chat.until(lambda: len(chat.bot_texts()) == 1)
    chat.server.rate_limit_next("POST", f"/channels/{DM}/messages", retry_after=0.2, times=2)
    await chat.until_quiet()

    assert chat.bot_texts() == parts
    posts = [c for c in chat.server.calls if c.method == "POST" and c.path == f"/channels/{DM}/messages"]
    assert [c.status for c in posts] == [200, 429, 429, 200, 200, 200]
    assert [c.json["content"] for c in posts[1:4]] == ["two", "two", "two"]
    assert len({c.json["nonce"] for c in posts[1:4]}) == 1, "a retry resends the same nonce"
    assert len({c.json["nonce"] for c in posts}) == len(parts)


async def test_a_gateway_drop_mid_burst_resumes_and_the_message_sent_in_the_gap_is_answered(
    make_scene: Make,
) -> None:
    chat = await make_scene(script=lambda r: ["ok", "got both"])
    await chat.says("so i have news,")
    await chat.waits(1)
    await chat.server.force_close()
    gap = chat.server.send_message(DM, HUMAN, "i got the job!!")
    await chat.real_wait(lambda: chat.server.resume_count == 1)
    await chat.real_wait(lambda: any(getattr(e, "message_id", "") == gap["id"] for e in chat.inbox.events))
    await chat.until_quiet()

    assert chat.bot_texts() == ["ok", "got both"]
    assert [unanswered_texts(r) for r in chat.scripted.requests] == [["so i have news,", "i got the job!!"]]
    assert chat.server.identify_count == 1 and chat.server.resume_count == 1
    ids = [getattr(e, "message_id", None) for e in chat.inbox.events]
    assert len([i for i in ids if i]) == len({i for i in ids if i}), "no message handed on twice"


async def test_edits_and_deletes_change_what_the_bot_answers(make_scene: Make) -> None:
    chat = await make_scene(script=lambda r: ["sure"])
    first = await chat.says("can we meet at 5")
    oops = await chat.says("wrong chat sorry")
    chat.server.edit_message(int(first["id"]), "can we meet at 6")
    chat.server.delete_message(int(oops["id"]))
    await chat.real_wait(lambda: len(chat.inbox.events) == 4)
    await chat.until_quiet()
    assert [unanswered_texts(r) for r in chat.scripted.requests] == [["can we meet at 6"]]
    assert chat.bot_texts() == ["sure"]


async def test_attachments_are_described_and_other_bots_are_ignored(make_scene: Make) -> None:
    chat = await make_scene(script=lambda r: ["cute!!"])
    other_bot = {"id": "600", "username": "musicbot", "global_name": "musicbot", "discriminator": "0",
                 "avatar": None, "bot": True, "public_flags": 0}
    chat.server.add_dm_channel(30, other_bot)
    await chat.posts("beep boop", 30, other_bot)
    await chat.says("look at him", attachments=[{"filename": "cat.png", "content_type": "image/png"}])
    await chat.until_quiet()
    assert [unanswered_texts(r) for r in chat.scripted.requests] == [["look at him [sent a photo]"]]
    assert chat.bot_texts() == ["cute!!"] and chat.bot_texts(30) == []


async def test_a_part_over_discords_2000_characters_goes_out_cut_at_a_space(make_scene: Make) -> None:
    rant = " ".join(["blah"] * 600)
    chat = await make_scene(script=lambda r: [rant])
    await chat.says("tell me everything")
    await chat.until_quiet()
    texts = chat.bot_texts()
    assert len(texts) == 2 and all(len(t) <= 2000 for t in texts)
    assert " ".join(texts) == rant
