"""The local web chat: text the bot in a browser and watch its timing on a live timeline."""

from __future__ import annotations

from bot.web.app import create_web_app
from bot.web.outlet import WebOutlet
from bot.web.server import WebServer, serve_web

__all__ = ["WebOutlet", "WebServer", "create_web_app", "serve_web"]
