"""Slash commands: the registry's commands (bot.core.commands.COMMANDS) become the core's Commands.

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

from bot.adapters.discord.outlet import DiscordOutlet
from bot.adapters.discord.translate import PLATFORM, Receiver
from bot.core.commands import COMMANDS, POLICY_KINDS, CommandSpec
from bot.core.events import Author, Command, ConversationKey
from persona import available_personas

log = logging.getLogger(__name__)
Interaction = discord.Interaction[Any]
Choice = app_commands.Choice
RunCommand = Callable[[Interaction, str, tuple[str, ...]], Awaitable[None]]
Slash = app_commands.Command[Any, ..., None] | app_commands.Group
SLASH_COMMANDS = tuple(spec for spec in COMMANDS if spec.slash)
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
            here = await self.receiver.receive(self.command(interaction, name, args, token))
        finally:
            leftover = self.outlet.unanswered(token)
        if leftover is not None and here is not False:  # handed to another worker: it answers by the token
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
    """Add every slash command of the registry to the tree; each hands its command to `run`."""
    for spec in SLASH_COMMANDS:
        tree.add_command(_build(spec, run))


def _build(spec: CommandSpec, run: RunCommand) -> Slash:
    if spec.actions:
        return _group(spec, run)
    if not spec.args:
        return _plain(spec, run, spec.name, ())
    return _WITH_ARGS[spec.name](spec, run)  # a command with words needs its own signature below


def _choices(names: Iterable[str]) -> list[Choice[str]]:
    return [Choice(name=name, value=name) for name in names]


def _described(spec: CommandSpec) -> dict[str, str]:
    return {arg.name: arg.description for arg in spec.args}


def _plain(
    spec: CommandSpec, run: RunCommand, name: str, args: tuple[str, ...]
) -> app_commands.Command[Any, ..., None]:
    async def callback(interaction: Interaction) -> None:
        await run(interaction, name, args)

    return app_commands.Command(name=spec.name, description=spec.description, callback=callback)


def _group(spec: CommandSpec, run: RunCommand) -> app_commands.Group:
    group = app_commands.Group(name=spec.name, description=spec.description)
    for action in spec.actions:
        if action.args:
            group.add_command(_WITH_ARGS[f"{spec.name} {action.name}"](action, run))
        else:
            group.add_command(_plain(action, run, spec.name, (action.name,)))
    return group


def _timing_set(spec: CommandSpec, run: RunCommand) -> app_commands.Command[Any, ..., None]:
    @app_commands.command(name=spec.name, description=spec.description)
    @app_commands.describe(**_described(spec))
    @app_commands.choices(field=_choices(spec.args[0].choices))
    async def set_(interaction: Interaction, field: Choice[str], value: str) -> None:
        await run(interaction, "timing", ("set", field.value, value))

    return set_


def _persona(spec: CommandSpec, run: RunCommand) -> app_commands.Command[Any, ..., None]:
    @app_commands.command(name=spec.name, description=spec.description)
    @app_commands.describe(**_described(spec))
    async def persona(interaction: Interaction, name: str | None = None) -> None:
        await run(interaction, "persona", (name,) if name else ())

    @persona.autocomplete("name")
    async def names(interaction: Interaction, typed: str) -> list[Choice[str]]:
        return suggest(available_personas(), typed)

    return persona


def _policy(spec: CommandSpec, run: RunCommand) -> app_commands.Command[Any, ..., None]:
    @app_commands.command(name=spec.name, description=spec.description)
    @app_commands.describe(**_described(spec))
    @app_commands.choices(kind=_choices(spec.args[0].choices))
    async def policy(interaction: Interaction, kind: Choice[str], name: str) -> None:
        await run(interaction, "policy", (kind.value, name))

    @policy.autocomplete("name")
    async def names(interaction: Interaction, typed: str) -> list[Choice[str]]:
        kind = getattr(interaction.namespace, "kind", None)
        kind = kind.value if isinstance(kind, Choice) else kind
        chosen = POLICY_KINDS.get(str(kind))
        return suggest(chosen.choices if chosen else (), typed)

    return policy


def _forget(spec: CommandSpec, run: RunCommand) -> app_commands.Command[Any, ..., None]:
    @app_commands.command(name=spec.name, description=spec.description)
    @app_commands.describe(**_described(spec))
    async def forget(interaction: Interaction, which: str | None = None) -> None:
        await run(interaction, "forget", (which,) if which else ())

    return forget


_WITH_ARGS: dict[str, Callable[[CommandSpec, RunCommand], app_commands.Command[Any, ..., None]]] = {
    "timing set": _timing_set, "persona": _persona, "policy": _policy, "forget": _forget,
}
