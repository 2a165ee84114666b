"""The discord.py client: listens on the gateway and hands each translated event to the engine."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Sequence
from typing import Any, Self

import discord
from discord import app_commands

from bot.adapters.discord.gateway import TolerantState
from bot.adapters.discord.outlet import DiscordOutlet
from bot.adapters.discord.slash import SlashBridge, install_commands
from bot.adapters.discord.translate import Receiver, Translator
from bot.core.events import Event

log = logging.getLogger(__name__)
# discord.py sits out a 429 itself (a real sleep, then the same request again) up to this many
# seconds; a longer one raises RateLimited, and the outlet waits on its clock, where a part that
# went stale meanwhile is withdrawn. 30 s is the least discord.py accepts (lower values become 30).
MAX_RATELIMIT_WAIT = 30.0


def textbot_intents() -> discord.Intents:
    """Guilds, guild and DM messages, message content, guild and DM typing; no members intent."""
    return discord.Intents(
        guilds=True, guild_messages=True, dm_messages=True, message_content=True,
        guild_typing=True, dm_typing=True,
    )


class TextbotClient(discord.Client):
    """Translates gateway events into engine events; the slash commands live on its tree."""

    def __init__(self, persona_name: str, admins: frozenset[str], *, guild_ready_timeout: float = 2.0,
                 shard: tuple[int, int] | None = None) -> None:
        shard_id, shard_count = shard if shard is not None else (None, None)
        super().__init__(intents=textbot_intents(), guild_ready_timeout=guild_ready_timeout,
                         max_ratelimit_timeout=MAX_RATELIMIT_WAIT, shard_id=shard_id, shard_count=shard_count)
        self.tree: app_commands.CommandTree[Any] = app_commands.CommandTree(self)
        self.translate = Translator(self, persona_name)
        self._admins = admins
        self._receiver: Receiver | None = None
        self._synced = False

    def _get_state(self, **options: Any) -> TolerantState[Self]:
        return TolerantState(dispatch=self.dispatch, handlers=self._handlers, hooks=self._hooks, http=self.http,
                             **options)

    def attach(self, receiver: Receiver, outlet: DiscordOutlet) -> None:
        """Start handing events to `receiver`; slash command answers go out through `outlet`."""
        self._receiver = receiver
        install_commands(self.tree, SlashBridge(receiver, outlet, self._admins, self.translate.key).run)

    def detach(self) -> None:
        """Stop handing events on (at shutdown, before the engine closes)."""
        self._receiver = None

    async def _hand(self, kind: str, translate: Callable[[], Sequence[Event | None] | Event | None]) -> None:
        # discord.py runs every event in its own task; submitting before this task's first
        # suspension keeps the gateway's order, and the actor keeps it from there.
        try:
            made = translate()
        except Exception as exc:  # a payload discord.py accepted but we cannot read: skip it, quote nothing
            log.warning("discord: skipped a %s that could not be translated (%s)", kind, where(exc))
            return
        for event in made if isinstance(made, Sequence) else [made]:
            if event is not None and self._receiver is not None:
                await self._receiver.receive(event)

    async def on_message(self, message: discord.Message) -> None:
        """Every human message; the core decides whether a server message is for the bot."""
        await self._hand("message", lambda: self.translate.message(message))

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        """An edit, cached message or not."""
        await self._hand("message edit", lambda: self.translate.edit(payload))

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        """A deletion, cached message or not."""
        cached = [payload.cached_message] if payload.cached_message is not None else []
        await self._hand("message delete", lambda: self.translate.deletes(
            payload.channel_id, {payload.message_id}, cached))

    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        """A moderator's bulk deletion."""
        await self._hand("bulk delete", lambda: self.translate.deletes(
            payload.channel_id, payload.message_ids, payload.cached_messages))

    async def on_raw_typing(self, payload: discord.RawTypingEvent) -> None:
        """A typing start (on_typing never fires for DMs without the members intent)."""
        await self._hand("typing start", lambda: self.translate.typing(payload))

    async def on_ready(self) -> None:
        """Register the slash commands once per process (globally: every server and DM)."""
        log.info("discord: connected as %s", self.user)
        if self._synced:
            return
        self._synced = True
        try:
            synced = await self.tree.sync()
        except discord.HTTPException as exc:
            log.warning("discord: could not register slash commands: %s", exc)
            return
        log.info("discord: slash commands registered: %s", ", ".join(c.name for c in synced))


def where(exc: BaseException) -> str:
    """An exception named by its type and the line that raised it (its message may quote a value)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return type(exc).__name__
    last = frames[-1]
    return f"{type(exc).__name__} in {last.name} at {last.filename.rsplit('/', 1)[-1]}:{last.lineno}"
