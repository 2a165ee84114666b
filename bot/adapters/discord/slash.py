"""Slash commands: /reset, /timing, /persona and /policy become the core's Commands.

The core decides and words every answer; it sends that answer through the outlet with the
command's `reply_to`, which here names the deferred interaction, so it lands as the (ephemeral)
response to the slash command.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import discord
from discord import app_commands

from bot.adapters.discord.inbound import PLATFORM, Receiver
from bot.adapters.discord.outlet import DiscordOutlet
from bot.core.commands import POLICY_KINDS
from bot.core.events import Author, Command, ConversationKey
from persona import available_personas
from policies.timing import LIMITS

log = logging.getLogger(__name__)
Interaction = discord.Interaction[Any]
Choice = app_commands.Choice
RunCommand = Callable[[Interaction, str, tuple[str, ...]], Awaitable[None]]
FIELD_CHOICES = [Choice(name=name, value=name) for name in LIMITS]
KIND_CHOICES = [Choice(name=kind, value=kind) for kind in POLICY_KINDS]
NO_ANSWER = "sorry, that didn't work"


def is_admin(interaction: Interaction, admins: frozenset[str]) -> bool:
    """ADMIN_USER_IDS anywhere; in a server also members with Manage Server."""
    if f"{PLATFORM}:{interaction.user.id}" in admins:
        return True
    perms = interaction.permissions
    return interaction.guild_id is not None and (perms.manage_guild or perms.administrator)


def suggest(names: Iterable[str], typed: str) -> list[Choice[str]]:
    """Autocomplete: the names containing what was typed so far (Discord shows at most 25)."""
    return [Choice(name=n, value=n) for n in names if typed.lower() in n.lower()][:25]


@dataclass
class SlashBridge:
    """Hands a slash command to its conversation as a Command and sees that it gets an answer."""

    receiver: Receiver
    outlet: DiscordOutlet
    admins: frozenset[str]
    key_of: Callable[[int], ConversationKey]

    async def run(self, interaction: Interaction, name: str, args: tuple[str, ...]) -> None:
        """Defer (Discord wants a response within 3 s), then let the core carry it out and answer."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        token = self.outlet.await_answer(interaction)
        try:
            await self.receiver.receive(self.command(interaction, name, args, token))
        finally:
            leftover = self.outlet.unanswered(token)
        if leftover is not None:
            log.warning("/%s got no answer from the core", name)
            await leftover.edit_original_response(content=NO_ANSWER)

    def command(self, interaction: Interaction, name: str, args: tuple[str, ...], token: str) -> Command:
        """The core's Command for this interaction, with who may do what already worked out."""
        assert interaction.channel_id is not None  # slash commands always come from a channel
        user = interaction.user
        return Command(
            key=self.key_of(interaction.channel_id), author=Author(str(user.id), user.display_name),
            name=name, args=args, is_admin=is_admin(interaction, self.admins),
            is_group=interaction.guild_id is not None, reply_to=token,
        )


def install_commands(tree: app_commands.CommandTree[Any], run: RunCommand) -> None:
    """Add /reset, /timing, /persona and /policy to the tree; each hands its command to `run`."""
    for command in (_reset(run), _timing(run), _persona(run), _policy(run)):
        tree.add_command(command)


def _reset(run: RunCommand) -> app_commands.Command[Any, ..., None]:
    @app_commands.command(name="reset", description="Forget this conversation (admins only in servers)")
    async def reset(interaction: Interaction) -> None:
        await run(interaction, "reset", ())

    return reset


def _timing(run: RunCommand) -> app_commands.Group:
    group = app_commands.Group(name="timing", description="How long the bot waits and how fast it types here")

    @group.command(name="show", description="The timing in effect here and where each value comes from")
    async def show(interaction: Interaction) -> None:
        await run(interaction, "timing", ("show",))

    @group.command(name="set", description="Change one timing value for this conversation")
    @app_commands.describe(field="what to change", value="the new value (seconds, words per minute or a count)")
    @app_commands.choices(field=FIELD_CHOICES)
    async def set_(interaction: Interaction, field: Choice[str], value: str) -> None:
        await run(interaction, "timing", ("set", field.value, value))

    @group.command(name="reset", description="Back to the persona's own timing")
    async def reset(interaction: Interaction) -> None:
        await run(interaction, "timing", ("reset",))

    return group


def _persona(run: RunCommand) -> app_commands.Command[Any, ..., None]:
    @app_commands.command(name="persona", description="Who the bot is here (no name: list them)")
    @app_commands.describe(name="the persona to become")
    async def persona(interaction: Interaction, name: str | None = None) -> None:
        await run(interaction, "persona", (name,) if name else ())

    @persona.autocomplete("name")
    async def names(interaction: Interaction, typed: str) -> list[Choice[str]]:
        return suggest(available_personas(), typed)

    return persona


def _policy(run: RunCommand) -> app_commands.Command[Any, ..., None]:
    @app_commands.command(name="policy", description="How the bot decides when, and whether, to answer here")
    @app_commands.describe(kind="which decision", name="the policy to use for it")
    @app_commands.choices(kind=KIND_CHOICES)
    async def policy(interaction: Interaction, kind: Choice[str], name: str) -> None:
        await run(interaction, "policy", (kind.value, name))

    @policy.autocomplete("name")
    async def names(interaction: Interaction, typed: str) -> list[Choice[str]]:
        kind = getattr(interaction.namespace, "kind", None)
        kind = kind.value if isinstance(kind, Choice) else kind
        return suggest(POLICY_KINDS.get(str(kind), ()), typed)

    return policy
