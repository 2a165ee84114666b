"""Telegram through python-telegram-bot: updates become engine events, the core's parts become Bot API calls."""

from __future__ import annotations

from bot.adapters.telegram.run import run_telegram, telegram_enabled

__all__ = ["run_telegram", "telegram_enabled"]
