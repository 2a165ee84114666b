"""The discord.py client: listens on the gateway and hands each translated event to the engine."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

from bot.adapters.discord.inbound import Receiver, Translator
from bot.adapters.discord.outlet import DiscordOutlet
from bot.adapters.discord.slash import SlashBridge, install_commands
from bot.core.events import Event

log = logging.getLogger(__name__)


def textbot_intents() -> discord.Intents:
    """Guilds, guild and DM messages, message content, guild and DM typing; no members intent."""
    return discord.Intents(
        guilds=True, guild_messages=True, dm_messages=True, message_content=True,
        guild_typing=True, dm_typing=True,
    )


class TextbotClient(discord.Client):
    """Translates gateway events into engine events; the slash commands live on its tree."""

    def __init__(self, persona_name: str, admins: frozenset[str], *, guild_ready_timeout: float = 2.0) -> None:
        super().__init__(intents=textbot_intents(), guild_ready_timeout=guild_ready_timeout)
        self.tree: app_commands.CommandTree[Any] = app_commands.CommandTree(self)
        self.translate = Translator(self, persona_name)
        self._admins = admins
        self._receiver: Receiver | None = None
        self._synced = False

    def attach(self, receiver: Receiver, outlet: DiscordOutlet) -> None:
        """Start handing events to `receiver`; slash command answers go out through `outlet`."""
        self._receiver = receiver
        install_commands(self.tree, SlashBridge(receiver, outlet, self._admins, self.translate.key).run)

    def detach(self) -> None:
        """Stop handing events on (at shutdown, before the engine closes)."""
        self._receiver = None

    async def _hand(self, event: Event | None) -> None:
        # discord.py runs every event in its own task; submitting before this task's first
        # suspension keeps the gateway's order, and the actor keeps it from there.
        if event is not None and self._receiver is not None:
            await self._receiver.receive(event)

    async def on_message(self, message: discord.Message) -> None:
        """Every human message; the core decides whether a server message is for the bot."""
        await self._hand(self.translate.message(message))

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        """An edit, cached message or not."""
        await self._hand(self.translate.edit(payload))

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        """A deletion, cached message or not."""
        cached = [payload.cached_message] if payload.cached_message is not None else []
        for event in self.translate.deletes(payload.channel_id, {payload.message_id}, cached):
            await self._hand(event)

    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        """A moderator's bulk deletion."""
        for event in self.translate.deletes(payload.channel_id, payload.message_ids, payload.cached_messages):
            await self._hand(event)

    async def on_raw_typing(self, payload: discord.RawTypingEvent) -> None:
        """A typing start (on_typing never fires for DMs without the members intent)."""
        await self._hand(self.translate.typing(payload))

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
