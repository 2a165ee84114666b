"""The fake Telegram Bot API server, exercised through the real python-telegram-bot 22 client."""

from __future__ import annotations

import asyncio
import datetime as dtm
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    MessageEntity,
    ReplyParameters,
    Update,
)
from telegram.error import BadRequest, EndPointNotFound, NetworkError, RetryAfter
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes, MessageHandler, filters

from tests.fakes.telegram_server import FakeTelegramServer

TOKEN = "123456:TEST-token"


def make_bot(root: str) -> Bot:
    """Build a real PTB Bot that talks to the fake server at ``root``."""
    return Bot(TOKEN, base_url=f"{root}/bot", base_file_url=f"{root}/file/bot")


async def raw_post(root: str, method: str) -> tuple[int, dict[str, Any]]:
    """POST to ``{root}/bot{TOKEN}/{method}`` without PTB; return status and JSON body."""
    async with aiohttp.ClientSession() as http, http.post(f"{root}/bot{TOKEN}/{method}") as resp:
        return resp.status, await resp.json()


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    """A running fake server."""
    async with FakeTelegramServer() as srv:
        yield srv


@pytest.fixture
async def bot(server: FakeTelegramServer) -> AsyncIterator[Bot]:
    """An initialized PTB Bot pointed at the fake server."""
    async with make_bot(server.root) as b:
        yield b


async def test_get_me_and_url_shape(server: FakeTelegramServer, bot: Bot) -> None:
    """getMe answers with the bot user, at {root}/bot{token}/getMe."""
    assert bot.base_url == f"{server.root}/bot{TOKEN}"
    me = await bot.get_me()
    assert (me.is_bot, me.username, me.first_name) == (True, "textbot_bot", "textbot")
    assert bot.username == "textbot_bot"  # Bot.initialize() already called getMe
    assert [c.method for c in server.calls] == ["getMe", "getMe"]
    status, body = await raw_post(server.root, "getMe")
    assert status == 200 and body["result"]["username"] == "textbot_bot"


async def test_unknown_method_is_bot_api_404(server: FakeTelegramServer, bot: Bot) -> None:
    """Unknown methods get Telegram's 404 body, which PTB maps to EndPointNotFound."""
    status, body = await raw_post(server.root, "fooBar")
    assert status == 404
    assert body == {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("fooBar")
    status, body = await raw_post(server.root, "sendMessage")  # no chat_id
    assert status == 400 and body["description"].startswith("Bad Request")


async def test_send_message_with_reply_parameters(server: FakeTelegramServer, bot: Bot) -> None:
    """sendMessage decodes nested JSON, shares message ids with the human, and fills reply_to."""
    human = server.push_message(-100, "hey @textbot_bot", chat_title="Friends", user_id=7)
    assert human["chat"]["type"] == "group"
    assert human["entities"] == [{"type": "mention", "offset": 4, "length": 12}]
    msg = await bot.send_message(
        -100, "hi!", reply_parameters=ReplyParameters(human["message_id"])
    )
    assert msg.message_id == human["message_id"] + 1
    assert msg.chat.type == "group" and msg.chat.title == "Friends"
    assert msg.from_user is not None and msg.from_user.id == bot.id
    assert msg.reply_to_message is not None
    assert msg.reply_to_message.text == "hey @textbot_bot"
    (call,) = server.calls_of("sendMessage")
    assert call.params == {"chat_id": -100, "text": "hi!",
                           "reply_parameters": {"message_id": human["message_id"]}}
    assert server.sent_texts(-100) == ["hi!"] and server.sent_texts(5) == []
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await bot.send_message(-100, "x", reply_parameters=ReplyParameters(999))
    assert server.sent_texts() == ["hi!"]


async def test_get_updates_confirms_offsets(server: FakeTelegramServer, bot: Bot) -> None:
    """getUpdates returns queued updates until an offset above them confirms them."""
    first = server.push_message(42, "/start")
    server.push_message(42, "héllo 👋 @someone_else", first_name="Bob")
    updates = await bot.get_updates(timeout=0)
    assert [u.message.text for u in updates if u.message] == ["/start", "héllo 👋 @someone_else"]
    assert updates[0].message is not None and updates[0].message.message_id == first["message_id"]
    cmd, mention = updates[0].message.entities[0], updates[1].message.entities[0]  # type: ignore[union-attr]
    assert cmd.type == MessageEntity.BOT_COMMAND and (cmd.offset, cmd.length) == (0, 6)
    assert updates[1].message.parse_entity(mention) == "@someone_else"  # type: ignore[union-attr]
    assert server.offset_confirmed == 0
    server.push_message(42, "look", photo=True)
    updates = await bot.get_updates(timeout=0)  # not confirmed yet: delivered again
    assert len(updates) == 3 and updates[2].message is not None
    assert updates[2].message.caption == "look" and updates[2].message.photo
    assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0) == ()
    assert server.offset_confirmed == updates[-1].update_id + 1
    assert server.pending_updates == []


async def test_long_poll_returns_as_soon_as_an_update_arrives(
    server: FakeTelegramServer, bot: Bot
) -> None:
    """A long poll blocks until a message is pushed, then returns at once."""
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await server.wait_until(lambda: bool(server.calls_of("getUpdates")))
    await asyncio.sleep(0.05)
    assert not poll.done()
    loop = asyncio.get_running_loop()
    started = loop.time()
    server.push_edit(*_ids(server.push_message(42, "helo")), "hello")
    updates = await asyncio.wait_for(poll, 2)
    assert loop.time() - started < 1
    assert len(updates) == 2
    assert updates[1].edited_message is not None
    assert updates[1].edited_message.text == "hello"


def _ids(message: dict[str, object]) -> tuple[int, int]:
    chat = message["chat"]
    assert isinstance(chat, dict)
    return chat["id"], int(str(message["message_id"]))


async def test_long_poll_wakes_promptly_on_stop() -> None:
    """Stopping the server answers a pending long poll instead of waiting out its timeout."""
    srv = FakeTelegramServer(now=lambda: 1234.5)  # a virtual clock timestamps the calls
    root = await srv.start()
    async with make_bot(root) as b:
        poll = asyncio.create_task(b.get_updates(timeout=30))
        await srv.wait_until(lambda: bool(srv.calls_of("getUpdates")))
        loop = asyncio.get_running_loop()
        started = loop.time()
        await srv.stop()
        assert await asyncio.wait_for(poll, 3) == ()
        assert loop.time() - started < 2
    assert {c.at for c in srv.calls} == {1234.5}
    await srv.stop()  # idempotent


async def test_429_raises_retry_after_and_delivers_nothing(
    server: FakeTelegramServer, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An injected 429 becomes RetryAfter; only the retry is delivered, exactly once."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    server.fail_next("sendMessage", retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(42, "part one")
    assert caught.value.retry_after == dtm.timedelta(seconds=7)
    assert server.sent_texts() == []
    failed = server.calls_of("sendMessage")[0]
    assert not failed.ok and failed.result == {
        "ok": False, "error_code": 429, "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7},
    }
    await bot.send_message(42, "part one")
    assert server.sent_texts(42) == ["part one"]


async def test_5xx_and_dropped_connections_are_network_errors(
    server: FakeTelegramServer, bot: Bot
) -> None:
    """502 and a dropped connection raise NetworkError; deliver=True simulates a lost reply."""
    server.fail_next("sendMessage", status=502)
    server.drop_next("sendMessage")
    for _ in range(2):
        with pytest.raises(NetworkError) as caught:
            await bot.send_message(42, "lost")
        assert not isinstance(caught.value, RetryAfter)
    assert server.sent_texts() == []
    server.drop_next("sendMessage", deliver=True)
    with pytest.raises(NetworkError):
        await bot.send_message(42, "arrived, reply lost")
    assert server.sent_texts() == ["arrived, reply lost"]
    assert [c.ok for c in server.calls_of("sendMessage")] == [False, False, True]


async def test_commands_round_trip(server: FakeTelegramServer, bot: Bot) -> None:
    """setMyCommands / getMyCommands / deleteMyCommands, per scope."""
    commands = [BotCommand("start", "say hi"), BotCommand("reset", "forget this chat")]
    assert await bot.set_my_commands(commands)
    assert await bot.set_my_commands(commands[:1], scope=BotCommandScopeAllGroupChats())
    assert server.calls_of("setMyCommands")[0].params["commands"] == [
        {"command": "start", "description": "say hi"},
        {"command": "reset", "description": "forget this chat"},
    ]
    assert tuple(await bot.get_my_commands()) == tuple(commands)
    assert len(await bot.get_my_commands(scope=BotCommandScopeAllGroupChats())) == 1
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()
    with pytest.raises(BadRequest):
        await bot.set_my_commands([BotCommand("Start", "uppercase is invalid")])


async def test_edit_delete_and_chat_actions(server: FakeTelegramServer, bot: Bot) -> None:
    """Typing, edits and deletes are recorded and change what the human sees."""
    assert await bot.send_chat_action(42, "typing")
    first = await bot.send_message(42, "cool!")
    second = await bot.send_message(42, "what about work?")
    edited = await bot.edit_message_text("cool", chat_id=42, message_id=first.message_id)
    assert not isinstance(edited, bool) and edited.edit_date is not None
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text("cool", chat_id=42, message_id=first.message_id)
    assert await bot.delete_message(42, second.message_id)
    with pytest.raises(BadRequest, match="not found"):
        await bot.delete_message(42, second.message_id)
    assert server.visible_texts(42) == ["cool"]
    assert server.sent_texts(42) == ["cool!", "what about work?"]
    (action,) = server.chat_actions(42)
    assert action.params["action"] == "typing"
    assert action.at <= server.calls_of("sendMessage")[0].at


async def test_members_admins_chat_and_callbacks(server: FakeTelegramServer, bot: Bot) -> None:
    """getChatMember / getChatAdministrators follow set_admins; getChat knows pushed chats."""
    server.push_message(-200, "hi", user_id=7, first_name="Ann", chat_type="supergroup",
                        chat_title="Crew", message_thread_id=3)
    server.set_admins(-200, [7])
    assert (await bot.get_chat_member(-200, 7)).status == "administrator"
    assert (await bot.get_chat_member(-200, 8)).status == "member"
    (admin,) = await bot.get_chat_administrators(-200)
    assert admin.user.first_name == "Ann"
    chat = await bot.get_chat(-200)
    assert (chat.type, chat.title, chat.is_forum) == ("supergroup", "Crew", True)
    assert await bot.answer_callback_query("cbq-1", text="done")


async def test_webhook_methods(server: FakeTelegramServer, bot: Bot) -> None:
    """setWebhook blocks getUpdates with 409 until deleteWebhook; info reflects pending updates."""
    server.push_message(42, "queued")
    assert await bot.set_webhook("https://example.invalid/hook")
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count) == ("https://example.invalid/hook", 1)
    with pytest.raises(Exception, match="webhook is active"):
        await bot.get_updates(timeout=0)
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert (await bot.get_webhook_info()).url == ""
    assert await bot.get_updates(timeout=0) == ()


async def test_real_application_polls_and_handles_a_message(server: FakeTelegramServer) -> None:
    """A real PTB Application long-polls the fake, handles a pushed message, shuts down clean."""
    seen: list[str] = []
    handled, started = asyncio.Event(), asyncio.Event()

    async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        await context.bot.send_message(update.effective_chat.id, "hi, group")
        started.set()

    async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_message.text
        seen.append(update.effective_message.text)
        await update.effective_message.reply_text(f"echo: {update.effective_message.text}")
        handled.set()

    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(f"{server.root}/bot")
        .base_file_url(f"{server.root}/file/bot")
        .build()
    )
    app.add_handler(CommandHandler("start", on_start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, on_text))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        server.push_message(42, "hello there")
        await asyncio.wait_for(handled.wait(), 5)
        server.push_message(-100, "/start@textbot_bot")  # PTB checks the @username suffix
        update_id = server.pending_updates[-1]["update_id"]
        await asyncio.wait_for(started.wait(), 5)
        await app.updater.stop()
        await app.stop()
    assert seen == ["hello there"]
    assert server.sent_texts(42) == ["echo: hello there"]
    assert server.sent_texts(-100) == ["hi, group"]
    assert server.calls_of("deleteWebhook")  # start_polling clears any webhook first
    # The updater's shutdown getUpdates confirmed the last handled update.
    assert server.offset_confirmed == update_id + 1 and server.pending_updates == []
