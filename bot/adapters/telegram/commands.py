"""Telegram commands: the menus set with setMyCommands, and a command message turned into a Command."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from telegram import (
    Bot,
    BotCommand,
    BotCommandScope,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    Message,
    MessageEntity,
)
from telegram.error import TelegramError

from bot.adapters.telegram.translate import PLATFORM, author_of, conversation_key, is_group
from bot.core.commands import COMMANDS, CommandSpec
from bot.core.events import Author, Command

log = logging.getLogger(__name__)


def menu(specs: Iterable[CommandSpec]) -> tuple[BotCommand, ...]:
    """Telegram menu entries: what each command does, then the words it takes (no options UI here)."""
    return tuple(BotCommand(s.name, f"{s.description}: {s.hint}" if s.hint else s.description) for s in specs)


PUBLIC_COMMANDS = menu(s for s in COMMANDS if s.access != "admins")
ADMIN_COMMANDS = menu(COMMANDS)
COMMAND_NAMES = tuple(s.name for s in COMMANDS)
NEEDS_ADMIN_CHECK = frozenset(s.name for s in COMMANDS if s.access != "anyone")


def command_name(message: Message) -> str:
    """The command a message starts with, lower-cased and without its @botname."""
    entity = next(iter(message.parse_entities([MessageEntity.BOT_COMMAND]).items()), None)
    if entity is None or entity[0].offset != 0:
        return ""
    return entity[1][1:].partition("@")[0].lower()


def command_event(message: Message, args: Iterable[str], is_admin: bool) -> Command | None:
    """The engine's Command for a command message; in groups the answer replies to the command."""
    author = author_of(message) or Author("unknown")
    name = command_name(message)
    if not name:
        return None
    group = is_group(message)
    return Command(
        key=conversation_key(message), author=author, name=name, args=tuple(args), is_admin=is_admin,
        is_group=group, reply_to=str(message.message_id) if group else None,
    )


def admin_user_ids(admin_ids: frozenset[str]) -> list[int]:
    """The Telegram user ids among ADMIN_USER_IDS ("telegram:<id>")."""
    prefix = f"{PLATFORM}:"
    return sorted(int(a[len(prefix):]) for a in admin_ids if a.startswith(prefix) and a[len(prefix):].isdigit())


async def publish_commands(bot: Bot, admin_ids: frozenset[str]) -> None:
    """Set the public menu for everyone and the full menu for group admins and ADMIN_USER_IDS' DMs."""
    await _set(bot, PUBLIC_COMMANDS, BotCommandScopeDefault())
    await _set(bot, ADMIN_COMMANDS, BotCommandScopeAllChatAdministrators())
    for user_id in admin_user_ids(admin_ids):
        await _set(bot, ADMIN_COMMANDS, BotCommandScopeChat(user_id))


async def _set(bot: Bot, commands: tuple[BotCommand, ...], scope: BotCommandScope) -> None:
    try:
        await bot.set_my_commands(commands, scope=scope)
    except TelegramError as exc:  # a missing menu must not keep the bot from talking
        log.warning("could not set the %s command menu: %s", scope.type, exc)
