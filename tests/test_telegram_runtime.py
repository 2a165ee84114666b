"""The Telegram adapter's plumbing: offsets confirmed only after storing, chats in parallel, webhook, shutdown."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest
from pydantic import SecretStr

from bot.adapters.telegram import run_telegram, telegram_enabled
from bot.app import Parts, engine_factory
from bot.core.clock import VirtualClock
from bot.core.events import HumanMessage
from bot.core.memory_store import MemoryStore
from bot.settings import ConfigError, Settings
from tests.fakes.telegram_server import FakeTelegramServer
from tests.kit import ScriptedResponder
from tests.telegram_kit import DM, TelegramScene, dm_key

OTHER_DM = 43


class GatedStore(MemoryStore):
    """A store whose writes for one chat wait until the test opens the gate."""

    def __init__(self, chat: int) -> None:
        super().__init__()
        self.chat = str(chat)
        self.gate = asyncio.Event()

    async def save_human(self, msg: HumanMessage, at: float) -> bool:
        if msg.key.chat == self.chat:
            await self.gate.wait()
        return await super().save_human(msg, at)


async def stored(store: MemoryStore, chat: int, timeout: float = 5.0) -> None:
    """Wait (real time) until the chat has an unanswered message in the store."""
    async with asyncio.timeout(timeout):
        while not (await store.load(dm_key(chat))).pending:
            await asyncio.sleep(0.01)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_an_update_is_confirmed_only_after_it_is_stored_and_other_chats_go_on() -> None:
    store = GatedStore(DM)
    async with TelegramScene(store=store) as tg:
        tg.server.push_message(DM, "hello?")
        slow = tg.server.pending_updates[-1]["update_id"]
        tg.server.push_message(OTHER_DM, "hi")
        await stored(store, OTHER_DM)  # handled while the first chat's store write hangs
        assert not (await store.load(dm_key(DM))).pending
        assert tg.server.offset_confirmed <= slow, "not stored, so not confirmed"
        store.gate.set()
        await tg.handled()
        assert [m.text for m in (await store.load(dm_key(DM))).pending] == ["hello?"]
        assert tg.server.offset_confirmed > slow


async def test_shutdown_mid_reply_is_prompt_leaves_no_tasks_and_sends_nothing_after() -> None:
    tg = TelegramScene(script=lambda r: ["one", "two", "three"])
    async with tg:
        await tg.says(DM, "talk to me")
        await tg.until_sent(DM, 1)
    sent = tg.server.sent_texts(DM)
    assert sent == ["one"]
    leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert leftovers == []
    assert tg.server.pending_updates == [], "everything handled was confirmed at shutdown"


async def test_cancelling_the_runner_like_ctrl_c_also_shuts_down_cleanly() -> None:
    tg = TelegramScene(script=lambda r: ["one", "two"])
    await tg.start()
    await tg.says(DM, "hey")
    assert tg.task is not None
    tg.task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(tg.task, 15)
    await tg.server.stop()
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
    assert tg.server.pending_updates == [], "the stored message was confirmed on the way out"


def test_an_empty_token_line_does_not_enable_telegram() -> None:
    def settings(token: str | None) -> Settings:
        return Settings(_env_file=None, telegram_bot_token=None if token is None else SecretStr(token))  # type: ignore[call-arg]

    assert [telegram_enabled(settings(t)) for t in (None, "", "  ", "123:abc")] == [False, False, False, True]


async def test_settings_survive_a_restart() -> None:
    store = MemoryStore()
    async with TelegramScene(store=store, admins=f"telegram:{DM}") as tg:
        assert await tg.command(DM, "/timing set debounce 9") == ["debounce set to 9"]
    async with TelegramScene(store=store, admins=f"telegram:{DM}") as again:
        (shown,) = await again.command(DM, "/timing show")
        assert "debounce = 9 (override)" in shown


async def test_webhook_mode_sets_the_webhook_and_answers_what_telegram_posts() -> None:
    port = free_port()
    async with TelegramScene(script=lambda r: ["hey via webhook"], webhook_port=port) as tg:
        url = f"http://127.0.0.1:{port}/tg/hook"
        assert tg.server.webhook_url == url
        secret = tg.server.calls_of("setWebhook")[-1].params["secret_token"]
        tg.server.push_message(DM, "hello hook")
        update = tg.server.pending_updates[-1]
        async with aiohttp.ClientSession() as http:
            async with http.post(url, json=update) as forged:
                assert forged.status == 403, "only Telegram knows the secret"
            async with http.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret}) as resp:
                assert resp.status == 200
        assert await tg.until_sent(DM, 1) == ["hey via webhook"]
    assert not tg.server.calls_of("getUpdates")


async def test_a_refused_token_or_an_unreachable_server_is_one_clear_configuration_error() -> None:
    async with FakeTelegramServer(token="999:real-token") as server:
        with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN") as refused:
            await asyncio.wait_for(run_with(server.root, "123:wrong"), 10)
        assert "123:wrong" not in str(refused.value)
    with pytest.raises(ConfigError, match="cannot reach the Telegram Bot API"):
        await asyncio.wait_for(run_with(f"http://127.0.0.1:{free_port()}", "123:token"), 10)


async def run_with(root: str, token: str) -> None:
    clock = VirtualClock()
    settings = Settings(_env_file=None, telegram_bot_token=SecretStr(token),  # type: ignore[call-arg]
                        telegram_api_base_url=root)
    await run_telegram(settings, engine_factory(Parts(settings, clock, ScriptedResponder(clock), MemoryStore())),
                       asyncio.Event())
