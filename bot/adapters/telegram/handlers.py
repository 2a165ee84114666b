"""PTB handlers: each update becomes one engine event, awaited until the engine has stored it.

A store write that fails is not an error PTB should see: the update is noted as unstored (the poller
then leaves it unconfirmed, so Telegram sends it again) and logged in one line. Nothing logged here
quotes an update's content: a failure is named by its exception type and where it happened.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from telegram import Bot, Update
from telegram.ext import Application, CommandHandler, ContextTypes, ExtBot, MessageHandler, filters

from bot.adapters.telegram.admins import AdminCheck
from bot.adapters.telegram.commands import COMMAND_NAMES, NEEDS_ADMIN_CHECK, command_event, command_name
from bot.adapters.telegram.translate import Addressing, human_edit, human_message
from bot.core.events import Event
from bot.core.routing import Inbound

log = logging.getLogger(__name__)
Context = ContextTypes.DEFAULT_TYPE
TelegramApp = Application[ExtBot[None], Context, dict[Any, Any], dict[Any, Any], dict[Any, Any], None]


class UpdateHandlers:
    """Translates messages, edits and commands for the engine; no conversation logic lives here."""

    def __init__(self, engine: Inbound, admins: AdminCheck, persona_names: tuple[str, ...], *,
                 redelivered: bool = True) -> None:
        self._engine = engine
        self._admins = admins
        self._names = persona_names
        self._redelivered = redelivered  # False with a webhook: an update PTB accepted never comes back
        self._unstored: set[int] = set()

    def install(self, app: TelegramApp) -> None:
        """Register the handlers (all blocking, so each update is handled before it counts as done)."""
        new = filters.UpdateType.MESSAGE
        app.add_handler(CommandHandler(COMMAND_NAMES, self.on_command, filters=new))
        # Unknown commands get the usage line in DMs; in groups they may be meant for another bot.
        app.add_handler(MessageHandler(new & filters.COMMAND & filters.ChatType.PRIVATE, self.on_command))
        app.add_handler(MessageHandler(new & ~filters.COMMAND, self.on_message))
        app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE, self.on_edit))
        app.add_error_handler(self.on_error)

    def take_unstored(self, update_id: int) -> bool:
        """True (once) if the engine failed to store what this update brought."""
        if update_id in self._unstored:
            self._unstored.discard(update_id)
            return True
        return False

    async def _receive(self, update: Update, event: Event | None) -> None:
        if event is None:
            return
        try:
            await self._engine.receive(event)
        except Exception as exc:  # the store write failed: not received, so Telegram must send it again
            if not self._redelivered:
                log.error("Telegram update %s was not stored (%s) and is lost", update.update_id, where(exc))
                return
            self._unstored.add(update.update_id)
            log.warning("Telegram update %s was not stored (%s); it will be handled again",
                        update.update_id, where(exc))

    def _addressing(self, bot: Bot) -> Addressing:
        return Addressing(bot.id, bot.username, self._names)

    async def on_message(self, update: Update, context: Context) -> None:
        """A new message (text, media or both)."""
        if update.message is None:
            return
        await self._receive(update, human_message(update.message, self._addressing(context.bot)))

    async def on_edit(self, update: Update, context: Context) -> None:
        """An edited message: the engine decides whether it still matters."""
        if update.edited_message is None:
            return
        await self._receive(update, human_edit(update.edited_message))

    async def on_command(self, update: Update, context: Context) -> None:
        """A command; whether its sender is an admin is asked only for commands that care."""
        message = update.message
        if message is None:
            return
        is_admin = command_name(message) in NEEDS_ADMIN_CHECK and await self._admins.is_admin(message)
        await self._receive(update, command_event(message, context.args or (), is_admin))

    async def on_error(self, update: object, context: Context) -> None:
        """Log a handler failure in one line, without the update's content; the update is skipped."""
        update_id = update.update_id if isinstance(update, Update) else None
        error = context.error
        log.error("skipped Telegram update %s: handling it failed (%s)", update_id,
                  where(error) if isinstance(error, BaseException) else "unknown error")


def where(exc: BaseException) -> str:
    """An exception named by its type and the line that raised it; its message may quote a value, so not that."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return type(exc).__name__
    last = frames[-1]
    return f"{type(exc).__name__} in {last.name} at {last.filename.rsplit('/', 1)[-1]}:{last.lineno}"
