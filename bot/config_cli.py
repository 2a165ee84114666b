"""`textbot config show|set|reset`: one chat's timing and policies from the command line.

The same validation and storage as the admin commands in the chats. A conversation the running bot
has in memory picks the change up when it is next loaded (after `idle_seconds` of quiet) or at a
restart; the chat commands take effect at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from bot.core.commands import POLICY_KINDS, run_command
from bot.core.config import effective_config
from bot.core.events import Author, Command, ConversationKey
from bot.settings import Settings
from persona import load_persona
from policies.timing import TIMING_FIELD_NAMES

PLATFORMS_WITH_TYPING = {"discord", "web"}
FIELDS = (*TIMING_FIELD_NAMES, "persona", *POLICY_KINDS)  # what `set` can change, from the command registry


def as_command(key: ConversationKey, action: str, words: Sequence[str]) -> Command:
    """The chat command that does what `textbot config ACTION WORDS` asks."""
    cli = Author("cli", "command line")
    if action == "show":
        return Command(key, cli, "timing", ("show",), is_admin=True)
    if action == "reset":
        return Command(key, cli, "timing", ("reset",), is_admin=True)
    if len(words) != 2:
        raise ValueError("usage: textbot config set --platform P --chat ID FIELD VALUE")
    field, value = words
    if field in TIMING_FIELD_NAMES:
        return Command(key, cli, "timing", ("set", field, value), is_admin=True)
    if field == "persona":
        return Command(key, cli, "persona", (value,), is_admin=True)
    if field in POLICY_KINDS:
        return Command(key, cli, "policy", (field, value), is_admin=True)
    raise ValueError(f"unknown field {field!r}; fields: {', '.join(FIELDS)}")


async def _config(settings: Settings, key: ConversationKey, action: str, words: Sequence[str]) -> int:
    from bot.storage.migrate import upgrade_async
    from bot.storage.sql_store import SqlStore

    command = as_command(key, action, words)
    await upgrade_async(settings.database_url)
    store = SqlStore.open(settings.database_url)
    try:
        current = (await store.load(key)).overrides

        def config_for(overrides: dict[str, Any]) -> Any:
            return effective_config(load_persona(settings.persona), settings.timing_scale, settings.policies(),
                                    key.platform in PLATFORMS_WITH_TYPING, overrides)

        result = run_command(config_for, current, command)
        print(result.reply)
        if action == "show":
            return 0
        if result.overrides is None:
            return 2
        await store.save_overrides(key, result.overrides)
        return 0
    finally:
        await store.close()


def config_command(settings: Settings, platform: str, chat: str, thread: str, action: str, words: Sequence[str]) -> int:
    """Show or change one chat's settings; exit status 2 when a value is refused."""
    try:
        return asyncio.run(_config(settings, ConversationKey(platform, chat, thread), action, words))
    except ValueError as exc:
        print(exc)
        return 2
