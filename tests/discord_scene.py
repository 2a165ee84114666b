"""A Discord scene: the real discord.py client and the engine in virtual time, against the fake Discord.

The engine runs on a VirtualClock; the fake stamps every REST call with that clock, so the
timing of what the human sees (typing, messages) is virtual. Gateway events travel over real
sockets: a scene waits (in real time, with virtual time standing still) until the engine has
received each one before letting virtual time move on.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from bot.adapters.discord import DiscordOutlet, TextbotClient
from bot.app import Parts, build_engine
from bot.core.clock import VirtualClock
from bot.core.duplex_port import TurnPredictor
from bot.core.engine import Engine
from bot.core.events import Event
from bot.core.judge_port import Judge
from bot.core.memory_store import MemoryStore
from bot.core.ports import Responder
from bot.settings import Settings
from tests.fakes.discord_connect import point_discord_at, run_client
from tests.fakes.discord_payloads import JSON
from tests.fakes.discord_server import FakeDiscordServer
from tests.kit import ScriptedResponder

GUILD, CHANNEL, THREAD, DM, OTHER_DM = 10, 11, 12, 20, 21
HUMAN, OTHER, ADMIN = 501, 502, 503  # ADMIN is in ADMIN_USER_IDS; nobody has Manage Server by default
MANAGE_GUILD = str(1 << 5)
REAL_WAIT = 5.0


class Recorded:
    """Forwards events to the engine and notes each once the engine has it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.events: list[Event] = []

    async def receive(self, event: Event) -> None:
        """Hand on, then note."""
        await self.engine.receive(event)
        self.events.append(event)


class DiscordScene:
    """People in a fake Discord (a server with a channel and a thread, and DMs) texting the bot."""

    def __init__(self, *, script: Callable[..., list[str]] | None = None, responder: Responder | None = None,
                 settings: dict[str, Any] | None = None,
                 responders: Callable[[VirtualClock], dict[str, Responder]] | None = None,
                 judge: Callable[[VirtualClock], Judge] | None = None,
                 duplex: Callable[[VirtualClock], TurnPredictor] | None = None) -> None:
        self.clock = VirtualClock()
        self.server = FakeDiscordServer(now=self.clock.now)
        self.scripted = ScriptedResponder(self.clock)
        if script is not None:
            self.scripted.script = script
        values: dict[str, Any] = {"persona": "sunny", "admin_user_ids": f"discord:{ADMIN}", **(settings or {})}
        self.settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
        self.store = MemoryStore()
        self.parts = Parts(self.settings, self.clock, responder or self.scripted, self.store, rng=random.Random(7),
                           responders=responders(self.clock) if responders else {},
                           judge=judge(self.clock) if judge else None,
                           duplex=duplex(self.clock) if duplex else None)
        self.client = TextbotClient("sunny", self.settings.admins(), guild_ready_timeout=0.05)
        self.outlet = DiscordOutlet(self.client, self.clock)
        self.engine = build_engine(self.parts, self.outlet)
        self.inbox = Recorded(self.engine)
        self.client.attach(self.inbox, self.outlet)
        self._restore: Callable[[], None] = lambda: None
        self._gateway: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Serve the fake, connect the bot and wait until its slash commands are registered."""
        await self.server.start()
        thread = {"id": THREAD, "type": 11, "parent_id": CHANNEL, "name": "side talk"}
        self.server.add_guild(GUILD, "guild", [CHANNEL, thread], members=[HUMAN, OTHER, ADMIN])
        self.server.add_dm_channel(DM, HUMAN)
        self.server.add_dm_channel(OTHER_DM, OTHER)
        self._restore = point_discord_at(self.server.api_base, self.server.gateway_url)
        self._gateway = await run_client(self.client, self.server.token, timeout=REAL_WAIT)
        await self.real_wait(lambda: bool(self.server.commands.get(None)))

    async def close(self) -> None:
        """Stop listening, stop the engine, close the client and the fake."""
        self.client.detach()
        await self.engine.close()
        await self.client.close()
        if self._gateway is not None:
            await asyncio.wait_for(self._gateway, REAL_WAIT)
        await self.server.stop()
        self._restore()

    @property
    def bot_id(self) -> int:
        """The bot's user id."""
        return self.server.application_id

    # ---------------------------------------------------------------- the humans
    async def says(self, text: str, channel: int = DM, user: int | JSON = HUMAN, **kwargs: Any) -> JSON:
        """A person posts; returns once the bot's engine has the message."""
        sent = self.server.send_message(channel, user, text, **kwargs)
        await self.real_wait(lambda: self.seen(sent["id"]))
        return sent

    async def posts(self, text: str, channel: int, user: int | JSON, **kwargs: Any) -> JSON:
        """Anyone posts (a bot too); returns once the client has handled the message, passed on or not."""
        sent = self.server.send_message(channel, user, text, **kwargs)
        await self.real_wait(lambda: any(str(m.id) == sent["id"] for m in self.client.cached_messages))
        return sent

    async def types(self, channel: int = DM, user: int = HUMAN) -> None:
        """Someone starts typing; returns once the engine has the typing event."""
        before = len(self.inbox.events)
        self.server.start_typing(channel, user)
        await self.real_wait(lambda: len(self.inbox.events) > before)

    async def slash(self, name: str, user: int, channel: int = DM, *, options: list[JSON] | None = None,
                    permissions: str = "0") -> str:
        """Someone runs a slash command; returns the bot's answer to it."""
        inter = self.server.send_interaction(name, user, channel, options=options, permissions=permissions)
        path = f"/webhooks/{self.server.application_id}/{inter['token']}/messages/@original"
        await self.real_wait(lambda: any(c.path == path and c.method == "PATCH" for c in self.server.calls))
        answer = next(c for c in self.server.calls if c.path == path and c.method == "PATCH")
        return str(answer.json["content"])

    def seen(self, message_id: str) -> bool:
        """True once the engine has the message (or an edit or delete of it)."""
        return any(getattr(e, "message_id", None) == message_id for e in self.inbox.events)

    # ---------------------------------------------------------------- time
    async def real_wait(self, done: Callable[[], bool]) -> None:
        """Wait in real time (virtual time standing still) until `done()`; bounded."""
        async with asyncio.timeout(REAL_WAIT):
            while not done():
                await asyncio.sleep(0.005)
        await self.clock.settle()

    async def waits(self, seconds: float) -> None:
        """Let `seconds` of virtual time pass."""
        await self.clock.advance(seconds)

    async def until(self, done: Callable[[], bool], limit: float = 300.0) -> None:
        """Let virtual time pass until `done()`."""
        await self.clock.run_until(done, limit=limit)

    async def until_quiet(self, limit: float = 300.0) -> None:
        """Let virtual time pass until the bot has nothing left to do."""
        await self.until(lambda: all(a.job is None and not a.state.pending for a in self.engine.actors.values()),
                         limit)

    # ---------------------------------------------------------------- what people see
    def bot_messages(self, channel: int = DM) -> list[JSON]:
        """The bot's messages in a channel, oldest first."""
        return self.server.sent_messages(channel, include_deleted=True)

    def bot_texts(self, channel: int = DM) -> list[str]:
        """What the bot said in a channel."""
        return [m["content"] for m in self.bot_messages(channel)]

    def sent_at(self, channel: int = DM) -> list[float]:
        """When (virtual) each of the bot's messages in a channel was delivered."""
        path = f"/channels/{channel}/messages"
        return [c.at for c in self.server.calls if c.method == "POST" and c.path == path and c.status == 200]

    def typing_at(self, channel: int = DM) -> list[float]:
        """When (virtual) the bot showed "typing…" in a channel."""
        return [c.at for c in self.server.typing_calls(channel)]


async def scenes() -> AsyncIterator[Callable[..., Awaitable[DiscordScene]]]:
    """Fixture body (`make_scene = pytest.fixture(scenes)`): started scenes, each closed after the test."""
    made: list[DiscordScene] = []

    async def make(**kwargs: Any) -> DiscordScene:
        scene = DiscordScene(**kwargs)
        made.append(scene)
        await scene.start()
        return scene

    yield make
    for scene in made:
        await scene.close()
