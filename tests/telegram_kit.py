"""A Telegram scene: the real PTB Application against FakeTelegramServer, the engine on a virtual clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType
from typing import Any

from pydantic import SecretStr

from bot.adapters.telegram import run_telegram
from bot.app import Parts, engine_factory
from bot.core.clock import VirtualClock
from bot.core.duplex_port import TurnPredictor
from bot.core.events import ConversationKey
from bot.core.judge_port import Judge
from bot.core.memory_store import MemoryStore
from bot.core.ports import ReplyRequest, Responder
from bot.settings import Settings
from tests.fakes.telegram_server import Call, FakeTelegramServer
from tests.kit import ScriptedResponder

TOKEN = "123456:TEST-token"
BOT_ID = 4242
DM = 42  # a private chat with user 42
GROUP = -100
ALICE, BOB = 7, 8  # group members; tests make Alice an administrator where it matters


def dm_key(chat: int = DM) -> ConversationKey:
    """The engine's key for a private chat."""
    return ConversationKey("telegram", str(chat))


class TelegramScene:
    """The bot running on a fake Telegram, driven like a person would: push messages, watch what arrives."""

    def __init__(self, *, script: Callable[[ReplyRequest], list[str]] | None = None,
                 responder: Responder | None = None, admins: str = "", store: MemoryStore | None = None,
                 webhook_port: int | None = None, latency: float = 1.0,
                 responders: Callable[[VirtualClock], dict[str, Responder]] | None = None,
                 judge: Callable[[VirtualClock], Judge] | None = None,
                 duplex: Callable[[VirtualClock], TurnPredictor] | None = None) -> None:
        self.clock = VirtualClock()
        self.judge = judge(self.clock) if judge else None  # the fast model of the `judge` policies
        self.duplex = duplex(self.clock) if duplex else None  # the fast model of the `duplex` turn policy
        self.responders = responders(self.clock) if responders else {}  # kinds a chat may choose (`actions`)
        self.server = FakeTelegramServer(now=self.clock.now, token=TOKEN, bot_id=BOT_ID)
        self.scripted = ScriptedResponder(self.clock, latency=latency)
        if script is not None:
            self.scripted.script = script
        self.responder: Responder = responder or self.scripted
        self.store = store or MemoryStore()
        self.admins = admins
        self.webhook_port = webhook_port
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self._polls_before = 0

    async def __aenter__(self) -> TelegramScene:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    def settings(self) -> Settings:
        """Settings as `textbot run` would read them, pointed at the fake server."""
        webhook = f"http://127.0.0.1:{self.webhook_port}/tg/hook" if self.webhook_port else None
        return Settings(  # type: ignore[call-arg]
            _env_file=None, telegram_bot_token=SecretStr(TOKEN), telegram_api_base_url=self.server.root,
            telegram_webhook_url=webhook, admin_user_ids=self.admins, persona="sunny",
            turn_policy=None, interrupt_policy=None, group_policy=None,
        )

    async def start(self) -> None:
        """Start the fake server and the bot; return once it is polling (or its webhook is set)."""
        await self.server.start()
        await self.start_bot()

    async def restart(self) -> None:
        """Stop the bot (not the server) and start it again, like a process restart."""
        await self.stop_bot()
        await self.start_bot()

    async def start_bot(self) -> None:
        """Start the bot against the running server; return once it is polling (or its webhook is set)."""
        self.stop = asyncio.Event()
        self._polls_before = len(self.server.calls_of("getUpdates"))
        parts = Parts(self.settings(), self.clock, self.responder, self.store, responders=self.responders,
                      judge=self.judge, duplex=self.duplex)
        self.task = asyncio.create_task(run_telegram(
            parts.settings, engine_factory(parts), self.stop, poll_timeout=5.0, webhook_listen="127.0.0.1",
            webhook_port=self.webhook_port or 0), name="telegram-under-test")
        await self.server.wait_until(self._ready, timeout=10)
        if self.task.done():
            self.task.result()
        if self.webhook_port:
            await self._listening(self.webhook_port)

    @staticmethod
    async def _listening(port: int, timeout: float = 5.0) -> None:
        """PTB sets the webhook a moment before its server accepts connections: wait for the port."""
        async with asyncio.timeout(timeout):
            while True:
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                except OSError:
                    await asyncio.sleep(0.01)
                    continue
                writer.close()
                await writer.wait_closed()
                return

    def _ready(self) -> bool:
        assert self.task is not None
        polling = len(self.server.calls_of("getUpdates")) > self._polls_before
        return self.task.done() or bool(self.server.webhook_url or polling)

    async def stop_bot(self) -> None:
        """Stop the bot (bounded) and re-raise what ended it, if anything did."""
        self.stop.set()
        if self.task is not None:
            task, self.task = self.task, None
            await asyncio.wait_for(task, 15)

    async def close(self) -> None:
        """Stop the bot (bounded) and the server."""
        try:
            await self.stop_bot()
        finally:
            await self.server.stop()

    async def says(self, chat_id: int, text: str = "", **kwargs: Any) -> int:
        """A human sends a message; returns once the bot has stored it. Returns its message id."""
        message = self.server.push_message(chat_id, text, **kwargs)
        await self.handled()
        return int(message["message_id"])

    async def edits(self, chat_id: int, message_id: int, text: str) -> None:
        """A human edits a message; returns once the bot has handled the edit."""
        self.server.push_edit(chat_id, message_id, text)
        await self.handled()

    async def command(self, chat_id: int, text: str, **kwargs: Any) -> list[str]:
        """A human sends a command; returns what the bot answered while handling it."""
        before = len(self.server.sent_texts(chat_id))
        self.server.push_message(chat_id, text, **kwargs)
        await self.handled(virtual=5.0)
        return self.server.sent_texts(chat_id)[before:]

    async def handled(self, virtual: float = 0.0) -> None:
        """Wait until Telegram's offset is past the newest update, i.e. the bot has stored it.

        By default in real time only, so the virtual clock stands still while the update travels;
        with `virtual`, up to that many virtual seconds may pass too (a command's paced answer).
        """
        newest = self.server.pending_updates[-1]["update_id"]
        if virtual:
            await self.clock.run_until(lambda: self.server.offset_confirmed > newest, limit=virtual)
        else:
            await self.server.wait_until(lambda: self.server.offset_confirmed > newest, timeout=5)

    async def until_sent(self, chat_id: int, count: int, limit: float = 120.0) -> list[str]:
        """Let virtual time pass until `count` messages reached the chat; return their texts."""
        await self.clock.run_until(lambda: len(self.server.sent_texts(chat_id)) >= count, limit=limit)
        return self.server.sent_texts(chat_id)

    def sends(self, chat_id: int) -> list[Call]:
        """Successful sendMessage calls to the chat, with their virtual times."""
        return [c for c in self.server.calls_of("sendMessage") if c.ok and c.params["chat_id"] == chat_id]

    def attempts(self, text: str) -> list[Call]:
        """Every sendMessage call carrying `text`, refused or not."""
        return [c for c in self.server.calls_of("sendMessage") if c.params.get("text") == text]
