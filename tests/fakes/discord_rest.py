"""The REST half of the fake Discord: the shared world (users, channels, messages) and its routes.

``FakeDiscordServer`` (in ``discord_server``) adds the gateway, the lifecycle and the human side.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.discord_payloads import (
    JSON,
    Snowflakes,
    UserLike,
    application,
    iso_now,
    make_member,
    make_user,
    rate_limit_headers,
)

_MENTION = re.compile(r"<@!?(\d+)>")
_UNAUTHENTICATED = ("/interactions/", "/webhooks/")  # discord.py sends no token on these
Handler = Callable[[tuple[str, ...], Any], web.Response]


@dataclass
class Call:
    """One REST request the server received (``status`` is what it answered)."""

    method: str
    path: str
    json: Any
    at: float
    status: int = 200
    query: dict[str, str] = field(default_factory=dict)


@dataclass
class _RateLimit:
    method: str
    prefix: str
    retry_after: float
    times: int
    global_: bool


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py parses a body only if Content-Type is exactly "application/json" (no charset).
    headers = {"Content-Type": "application/json", **(headers or {})}
    return web.Response(body=json.dumps(data).encode(), status=status, headers=headers)


def _error(status: int, message: str, code: int = 0) -> web.Response:
    return _json({"message": message, "code": code}, status)


class FakeDiscordRest:
    """Discord's state as one bot sees it, and the REST routes discord.py calls."""

    def __init__(
        self, now: Callable[[], float] | None, token: str, bot_id: int, bot_name: str,
        echo_own_messages: bool,
    ) -> None:
        self._now = now or time.monotonic
        self.token = token
        self.bot_user = make_user(bot_id, bot_name, bot=True)
        self.application_id = bot_id
        self.echo_own_messages = echo_own_messages
        self.calls: list[Call] = []
        self.guilds: dict[int, JSON] = {}
        self.dm_channels: dict[int, JSON] = {}
        self.users: dict[int, JSON] = {bot_id: self.bot_user}
        self.messages: dict[int, JSON] = {}
        self.commands: dict[int | None, list[JSON]] = {}  # by guild id, None = global
        self.interactions: dict[int, JSON] = {}
        self._ids = Snowflakes()
        self._bot_message_ids: list[int] = []
        self._deleted: set[int] = set()
        self._nonces: dict[tuple[int, str], JSON] = {}
        self._responded: dict[int, int | None] = {}  # interaction id -> original response id
        self._limits: list[_RateLimit] = []
        self._routes = self._route_table()

    @property
    def gateway_url(self) -> str:
        """Gateway websocket URL (provided by the server)."""
        raise NotImplementedError

    def dispatch(self, event: str, data: JSON) -> None:
        """Send a gateway DISPATCH event (provided by the server)."""
        raise NotImplementedError

    # ----------------------------------------------------------------- world
    def user(self, user: UserLike) -> JSON:
        """Return (and remember) a user object; an unknown int id becomes ``user<id>``."""
        if isinstance(user, int):
            found = self.users.get(user)
            data = found if found is not None else make_user(user)
        else:
            data = user
        self.users[int(data["id"])] = data
        return data

    def add_dm_channel(self, channel_id: int, user: UserLike) -> JSON:
        """Register a DM channel between the bot and ``user``."""
        channel = {"id": str(channel_id), "type": 1, "recipients": [self.user(user)],
                   "last_message_id": None, "flags": 0}
        self.dm_channels[channel_id] = channel
        return channel

    def channel(self, channel_id: int) -> tuple[JSON, int | None] | None:
        """Find a channel; returns it with its guild id (None for DMs)."""
        if channel_id in self.dm_channels:
            return self.dm_channels[channel_id], None
        for gid, guild in self.guilds.items():
            for ch in (*guild["channels"], *guild["threads"]):
                if int(ch["id"]) == channel_id:
                    return ch, gid
        return None

    def _member_of(self, guild_id: int, user: JSON) -> JSON:
        for member in self.guilds.get(guild_id, {}).get("members", []):
            if member["user"]["id"] == user["id"]:
                return dict(member)
        return make_member(user)

    def _mentions(self, content: str) -> list[JSON]:
        return [self.user(int(uid)) for uid in _MENTION.findall(content)]

    def _new_message(
        self, channel_id: int, guild_id: int | None, author: JSON, content: str, *,
        mentions: Iterable[UserLike] | None = None, ref: JSON | None = None, **extra: Any,
    ) -> JSON:
        msg: JSON = {
            "id": str(self._ids.next()), "channel_id": str(channel_id), "author": author,
            "content": content, "timestamp": iso_now(), "edited_timestamp": None, "tts": False,
            "mention_everyone": False, "mention_roles": [], "attachments": [], "embeds": [],
            "components": [], "pinned": False, "type": 0, "flags": 0,
            "mentions": self._mentions(content) if mentions is None
            else [self.user(m) for m in mentions],
            **extra,
        }
        if guild_id is not None:
            msg["guild_id"] = str(guild_id)
        if ref is not None:
            msg["type"] = 19  # REPLY
            msg["message_reference"] = {"type": 0, "message_id": ref["id"],
                                        "channel_id": ref["channel_id"]}
            if "guild_id" in ref:
                msg["message_reference"]["guild_id"] = ref["guild_id"]
            msg["referenced_message"] = {k: v for k, v in ref.items() if k != "referenced_message"}
        self.messages[int(msg["id"])] = msg
        found = self.channel(channel_id)
        if found is not None:
            found[0]["last_message_id"] = msg["id"]
        return msg

    def _dispatch_message(self, event: str, msg: JSON) -> None:
        data = dict(msg)
        if "guild_id" in msg and not msg.get("webhook_id"):
            data["member"] = self._member_of(int(msg["guild_id"]), msg["author"])
            data["member"].pop("user", None)
        self.dispatch(event, data)

    def _delete(self, msg: JSON) -> None:
        self._deleted.add(int(msg["id"]))
        data = {"id": msg["id"], "channel_id": msg["channel_id"]}
        if "guild_id" in msg:
            data["guild_id"] = msg["guild_id"]
        self.dispatch("MESSAGE_DELETE", data)

    # ----------------------------------------------------------------- assertions
    def sent_messages(self, channel_id: int | None = None, *,
                      include_deleted: bool = False) -> list[JSON]:
        """Messages the bot delivered with ``POST /channels/{id}/messages``, oldest first."""
        return [
            self.messages[mid] for mid in self._bot_message_ids
            if (channel_id is None or self.messages[mid]["channel_id"] == str(channel_id))
            and (include_deleted or mid not in self._deleted)
        ]

    def typing_calls(self, channel_id: int) -> list[Call]:
        """Successful ``POST /channels/{id}/typing`` calls for a channel."""
        path = f"/channels/{channel_id}/typing"
        return [c for c in self.calls if c.method == "POST" and c.path == path and c.status < 300]

    def interaction_responses(self) -> list[Call]:
        """Successful interaction callbacks and followup/original-response webhook calls."""
        return [c for c in self.calls if c.path.startswith(_UNAUTHENTICATED) and c.status < 300]

    def rate_limit_next(
        self, method: str, path_prefix: str, retry_after: float = 0.2, times: int = 1,
        global_: bool = False,
    ) -> None:
        """Answer the next ``times`` matching requests (path relative to api_base) with 429."""
        self._limits.append(_RateLimit(method.upper(), path_prefix, retry_after, times, global_))

    # ----------------------------------------------------------------- routing
    def _take_limit(self, method: str, path: str) -> _RateLimit | None:
        for limit in self._limits:
            if limit.method == method and path.startswith(limit.prefix) and limit.times > 0:
                limit.times -= 1
                return limit
        return None

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        body: Any = None
        if request.content_type == "application/json" and request.can_read_body:
            body = await request.json()
        elif request.content_type == "multipart/form-data":  # messages with files
            raw = (await request.post()).get("payload_json")
            body = json.loads(raw) if isinstance(raw, str) else None
        call = Call(request.method, path, body, self._now(), query=dict(request.query))
        self.calls.append(call)
        limit = self._take_limit(request.method, path)
        if limit is not None:
            response = _json(
                {"message": "You are being rate limited.", "retry_after": limit.retry_after,
                 "global": limit.global_}, 429,
                rate_limit_headers(limit.retry_after, limit.global_, f"{limit.method}:{limit.prefix}"))
        elif not path.startswith(_UNAUTHENTICATED) and \
                request.headers.get("Authorization") != f"Bot {self.token}":
            response = _error(401, "401: Unauthorized")
        else:
            response = _error(404, "404: Not Found")
            for method, pattern, handler in self._routes:
                match = pattern.fullmatch(path)
                if match and method == request.method:
                    response = handler(match.groups(), body)
                    break
        call.status = response.status
        return response

    def _route_table(self) -> list[tuple[str, re.Pattern[str], Handler]]:
        ok, app = _json, application(self.bot_user)
        bot_gateway = {"shards": 1, "session_start_limit": {
            "total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}}
        webhook_message = r"/webhooks/(\d+)/([^/]+)/messages/(@original|\d+)"
        table: list[tuple[str, str, Handler]] = [
            ("GET", "/users/@me", lambda g, b: ok(self.bot_user)),
            ("GET", r"/users/(\d+)", lambda g, b: ok(self.users[int(g[0])])
             if int(g[0]) in self.users else _error(404, "Unknown User", 10013)),
            ("POST", "/users/@me/channels", self._create_dm),
            ("GET", "/gateway", lambda g, b: ok({"url": self.gateway_url})),
            ("GET", "/gateway/bot", lambda g, b: ok({"url": self.gateway_url, **bot_gateway})),
            ("GET", "/oauth2/applications/@me", lambda g, b: ok(app)),
            ("GET", "/applications/@me", lambda g, b: ok(app)),
            ("GET", r"/channels/(\d+)", self._get_channel),
            ("POST", r"/channels/(\d+)/messages", self._post_message),
            ("GET", r"/channels/(\d+)/messages/(\d+)", self._get_message),
            ("PATCH", r"/channels/(\d+)/messages/(\d+)", self._edit_message),
            ("DELETE", r"/channels/(\d+)/messages/(\d+)", self._delete_message),
            ("POST", r"/channels/(\d+)/typing", lambda g, b: web.Response(status=204)
             if self.channel(int(g[0])) else _error(404, "Unknown Channel", 10003)),
            ("GET", r"/guilds/(\d+)/members/(\d+)", self._get_member),
            ("PUT", r"/applications/(\d+)/commands", self._put_commands),
            ("PUT", r"/applications/(\d+)/guilds/(\d+)/commands", self._put_commands),
            ("GET", r"/applications/(\d+)/commands", lambda g, b: ok(self.commands.get(None, []))),
            ("GET", r"/applications/(\d+)/guilds/(\d+)/commands",
             lambda g, b: ok(self.commands.get(int(g[1]), []))),
            ("POST", r"/interactions/(\d+)/([^/]+)/callback", self._callback),
            ("POST", r"/webhooks/(\d+)/([^/]+)", self._followup),
            ("GET", webhook_message, lambda g, b: self._webhook_message(g, b, "GET")),
            ("PATCH", webhook_message, lambda g, b: self._webhook_message(g, b, "PATCH")),
            ("DELETE", webhook_message, lambda g, b: self._webhook_message(g, b, "DELETE")),
        ]
        return [(m, re.compile(p), h) for m, p, h in table]

    # ----------------------------------------------------------------- handlers
    def _create_dm(self, g: tuple[str, ...], body: Any) -> web.Response:
        rid = str(body["recipient_id"])
        for channel in self.dm_channels.values():
            if channel["recipients"][0]["id"] == rid:
                return _json(channel)
        return _json(self.add_dm_channel(self._ids.next(), int(rid)))

    def _get_channel(self, g: tuple[str, ...], body: Any) -> web.Response:
        found = self.channel(int(g[0]))
        return _json(found[0]) if found else _error(404, "Unknown Channel", 10003)

    def _get_member(self, g: tuple[str, ...], body: Any) -> web.Response:
        for member in self.guilds.get(int(g[0]), {}).get("members", []):
            if member["user"]["id"] == g[1]:
                return _json(member)
        return _error(404, "Unknown Member", 10007)

    def _post_message(self, g: tuple[str, ...], body: Any) -> web.Response:
        cid, found = int(g[0]), self.channel(int(g[0]))
        if found is None:
            return _error(404, "Unknown Channel", 10003)
        body = body or {}
        content = body.get("content") or ""
        if len(content) > 2000:
            return _error(400, "Invalid Form Body (content: Must be 2000 or fewer in length.)",
                          50035)
        if not content and not body.get("embeds") and not body.get("attachments"):
            return _error(400, "Cannot send an empty message", 50006)
        nonce = None if body.get("nonce") is None else str(body["nonce"])
        if nonce is not None and body.get("enforce_nonce") and (cid, nonce) in self._nonces:
            return _json(self._nonces[cid, nonce])  # Discord de-duplicates: same message
        ref = None
        if body.get("message_reference"):
            ref = self.messages.get(int(body["message_reference"]["message_id"]))
            if ref is None and body["message_reference"].get("fail_if_not_exists", True):
                return _error(400, "Invalid Form Body (message_reference: Unknown message)", 50035)
        extra: JSON = {} if nonce is None else {"nonce": nonce}
        msg = self._new_message(cid, found[1], self.bot_user, content, ref=ref, **extra)
        if nonce is not None:
            self._nonces[cid, nonce] = msg
        self._bot_message_ids.append(int(msg["id"]))
        if self.echo_own_messages:
            self._dispatch_message("MESSAGE_CREATE", msg)
        return _json(msg)

    def _find_message(self, g: tuple[str, ...]) -> JSON | None:
        msg = self.messages.get(int(g[1]))
        if msg is None or msg["channel_id"] != g[0] or int(g[1]) in self._deleted:
            return None
        return msg

    def _get_message(self, g: tuple[str, ...], body: Any) -> web.Response:
        msg = self._find_message(g)
        return _json(msg) if msg else _error(404, "Unknown Message", 10008)

    def _edit_message(self, g: tuple[str, ...], body: Any) -> web.Response:
        msg = self._find_message(g)
        if msg is None:
            return _error(404, "Unknown Message", 10008)
        if msg["author"]["id"] != self.bot_user["id"]:
            return _error(403, "Cannot edit a message authored by another user", 50005)
        if isinstance(body, dict) and "content" in body:
            content = body["content"] or ""
            msg.update(content=content, mentions=self._mentions(content))
        msg["edited_timestamp"] = iso_now()
        if self.echo_own_messages:
            self._dispatch_message("MESSAGE_UPDATE", msg)
        return _json(msg)

    def _delete_message(self, g: tuple[str, ...], body: Any) -> web.Response:
        msg = self._find_message(g)
        if msg is None:
            return _error(404, "Unknown Message", 10008)
        if self.echo_own_messages:
            self._delete(msg)
        self._deleted.add(int(msg["id"]))
        return web.Response(status=204)

    def _put_commands(self, g: tuple[str, ...], body: Any) -> web.Response:
        scope = int(g[1]) if len(g) > 1 else None
        old = {c["name"]: c["id"] for c in self.commands.get(scope, [])}
        self.commands[scope] = [
            {"type": 1, "description": "", "options": [], "default_member_permissions": None,
             "nsfw": False, **cmd, "id": old.get(cmd["name"]) or str(self._ids.next()),
             "application_id": str(self.application_id), "version": str(self._ids.next()),
             **({"guild_id": str(scope)} if scope else {})}
            for cmd in body
        ]
        return _json(self.commands[scope])

    def _interaction_message(self, inter: JSON, data: JSON) -> JSON:
        gid = inter.get("guild_id")
        return self._new_message(
            int(inter["channel_id"]), int(gid) if gid else None, self.bot_user,
            data.get("content") or "", webhook_id=str(self.application_id),
            application_id=str(self.application_id), flags=data.get("flags", 0), type=20)

    def _callback(self, g: tuple[str, ...], body: Any) -> web.Response:
        iid = int(g[0])
        inter = self.interactions.get(iid)
        if inter is None or inter["token"] != g[1]:
            return _error(404, "Unknown interaction", 10062)
        if iid in self._responded:
            return _error(400, "Interaction has already been acknowledged.", 40060)
        kind, data = (body or {}).get("type"), (body or {}).get("data") or {}
        result: JSON = {"interaction": {
            "id": str(iid), "type": 2, "response_message_loading": kind == 5,
            "response_message_ephemeral": bool(data.get("flags", 0) & 64)}}
        self._responded[iid] = None
        if kind in (4, 5):  # CHANNEL_MESSAGE_WITH_SOURCE, DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
            msg = self._interaction_message(inter, data)
            self._responded[iid] = int(msg["id"])
            result["interaction"]["response_message_id"] = msg["id"]
            result["resource"] = {"type": kind, "message": msg}
        return _json(result)

    def _by_token(self, token: str) -> JSON | None:
        return next((i for i in self.interactions.values() if i["token"] == token), None)

    def _followup(self, g: tuple[str, ...], body: Any) -> web.Response:
        inter = self._by_token(g[1])
        if inter is None:
            return _error(404, "Unknown Webhook", 10015)
        return _json(self._interaction_message(inter, body or {}))

    def _webhook_message(self, g: tuple[str, ...], body: Any, method: str) -> web.Response:
        inter = self._by_token(g[1])
        if inter is None:
            return _error(404, "Unknown Webhook", 10015)
        mid = int(g[2]) if g[2].isdigit() else self._responded.get(int(inter["id"]))
        msg = self.messages.get(mid) if mid is not None else None
        if msg is None or int(msg["id"]) in self._deleted:
            return _error(404, "Unknown Message", 10008)
        if method == "DELETE":
            self._deleted.add(int(msg["id"]))
            return web.Response(status=204)
        if method == "PATCH" and isinstance(body, dict) and "content" in body:
            msg.update(content=body["content"] or "", edited_timestamp=iso_now())
        return _json(msg)
