"""Logging setup that never lets a secret (token, API key) reach the log."""

from __future__ import annotations

import logging

from bot.settings import Settings

REDACTED = "[redacted]"


class RedactSecrets(logging.Filter):
    """Replaces every known secret value in a log record's message with [redacted]."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message without secrets; always keep the record."""
        message = record.getMessage()
        if any(s in message for s in self.secrets):
            for secret in self.secrets:
                message = message.replace(secret, REDACTED)
            record.msg, record.args = message, None
        return True


def setup_logging(settings: Settings) -> None:
    """Log to stderr at LOG_LEVEL, quiet the HTTP libraries, and redact secrets everywhere."""
    worker = f"worker {settings.worker_id} " if settings.worker_count > 1 else ""  # their lines interleave
    logging.basicConfig(level=settings.log_level.upper(),
                        format=f"%(asctime)s {worker}%(levelname)s %(name)s: %(message)s")
    redact = RedactSecrets(settings.secrets())
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
    # httpx logs every request URL at INFO, and Telegram's URLs contain the bot token.
    for noisy in ("httpx", "httpcore", "httpx2", "httpcore2", "telegram.ext", "discord.http", "discord.gateway"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
