"""The Discord adapter: gateway events → engine events, engine intents → REST calls, slash commands."""

from __future__ import annotations

from bot.adapters.discord.client import TextbotClient, textbot_intents
from bot.adapters.discord.outlet import DiscordOutlet
from bot.adapters.discord.run import pointed_at, run_discord

__all__ = ["DiscordOutlet", "TextbotClient", "pointed_at", "run_discord", "textbot_intents"]
