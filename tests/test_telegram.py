"""Texting the bot on Telegram, end to end through PTB and a local Bot API server, in virtual time."""

from __future__ import annotations

from collections.abc import AsyncIterator

import openai
import pytest

from bot.core.ports import ReplyRequest
from bot.llm.model_errors import RetryPolicy
from bot.llm.openai_responder import OpenAIResponder
from tests.fakes.openai_server import FakeOpenAIServer, Messages
from tests.kit import unanswered_texts
from tests.telegram_kit import ALICE, BOB, DM, GROUP, TelegramScene, dm_key

THREE_PARTS = ["omg hiii", "yes i saw it lol", "wbu?"]
STICKER = {"file_id": "s1", "file_unique_id": "us1", "type": "regular", "width": 512, "height": 512,
           "is_animated": False, "is_video": False, "emoji": "😂"}


def three_parts(request: ReplyRequest) -> list[str]:
    return list(THREE_PARTS)


@pytest.fixture
async def llm() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer() as server:
        yield server


async def test_dm_burst_of_three_gets_one_reply_in_parts_each_typed_first() -> None:
    async with TelegramScene(script=three_parts) as tg:
        await tg.says(DM, "heyyy")
        await tg.clock.advance(1)
        await tg.says(DM, "saw your story?")
        await tg.clock.advance(1)
        await tg.says(DM, "what's up???")
        last_at = tg.clock.now()
        assert await tg.until_sent(DM, 3) == THREE_PARTS

    assert [unanswered_texts(r) for r in tg.scripted.requests] == [["heyyy", "saw your story?", "what's up???"]]
    sends, typing = tg.sends(DM), [c.at for c in tg.server.chat_actions(DM)]
    assert sends[0].at > last_at
    previous = last_at
    for send in sends:
        assert any(previous <= t < send.at for t in typing), "every part is typed before it arrives"
        previous = send.at
    assert max(typing) < sends[-1].at, "no typing left running after the last part"
    assert all("reply_parameters" not in s.params for s in sends), "no quoting in a DM"


async def test_group_message_without_mention_gets_silence() -> None:
    async with TelegramScene(script=three_parts) as tg:
        await tg.says(GROUP, "anyone up for lunch?", user_id=ALICE, first_name="Alice")
        await tg.says(GROUP, "sunnyside cafe maybe", user_id=BOB, first_name="Bob")
        await tg.clock.advance(120)
        assert tg.server.sent_texts(GROUP) == []
        assert tg.server.chat_actions(GROUP) == []
        assert tg.scripted.requests == []


async def test_group_answers_a_mention_a_reply_and_its_name_quoting_the_message() -> None:
    async with TelegramScene(script=lambda r: ["hiii", "whats up"]) as tg:
        at_mention = await tg.says(GROUP, "hey @textbot_bot you around?", user_id=ALICE)
        by_name = await tg.says(-200, "Sunny what do you think", user_id=BOB, chat_title="Pals")
        for chat, asked in ((GROUP, at_mention), (-200, by_name)):
            await tg.until_sent(chat, 2)
            first, second = tg.sends(chat)
            assert first.params["reply_parameters"]["message_id"] == asked
            assert "reply_parameters" not in second.params
        bot_message = tg.sends(GROUP)[-1].result["message_id"]
        await tg.clock.advance(5)
        reply = await tg.says(GROUP, "lol true", user_id=BOB, reply_to_message_id=bot_message)
        assert await tg.until_sent(GROUP, 4) == ["hiii", "whats up", "hiii", "whats up"]
        assert tg.sends(GROUP)[2].params["reply_parameters"]["message_id"] == reply


async def test_forum_topic_is_its_own_conversation_and_replies_stay_in_it() -> None:
    async with TelegramScene(script=lambda r: ["in the topic"]) as tg:
        await tg.says(-300, "@textbot_bot hi", user_id=ALICE, chat_type="supergroup", message_thread_id=5)
        await tg.says(-300, "@textbot_bot general here", user_id=BOB)
        await tg.until_sent(-300, 2)
        threads = sorted((s.params.get("message_thread_id") or 0) for s in tg.sends(-300))
        assert threads == [0, 5]
        assert {a.params.get("message_thread_id") for a in tg.server.chat_actions(-300)} == {None, 5}
        assert len(tg.scripted.requests) == 2, "two conversations, one answer each"


async def test_human_texts_mid_reply_so_unsent_parts_never_reach_telegram() -> None:
    def answer(request: ReplyRequest) -> list[str]:
        if "wait actually i got the job" in unanswered_texts(request):
            return ["WAIT what", "congrats!!"]
        return ["oh no", "that sucks", "want to talk about it?"]

    tg = TelegramScene(script=answer)
    await tg.store.save_overrides(dm_key(), {"timing": {"debounce": 2, "wpm": 20}})
    async with tg:
        await tg.says(DM, "didn't get the job")
        await tg.until_sent(DM, 1)
        await tg.clock.advance(1.5)
        assert tg.server.chat_actions(DM)[-1].at > tg.sends(DM)[0].at, "part two is being typed"
        await tg.says(DM, "wait actually i got the job")
        await tg.until_sent(DM, 3)
        await tg.clock.advance(60)
        assert tg.server.sent_texts(DM) == ["oh no", "WAIT what", "congrats!!"]
    assert tg.attempts("that sucks") == [] and tg.attempts("want to talk about it?") == []


async def test_edit_mid_burst_is_what_the_model_answers_with_the_real_openai_client(llm: FakeOpenAIServer) -> None:
    def model(messages: Messages) -> str:
        said = " ".join(str(m["content"]) for m in messages if m["role"] == "user")
        return "6 works!\nsee u then" if "at 6" in said else "5 works!\nsee u then"

    llm.reply_with(model)
    tg = TelegramScene()
    client = openai.AsyncOpenAI(base_url=llm.url, api_key="sk-test", max_retries=0, timeout=5.0)
    tg.responder = OpenAIResponder(client, "test-model", tg.clock, RetryPolicy(attempts=2))
    async with client, tg:
        meet = await tg.says(DM, "can we meet at 5")
        await tg.clock.advance(1)
        await tg.edits(DM, meet, "can we meet at 6")
        assert await tg.until_sent(DM, 2) == ["6 works!", "see u then"]
        await tg.clock.advance(30)
        assert tg.server.sent_texts(DM) == ["6 works!", "see u then"]
    users = [m["content"] for m in llm.last_messages() if m["role"] == "user"]
    assert users == ["can we meet at 6"]
    assert llm.request_count == 1


async def test_attachments_reach_the_model_in_words() -> None:
    async with TelegramScene(script=lambda r: ["lmaooo"]) as tg:
        await tg.says(DM, "look at this", photo=True)
        await tg.says(DM, sticker=STICKER)
        await tg.until_sent(DM, 1)
    assert unanswered_texts(tg.scripted.requests[0]) == ["look at this [sent a photo]", "[sent a 😂 sticker]"]


async def test_messages_from_other_bots_are_ignored() -> None:
    async with TelegramScene(script=three_parts) as tg:
        tg.server.users[99] = {"id": 99, "is_bot": True, "first_name": "Other"}
        chat = {"id": GROUP, "type": "group", "title": "G"}
        tg.server.push_update({"message": {
            "message_id": 1, "date": 0, "text": "@textbot_bot beep", "chat": chat, "from": tg.server.users[99],
            "entities": [{"type": "mention", "offset": 0, "length": 12}]}})
        await tg.handled()
        await tg.clock.advance(60)
        assert tg.server.sent_texts(GROUP) == []
