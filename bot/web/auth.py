"""Who may use the web chat: everyone on this machine when it listens on loopback, token holders otherwise."""

from __future__ import annotations

import hmac
import ipaddress
from urllib.parse import parse_qs, quote, unquote, urlsplit

from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

TOKEN_COOKIE = "textbot_token"
TOKEN_HEADER = "x-textbot-token"


def is_loopback(host: str) -> bool:
    """True for names and addresses that only this machine can reach (127.0.0.1, ::1, localhost)."""
    host = host.strip().strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _hostname(host_header: str) -> str:
    return urlsplit(f"//{host_header}").hostname or ""


def supplied_token(scope: Scope) -> tuple[str | None, bool]:
    """The token a request carries (query `token`, bearer or X-Textbot-Token header, cookie) and if from the query."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
    if query:
        return query[0], True
    headers = Headers(scope=scope)
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip(), False
    if headers.get(TOKEN_HEADER):
        return headers[TOKEN_HEADER], False
    cookie = cookie_parser(headers.get("cookie", "")).get(TOKEN_COOKIE)
    return (unquote(cookie) if cookie else None), False


def _same_origin(headers: Headers) -> bool:
    origin = headers.get("origin")
    return origin is None or urlsplit(origin).netloc.lower() == headers.get("host", "").lower()


class AccessGate:
    """ASGI middleware: with a token, every request must carry it (401); without, only loopback Host names.

    The loopback check stops another web site from reaching the local chat through DNS rebinding, and the
    Origin check stops a page on another site from opening the chat's websocket in the user's browser.
    """

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if self.token is None and not is_loopback(_hostname(headers.get("host", ""))):
            await _deny(scope, receive, send, 403, "this chat only answers on localhost")
            return
        if self.token is not None:
            token, from_query = supplied_token(scope)
            if token is None or not hmac.compare_digest(token.encode(), self.token.encode()):
                await _deny(scope, receive, send, 401, "a valid WEB_TOKEN is needed: open the page with ?token=…")
                return
            if from_query and scope["type"] == "http":
                send = _with_cookie(send, self.token)
        if scope["type"] == "websocket" and not _same_origin(headers):
            await _deny(scope, receive, send, 403, "cross-site websocket refused")
            return
        await self.app(scope, receive, send)


def _with_cookie(send: Send, token: str) -> Send:
    """Remember a token given in the URL, so the page's scripts and websocket carry it too."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            cookie = f"{TOKEN_COOKIE}={quote(token, safe='')}; Path=/; HttpOnly; SameSite=Strict"
            message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie.encode())]}
        await send(message)

    return wrapped


async def _deny(scope: Scope, receive: Receive, send: Send, status: int, text: str) -> None:
    challenge = {"www-authenticate": "Bearer"} if status == 401 else None
    response = PlainTextResponse(text, status_code=status, headers=challenge)
    if scope["type"] == "http":
        await response(scope, receive, send)
        return
    await receive()  # websocket.connect
    if "websocket.http.response" in scope.get("extensions", {}):
        await response(scope, receive, send)
    else:
        await send({"type": "websocket.close", "code": 1008})
