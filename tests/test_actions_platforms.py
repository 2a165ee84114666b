"""The `actions` responder chosen three ways (RESPONDER, /policy on Telegram, the web chat's control) and seen
on each platform: pushed texts arrive, a stale draft never does, an undone message disappears."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from pydantic import SecretStr

from bot.app import Parts, build_engine, build_responders
from bot.core.clock import VirtualClock
from bot.core.events import Author, Command, ConversationKey, HumanMessage
from bot.core.memory_store import MemoryStore
from bot.core.ports import Responder
from bot.settings import Settings
from bot.testing import RecordingOutlet, ScriptedResponder
from tests.actions_kit import actions
from tests.discord_scene import DM, DiscordScene, scenes
from tests.fakes.openai_answers import Answer, call, calls
from tests.fakes.openai_server import FakeOpenAIServer, Messages
from tests.telegram_kit import DM as TG_DM
from tests.telegram_kit import TelegramScene
from tests.web_kit import Tab, web_chat

make_discord = pytest.fixture(scenes)


@pytest.fixture
async def model() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer() as server:
        yield server


def only_actions(model: FakeOpenAIServer) -> Callable[[VirtualClock], dict[str, Responder]]:
    return lambda clock: {"actions": actions(model)(clock)}


async def test_responder_actions_in_settings_makes_chats_compose_with_tools_and_a_chat_can_switch_back(
    model: FakeOpenAIServer,
) -> None:
    model.replies(calls(call("append", text="hey you"), call("push"), call("done")))
    clock = VirtualClock()
    settings = Settings(_env_file=None, persona="sunny", responder="actions", turn_policy="fixed:1",  # type: ignore[call-arg]
                        openai_base_url=model.url, openai_api_key=SecretStr("sk-test"), llm_model="test-model")
    stream = ScriptedResponder(clock, script=lambda request: ["streamed"])
    outlet = RecordingOutlet(clock)
    engine = build_engine(Parts(settings, clock, stream, MemoryStore(), rng=random.Random(1),
                                responders=build_responders(settings, clock)), outlet)
    key, human = ConversationKey("test", "c1"), Author("u1", "Alex")
    try:
        await engine.receive(HumanMessage(key, "h1", human, "hii"))
        await clock.run_until(lambda: len(outlet.sent) == 1, limit=60)
        assert [s.text for s in outlet.sent] == ["hey you"]
        assert model.request_count == 1 and model.requests[0]["tools"] and stream.requests == []

        await engine.receive(Command(key, human, "policy", ("responder", "stream"), is_admin=True))
        await engine.receive(HumanMessage(key, "h3", human, "still there?"))
        await clock.run_until(lambda: outlet.sent[-1].text == "streamed", limit=60)
        assert model.request_count == 1, "the stream kind does not ask the actions model"
    finally:
        await engine.close()


async def test_on_telegram_a_pushed_text_arrives_and_an_undone_one_is_deleted(model: FakeOpenAIServer) -> None:
    model.replies(calls(call("append", text="omg the new place?"), call("push")),
                  calls(call("undo")),
                  calls(call("append", text="wait which one"), call("push"), call("done")))
    async with TelegramScene(admins=f"telegram:{TG_DM}", responders=only_actions(model)) as tg:
        assert await tg.command(TG_DM, "/policy responder actions") == ["responder policy set to actions"]
        await tg.says(TG_DM, "dinner tonight at the usual?")
        await tg.until_sent(TG_DM, 3)
        await tg.clock.advance(10)

        assert tg.server.sent_texts(TG_DM)[1:] == ["omg the new place?", "wait which one"]
        assert tg.server.visible_texts(TG_DM)[1:] == ["wait which one"]
        first = tg.sends(TG_DM)[1].result["message_id"]
        assert [c.params["message_id"] for c in tg.server.calls_of("deleteMessage") if c.ok] == [first]
        assert tg.server.chat_actions(TG_DM), "typing… shown while it composed"


async def test_on_discord_a_pushed_text_arrives_and_an_undone_one_is_deleted(
    model: FakeOpenAIServer, make_discord: Callable[..., Awaitable[DiscordScene]],
) -> None:
    model.replies(calls(call("append", text="lol same"), call("push")),
                  calls(call("undo")),
                  calls(call("append", text="wait no"), call("push"), call("done")))
    chat = await make_discord(settings={"responder": "actions"}, responders=only_actions(model))
    await chat.says("i'm so tired")
    await chat.until(lambda: len(chat.bot_texts()) == 2)
    await chat.waits(10)

    assert chat.bot_texts() == ["lol same", "wait no"]
    assert [m["content"] for m in chat.server.sent_messages(DM)] == ["wait no"]
    deleted = [c for c in chat.server.calls if c.method == "DELETE" and c.status == 204]
    assert [c.path for c in deleted] == [f"/channels/{DM}/messages/{chat.bot_messages()[0]['id']}"]
    assert chat.typing_at(), "typing… shown while it composed"


async def test_in_the_web_chat_the_human_never_sees_a_draft_their_new_message_made_stale(
    model: FakeOpenAIServer,
) -> None:
    tabs: list[Tab] = []

    async def thinking(messages: Messages) -> Answer:
        if model.request_count == 1:
            return calls(call("append", text="yes i'd love to"))
        if model.request_count == 2:  # while the model decides to push, the human adds something
            assert (await tabs[0].says("m2", "jk it's at 6am"))["type"] == "ack"
            return calls(call("push"))
        return calls(call("reset"), call("append", text="6am?? no way"), call("push"), call("done"))

    model.reply_with(thinking)
    async with web_chat(responders=only_actions(model)) as site, site.tab("tab-actions") as tab:
        tabs.append(tab)
        await tab.send({"type": "set_policy", "kind": "responder", "name": "actions"})
        assert (await tab.next("settings"))["responder"] == "actions"
        assert (await tab.says("m1", "wanna go hiking saturday?"))["type"] == "ack"
        await site.clock.run_until(lambda: model.request_count == 3, limit=120)
        await site.chat.engine.until_idle(limit=120)

        seen = [await tab.next("bubble", "typing")]
        while not (seen[-1]["type"] == "bubble" and seen[-1]["role"] == "bot"):
            seen.append(await tab.next("bubble", "typing"))
        assert seen[-1]["text"] == "6am?? no way"
        assert any(m["type"] == "typing" and m["on"] for m in seen[:-1]), "typing… before the text"
        bots = [b["text"] for b in (await site.welcome("tab-actions"))["transcript"] if b["role"] == "bot"]
        assert bots == ["6am?? no way"], "the first draft never became a bubble"
        svg = (await tab.next("timeline"))["svg"]
        while 'class="mark action_push"' not in svg:  # redraws are coalesced: the last one has every step
            svg = (await tab.next("timeline"))["svg"]
        assert 'class="mark action_refused"' in svg and "push “yes i'd love to” (refused: they wrote" in svg
