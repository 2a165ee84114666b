"""Serving the web chat with uvicorn inside the bot's own event loop, until cancelled."""

from __future__ import annotations

import asyncio
import logging
import os
import socket

import uvicorn
from starlette.types import ASGIApp

from bot.core.engine import EngineFactory
from bot.settings import ConfigError, Settings
from bot.web.app import create_web_app
from bot.web.auth import is_loopback

log = logging.getLogger(__name__)


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0: any free port); ConfigError if that is impossible."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family, reuse_port=False, backlog=128)
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise ConfigError(f"the web chat cannot listen on {host}:{port} ({reason}); "
                          "set WEB_HOST and WEB_PORT") from None


class WebServer:
    """An ASGI app served by uvicorn as a task of the running event loop."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.sock = listen(host, port)
        self.port: int = self.sock.getsockname()[1]
        # ws_max_size: a frame larger than this (uvicorn's default is 16 MiB) closes the socket with 1009
        # before it is held in memory; a smaller frame over the chat's own cap gets a clear answer instead.
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on", timeout_graceful_shutdown=3,
                                ws_max_size=1 << 20)
        # uvicorn's own SIGINT/SIGTERM handling shuts down gracefully, then re-raises the signal, which
        # cancels the rest of the bot (asyncio.run turns Ctrl-C into a cancellation of the main task).
        self.server = uvicorn.Server(config)
        self.task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        """The address a browser opens."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        """Serve in the background; returns once requests are accepted."""
        self.task = asyncio.create_task(self.server.serve(sockets=[self.sock]), name="web-server")
        while not self.server.started:
            if self.task.done():
                self.task.result()
                raise RuntimeError("the web server stopped while starting")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """Close connections, run the app's shutdown (the engine's close) and stop serving."""
        self.server.should_exit = True
        if self.task is not None:
            await asyncio.shield(self.task)
        self.sock.close()


def required_token(settings: Settings) -> str | None:
    """The token requests must carry: none on loopback; WEB_TOKEN (required) on any other address."""
    if is_loopback(settings.web_host):
        return None
    token = settings.web_token.get_secret_value() if settings.web_token is not None else ""
    if not token:
        raise ConfigError(f"WEB_HOST={settings.web_host} is reachable from other machines: set WEB_TOKEN "
                          "(a long random string) or use WEB_HOST=127.0.0.1")
    return token


async def serve_web(settings: Settings, engines: EngineFactory) -> None:
    """Serve the web chat on WEB_HOST:WEB_PORT until cancelled."""
    token = required_token(settings)
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)  # not a line per socket opened or closed
    app = create_web_app(engines, token=token, model=settings.llm_model)
    server = WebServer(app, settings.web_host, settings.web_port)
    await server.start()
    log.info("web chat: open %s%s in a browser", server.url, "/?token=…" if token else "")
    try:
        assert server.task is not None
        await asyncio.shield(server.task)
    finally:
        await server.stop()
