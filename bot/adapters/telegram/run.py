"""Runs the bot on Telegram: a PTB Application, the engine behind it, long polling or a webhook.

Long polling (the default) confirms updates only after they are stored; see `polling.py`.

Webhook mode (TELEGRAM_WEBHOOK_URL set) uses PTB's `Updater.start_webhook`. Its HTTP handler answers
Telegram 200 as soon as the update is on `Application.update_queue`, and Telegram never sends an
answered update again. So here a window remains: an update accepted but not yet stored (normally
milliseconds; longer while its chat's lane is busy with a paced reply) is lost if the process dies,
and so is an update whose store write fails (only the log says so). An update PTB cannot parse is
answered 400 by PTB and never reaches a handler; its log line is stripped of the update's content.

With several workers (bot/workers/) long polling is a duty one worker holds at a time; in webhook
mode every worker listens (on 8443 + WORKER_ID, behind one load balancer) with the same secret.
Either way the handlers give each event to the `Inbound`, which hands it to its chat's owner.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable
from urllib.parse import urlparse

from telegram.error import InvalidToken, TelegramError
from telegram.ext import ApplicationBuilder

from bot.adapters.telegram.admins import AdminCheck
from bot.adapters.telegram.commands import publish_commands
from bot.adapters.telegram.handlers import TelegramApp, UpdateHandlers
from bot.adapters.telegram.ordering import ChatOrder
from bot.adapters.telegram.outlet import TelegramOutlet
from bot.adapters.telegram.polling import ALLOWED_UPDATES, StoredFirstPoller
from bot.adapters.telegram.updates import WEBHOOK_LOGGER, WEBHOOK_PARSE_FAILURES, RawUpdates
from bot.core.engine import EngineFactory
from bot.settings import ConfigError, Settings
from persona import load_persona

log = logging.getLogger(__name__)


def telegram_enabled(settings: Settings) -> bool:
    """True when TELEGRAM_BOT_TOKEN is set to something (an empty `TELEGRAM_BOT_TOKEN=` line is not)."""
    return settings.telegram_bot_token is not None and bool(settings.telegram_bot_token.get_secret_value().strip())


def build_application(settings: Settings, raw_updates: RawUpdates) -> TelegramApp:
    """A PTB Application talking to `{TELEGRAM_API_BASE_URL}/bot{token}/…`, chats handled concurrently."""
    if settings.telegram_bot_token is None or not telegram_enabled(settings):
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set")
    root = settings.telegram_api_base_url.rstrip("/")
    return (
        ApplicationBuilder()
        .token(settings.telegram_bot_token.get_secret_value().strip())
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .get_updates_request(raw_updates)
        .concurrent_updates(ChatOrder())
        .job_queue(None)  # long-horizon jobs belong to the app's scheduler, not PTB's
        .build()
    )


async def run_telegram(
    settings: Settings, engines: EngineFactory, stop: asyncio.Event | None = None, *,
    webhook_listen: str = "0.0.0.0", webhook_port: int = 8443, poll_timeout: float = 30.0,
) -> None:
    """Run Telegram until `stop` is set (or this task is cancelled), then shut down cleanly."""
    raw_updates = RawUpdates(connection_pool_size=1)  # PTB's own getUpdates connection has one too
    app = build_application(settings, raw_updates)
    outlet = TelegramOutlet(app.bot, engines.clock)
    engine = engines(outlet)
    admins = AdminCheck(app.bot, engines.clock, settings.admins())
    handlers = UpdateHandlers(engines.inbound(engine), admins, (load_persona(settings.persona).name,),
                              redelivered=not settings.telegram_webhook_url)
    handlers.install(app)
    await _initialize(app, settings)
    try:
        await publish_commands(app.bot, settings.admins())
        await app.start()
        try:
            if settings.telegram_webhook_url:  # every worker accepts, on its own port
                port = webhook_port + settings.worker_id
                await _serve_webhook(app, settings.telegram_webhook_url, stop, webhook_listen, port)
            else:
                def poll(halt: asyncio.Event) -> Awaitable[None]:
                    return StoredFirstPoller(app, raw_updates, unstored=handlers.take_unstored,
                                             timeout=poll_timeout).run(halt)

                await engines.alone("telegram-polling", poll, stop or asyncio.Event())
        finally:
            await app.stop()  # webhook mode: handles what was already accepted
            await engine.close()
            await outlet.close()
    finally:
        await app.shutdown()


async def _initialize(app: TelegramApp, settings: Settings) -> None:
    try:
        await app.initialize()  # getMe: learns the bot's id and @username
    except TelegramError as exc:
        await app.bot.shutdown()  # close the HTTP clients getMe opened
        if isinstance(exc, InvalidToken):  # its own message quotes the token: never repeat it
            raise ConfigError("Telegram refused TELEGRAM_BOT_TOKEN; check it with @BotFather") from None
        detail = str(exc).replace(app.bot.token, "<token>")
        raise ConfigError(f"cannot reach the Telegram Bot API at {settings.telegram_api_base_url}: {detail}") from None
    log.info("Telegram: running as @%s", app.bot.username)


async def _serve_webhook(app: TelegramApp, url: str, stop: asyncio.Event | None, listen: str, port: int) -> None:
    updater = app.updater
    if updater is None:
        raise ConfigError("webhook mode needs PTB's Updater")
    logging.getLogger(WEBHOOK_LOGGER).addFilter(WEBHOOK_PARSE_FAILURES)  # added once, however often called
    await updater.start_webhook(
        listen=listen, port=port, url_path=urlparse(url).path.lstrip("/"), webhook_url=url,
        allowed_updates=ALLOWED_UPDATES, secret_token=webhook_secret(app.bot.token),  # Telegram echoes it back
    )
    try:
        await (stop or asyncio.Event()).wait()
    finally:
        await updater.stop()


def webhook_secret(token: str) -> str:
    """The secret Telegram sends back with every webhook call: the same on every worker (each sets the webhook),
    and unguessable without the bot token."""
    return hashlib.sha256(f"textbot-webhook:{token}".encode()).hexdigest()
