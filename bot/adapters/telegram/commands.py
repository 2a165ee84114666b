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
from bot.core.events import Author, Command

log = logging.getLogger(__name__)

PUBLIC_COMMANDS = (
    BotCommand("start", "say hi"),
    BotCommand("help", "how to text me"),
    BotCommand("reset", "forget this chat (admins only in groups)"),
)
ADMIN_COMMANDS = (
    *PUBLIC_COMMANDS,
    BotCommand("timing", "show | set <field> <value> | reset"),
    BotCommand("persona", "list personas, or switch: /persona <name>"),
    BotCommand("policy", "turn | interrupt | group <name>"),
)
COMMAND_NAMES = tuple(c.command for c in ADMIN_COMMANDS)
NEEDS_ADMIN_CHECK = frozenset({"reset", "timing", "persona", "policy"})


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
