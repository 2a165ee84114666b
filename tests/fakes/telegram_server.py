"""A local fake of the Telegram Bot API server, for end-to-end tests through the real PTB client."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Any

from aiohttp import web

JSON = dict[str, Any]
Handler = Callable[[JSON], Awaitable[Any]]

# Form fields PTB sends as raw strings; every other field is JSON-encoded (ints, bools, objects).
_STRING_PARAMS = frozenset({
    "text", "caption", "parse_mode", "action", "url", "secret_token", "callback_query_id",
    "language_code", "inline_message_id", "ip_address", "business_connection_id",
    "message_effect_id", "title", "description", "short_description", "name", "custom_title",
    "query", "emoji",
})
_ADMIN_RIGHTS = (
    "can_manage_chat", "can_delete_messages", "can_manage_video_chats", "can_restrict_members",
    "can_promote_members", "can_change_info", "can_invite_users", "can_post_stories",
    "can_edit_stories", "can_delete_stories", "can_pin_messages",
)
_COMMAND = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w/@])")
_MENTION = re.compile(r"(?<![\w@/])@[A-Za-z0-9_]{5,32}(?!\w)")
_VALID_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
DELETE_WINDOW = 48 * 3600.0  # Telegram lets a bot delete a message for 48 hours after it was sent


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def auto_entities(text: str) -> list[JSON]:
    """Return the bot_command and mention entities Telegram attaches to ``text`` (UTF-16 units)."""
    spans = [("bot_command", m.start(), m.end()) for m in _COMMAND.finditer(text)]
    spans += [("mention", m.start(), m.end()) for m in _MENTION.finditer(text)]
    return [
        {"type": kind, "offset": _utf16_len(text[:start]), "length": _utf16_len(text[start:end])}
        for kind, start, end in sorted(spans, key=lambda span: span[1])
    ]


def _decode(name: str, value: str) -> Any:
    if name in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value  # e.g. chat_id="@channel"


def _numeric_id(update: Any) -> int | None:
    value = update.get("update_id") if isinstance(update, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _confirm(updates: list[Any], offset: int) -> list[Any]:
    """The updates left once every one below ``offset`` is confirmed (malformed ones by their place)."""
    confirmed = [i for i, u in enumerate(updates) if (n := _numeric_id(u)) is not None and n < offset]
    last = max(confirmed, default=-1)
    return [u for i, u in enumerate(updates)
            if ((n := _numeric_id(u)) is not None and n >= offset) or (n is None and i > last)]


@dataclass
class Call:
    """One Bot API request the server received; ``ok`` is whether the method took effect."""

    method: str
    params: JSON
    at: float
    ok: bool = True
    result: Any = None


@dataclass
class _Fault:
    status: int
    retry_after: int
    description: str | None
    times: int
    drop: bool = False
    deliver: bool = False

    def error(self) -> _ApiError:
        if self.status == 429:
            text = self.description or f"Too Many Requests: retry after {self.retry_after}"
            return _ApiError(429, text, {"retry_after": self.retry_after})
        phrase = {s.value: s.phrase for s in HTTPStatus}.get(self.status, "Error")
        return _ApiError(self.status, self.description or phrase)


class _ApiError(Exception):
    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.body: JSON = {"ok": False, "error_code": status, "description": description}
        if parameters:
            self.body["parameters"] = parameters


class FakeTelegramServer:
    """Serves ``{root}/bot{token}/{method}`` on 127.0.0.1, recording calls and injecting faults."""

    def __init__(
        self, now: Callable[[], float] | None = None, *, token: str | None = None,
        bot_id: int = 4242, bot_username: str = "textbot_bot", bot_name: str = "textbot",
    ) -> None:
        self.now, self.token, self.root = now or time.monotonic, token, ""  # token None: any
        self.bot: JSON = {"id": bot_id, "is_bot": True, "first_name": bot_name,
                          "username": bot_username, "can_join_groups": True,
                          "can_read_all_group_messages": False, "supports_inline_queries": False}
        self.calls: list[Call] = []
        self.sent: list[JSON] = []  # messages the bot delivered, in order (edits not applied)
        self.messages: dict[tuple[int, int], JSON] = {}  # (chat, id) -> current state
        self.sent_at: dict[tuple[int, int], float] = {}  # (chat, id) -> when the bot sent it (on `now`)
        self.chats: dict[int, JSON] = {}
        self.users: dict[int, JSON] = {}
        self.admins: dict[int, set[int]] = {}
        self.commands: dict[tuple[str, str], list[JSON]] = {}  # (scope JSON, language) -> list
        self.offset_confirmed, self.webhook_url = 0, ""
        self._updates: list[JSON] = []
        self._next_update_id, self._closing = 1, False
        self._last_message_id: dict[int, int] = {}
        self._faults: dict[str, list[_Fault]] = {}
        self._waiters: set[asyncio.Future[None]] = set()
        self._runner: web.AppRunner | None = None
        self._handlers: dict[str, tuple[str, Handler]] = {
            name[5:].lower(): (name[5:], getattr(self, name))
            for name in dir(self) if name.startswith("_api_")
        }

    async def start(self) -> str:
        """Start listening on 127.0.0.1 (a free port) and return the root URL."""
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._closing = False
        self._runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.root = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self.root

    async def stop(self) -> None:
        """Answer pending long polls with no updates and stop the server (idempotent)."""
        self._closing = True
        self._wake()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> FakeTelegramServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def push_update(self, update: JSON) -> JSON:
        """Queue a raw update (``update_id`` assigned if missing) for getUpdates; return it."""
        update = {"update_id": self._next_update_id, **update}
        self._next_update_id = max(self._next_update_id, update["update_id"]) + 1
        self._updates.append(update)
        self._wake()
        return update

    def push_raw_update(self, update: Any) -> None:
        """Queue ``update`` exactly as given (no ``update_id`` added): a malformed update for getUpdates.

        An update without a numeric ``update_id`` is confirmed along with the numeric ones queued
        after it, as if it had the id of its place in the queue.
        """
        self._updates.append(update)
        self._wake()

    def push_message(
        self, chat_id: int, text: str = "", *, user_id: int | None = None,
        first_name: str = "Alice", username: str | None = None, chat_type: str | None = None,
        chat_title: str | None = None, reply_to_message_id: int | None = None,
        message_thread_id: int | None = None, entities: list[JSON] | None = None,
        photo: bool = False, **extra: Any,
    ) -> JSON:
        """Queue a human's message as a ``message`` update and return the Message dict."""
        if chat_type is None and chat_id not in self.chats:
            chat_type = "private" if chat_id > 0 else (
                "supergroup" if message_thread_id is not None else "group")
        chat = self._chat(chat_id, chat_type)
        chat.update({"title": chat_title} if chat_title is not None else {})
        if message_thread_id is not None and chat["type"] == "supergroup":
            chat["is_forum"] = True
        private = chat["type"] == "private"
        uid = user_id if user_id is not None else (chat_id if private else 1000)
        names = {"first_name": first_name, **({"username": username} if username else {})}
        user = self.users[uid] = {"id": uid, "is_bot": False, **names, "language_code": "en"}
        chat.update(names if private else {})
        reply_to = None if reply_to_message_id is None else self._reply_target(
            chat, reply_to_message_id)
        msg = self._new_message(chat, user, text, entities, reply_to, message_thread_id, photo)
        msg.update(extra)
        self.push_update({"message": msg})
        return msg

    def push_edit(
        self, chat_id: int, message_id: int, new_text: str, *,
        entities: list[JSON] | None = None, **extra: Any,
    ) -> JSON:
        """Change a stored message's text and queue an ``edited_message`` update; return it."""
        msg = dict(self.messages[(chat_id, message_id)])
        key, ent_key = ("caption", "caption_entities") if "photo" in msg else ("text", "entities")
        msg[key] = new_text
        msg.pop(ent_key, None)
        if ent := auto_entities(new_text) if entities is None else entities:
            msg[ent_key] = ent
        msg["edit_date"] = int(time.time())
        msg.update(extra)
        self.messages[(chat_id, message_id)] = msg
        self.push_update({"edited_message": msg})
        return msg

    def set_admins(self, chat_id: int, user_ids: Iterable[int]) -> None:
        """Make exactly ``user_ids`` the administrators of ``chat_id``."""
        self.admins[chat_id] = set(user_ids)

    def fail_next(self, method: str, status: int = 429, retry_after: int = 1, times: int = 1,
                  description: str | None = None) -> None:
        """Answer the next ``times`` calls of ``method`` with a Bot API error of ``status``."""
        self._faults.setdefault(method.lower(), []).append(
            _Fault(status, retry_after, description, times))

    def drop_next(self, method: str, times: int = 1, *, deliver: bool = False) -> None:
        """Close the next ``times`` calls' connections unanswered (after acting, if deliver)."""
        self._faults.setdefault(method.lower(), []).append(
            _Fault(0, 0, None, times, drop=True, deliver=deliver))

    def calls_of(self, method: str) -> list[Call]:
        """Return every recorded call of ``method`` (case-insensitive), failed ones included."""
        return [c for c in self.calls if c.method.lower() == method.lower()]

    def sent_texts(self, chat_id: int | None = None) -> list[str]:
        """Return the texts of messages the bot delivered (to ``chat_id``), in order."""
        return [m.get("text", "") for m in self.sent if chat_id in (None, m["chat"]["id"])]

    def visible_texts(self, chat_id: int) -> list[str]:
        """Return the bot's messages in ``chat_id`` as the human sees them now (edits, deletes)."""
        return [m.get("text", "") for (cid, _), m in sorted(self.messages.items())
                if cid == chat_id and m["from"]["id"] == self.bot["id"]]

    def chat_actions(self, chat_id: int) -> list[Call]:
        """Return the successful sendChatAction calls for ``chat_id`` (``at`` gives timing)."""
        return [c for c in self.calls_of("sendChatAction")
                if c.ok and str(c.params.get("chat_id")) == str(chat_id)]

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates queued and not yet confirmed by an offset."""
        return list(self._updates)

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait (real time) until ``predicate()`` holds; re-checked on every call or push."""
        async with asyncio.timeout(timeout):
            while not predicate():
                await self._wait(0.05)

    def _wake(self) -> None:
        for fut in self._waiters:
            if not fut.done():
                fut.set_result(None)

    async def _wait(self, timeout: float) -> None:
        fut = asyncio.get_running_loop().create_future()
        self._waiters.add(fut)
        try:
            await asyncio.wait([fut], timeout=timeout)
        finally:
            self._waiters.discard(fut)
            fut.cancel()

    async def _read_params(self, request: web.Request) -> JSON:
        params: JSON = {k: _decode(k, v) for k, v in request.query.items()}
        if request.content_type == "application/json":
            params.update(await request.json())
        elif request.body_exists:
            for key, value in (await request.post()).items():  # files stay FileField objects
                params[key] = _decode(key, value) if isinstance(value, str) else value
        return params

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["method"]
        method, handler = self._handlers.get(name.lower(), (name, None))
        call = Call(method, await self._read_params(request), self.now())
        self.calls.append(call)
        try:
            if self.token is not None and request.match_info["token"] != self.token:
                raise _ApiError(401, "Unauthorized")
            if handler is None:
                raise _ApiError(404, "Not Found: method not found")
            fault = self._take_fault(method)
            if fault is not None and not fault.drop:
                raise fault.error()
            try:
                if fault is None or fault.deliver:
                    call.result = await handler(call.params)
            except (KeyError, ValueError, TypeError) as exc:  # missing or malformed parameter
                raise _ApiError(400, f"Bad Request: {exc!r}") from None
            call.ok = fault is None or fault.deliver
        except _ApiError as err:
            call.ok, call.result = False, err.body
            return web.json_response(err.body, status=err.status)
        finally:
            self._wake()
        if fault is not None and request.transport is not None:  # drop_next: no answer at all
            request.transport.abort()
            raise asyncio.CancelledError
        return web.json_response({"ok": True, "result": call.result})

    def _take_fault(self, method: str) -> _Fault | None:
        if not (queue := self._faults.get(method.lower())):
            return None
        queue[0].times -= 1
        return queue.pop(0) if queue[0].times <= 0 else queue[0]

    def _chat(self, chat_id: int | str, chat_type: str | None = None) -> JSON:
        if isinstance(chat_id, str) and not chat_id.lstrip("-").isdigit():
            for chat in self.chats.values():
                if f"@{chat.get('username')}" == chat_id:
                    return chat
            raise _ApiError(400, "Bad Request: chat not found")
        cid = int(chat_id)
        if cid not in self.chats:
            kind = chat_type or ("private" if cid > 0 else "group")
            self.chats[cid] = {"id": cid, "type": kind, **(
                {"first_name": "User"} if kind == "private" else {"title": "Test group"})}
        elif chat_type is not None:
            self.chats[cid]["type"] = chat_type
        return self.chats[cid]

    def _reply_target(self, chat: JSON, message_id: int, *, allow_missing: bool = False) -> JSON:
        target = self.messages.get((chat["id"], int(message_id)))
        if target is None:
            if allow_missing:
                return {}
            raise _ApiError(400, "Bad Request: message to be replied not found")
        return {k: v for k, v in target.items() if k != "reply_to_message"}

    def _new_message(
        self, chat: JSON, sender: JSON, text: str, entities: list[JSON] | None,
        reply_to: JSON | None, thread_id: int | None, photo: bool = False,
    ) -> JSON:
        mid = self._last_message_id.get(chat["id"], 0) + 1
        self._last_message_id[chat["id"]] = mid
        msg: JSON = {"message_id": mid, "from": sender, "chat": chat, "date": int(time.time())}
        if thread_id is not None:
            msg["message_thread_id"] = thread_id
            msg["is_topic_message"] = bool(chat.get("is_forum"))
        if reply_to:
            msg["reply_to_message"] = reply_to
        if photo:
            msg["photo"] = [{"file_id": f"photo-{chat['id']}-{mid}-{w}", "width": w,
                             "file_unique_id": f"u{chat['id']}{mid}{w}", "height": w * 3 // 4}
                            for w in (90, 1280)]
        key, ent_key = ("caption", "caption_entities") if photo else ("text", "entities")
        msg.update({key: text} if text or not photo else {})
        if entities is None and sender is not self.bot:
            entities = auto_entities(text)
        msg.update({ent_key: entities} if entities else {})
        self.messages[(chat["id"], mid)] = msg
        return msg

    def _admin(self, user: JSON) -> JSON:
        return {"status": "administrator", "user": user, "can_be_edited": False,
                "is_anonymous": False, **dict.fromkeys(_ADMIN_RIGHTS, True)}

    def _user(self, user_id: int) -> JSON:
        users = {**self.users, self.bot["id"]: self.bot}
        return users.get(user_id, {"id": user_id, "is_bot": False, "first_name": "User"})

    @staticmethod
    def _commands_key(p: JSON) -> tuple[str, str]:
        scope = json.dumps(p.get("scope") or {"type": "default"}, sort_keys=True)
        return scope, str(p.get("language_code") or "")

    # Bot API methods: _api_<name>, found by name (case-insensitive) in __init__.

    async def _api_getMe(self, p: JSON) -> JSON:
        return self.bot

    async def _api_setWebhook(self, p: JSON) -> bool:
        self.webhook_url = str(p.get("url", ""))
        if p.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _api_deleteWebhook(self, p: JSON) -> bool:
        return await self._api_setWebhook({**p, "url": ""})

    async def _api_getWebhookInfo(self, p: JSON) -> JSON:
        return {"url": self.webhook_url, "has_custom_certificate": False,
                "pending_update_count": len(self._updates)}

    async def _api_getUpdates(self, p: JSON) -> list[JSON]:
        if self.webhook_url:
            raise _ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                 "use deleteWebhook to delete the webhook first")
        offset, limit = int(p.get("offset") or 0), int(p.get("limit") or 100)
        if offset < 0:  # -N: forget all but the last N updates
            keep = self._updates[offset:]
            offset = keep[0]["update_id"] if keep else self._next_update_id
        if offset > 0:
            self._updates = _confirm(self._updates, offset)
            self.offset_confirmed = max(self.offset_confirmed, offset)
            self._wake()
        allowed = set(p.get("allowed_updates") or ())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(p.get("timeout") or 0)
        while True:
            ready = [u for u in self._updates if not allowed or not isinstance(u, dict) or allowed & u.keys()]
            if ready or self._closing or loop.time() >= deadline:
                return ready[:limit]
            await self._wait(deadline - loop.time())

    async def _api_sendMessage(self, p: JSON) -> JSON:
        chat, text = self._chat(p["chat_id"]), str(p.get("text", ""))
        if not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if _utf16_len(text) > 4096:
            raise _ApiError(400, "Bad Request: message is too long")
        rp = p.get("reply_parameters") or {"message_id": p.get("reply_to_message_id")}
        reply_to = None if rp["message_id"] is None else self._reply_target(
            chat, rp["message_id"], allow_missing=bool(
                rp.get("allow_sending_without_reply") or p.get("allow_sending_without_reply")))
        msg = self._new_message(chat, self.bot, text, p.get("entities"), reply_to,
                                p.get("message_thread_id"))
        if p.get("reply_markup"):
            msg["reply_markup"] = p["reply_markup"]
        self.sent.append(msg)
        self.sent_at[chat["id"], msg["message_id"]] = self.now()
        return msg

    async def _api_sendChatAction(self, p: JSON) -> bool:
        self._chat(p["chat_id"])
        return True

    async def _api_editMessageText(self, p: JSON) -> JSON | bool:
        if p.get("inline_message_id"):
            return True
        key = (self._chat(p["chat_id"])["id"], int(p["message_id"]))
        if (msg := self.messages.get(key)) is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        if msg["from"]["id"] != self.bot["id"]:
            raise _ApiError(400, "Bad Request: message can't be edited")
        text, entities = str(p.get("text", "")), p.get("entities")
        if msg.get("text") == text and msg.get("entities") == entities:
            raise _ApiError(400, "Bad Request: message is not modified: specified new message "
                                 "content and reply markup are exactly the same as a current "
                                 "content and reply markup of the message")
        new = {k: v for k, v in msg.items() if k != "entities"} | {
            "text": text, "edit_date": int(time.time()), **({"entities": entities} if entities else {})}
        self.messages[key] = new
        return new

    async def _api_deleteMessage(self, p: JSON) -> bool:
        key = (self._chat(p["chat_id"])["id"], int(p["message_id"]))
        if key not in self.messages:
            raise _ApiError(400, "Bad Request: message to delete not found")
        if key in self.sent_at and self.now() - self.sent_at[key] >= DELETE_WINDOW:
            raise _ApiError(400, "Bad Request: message can't be deleted for everyone")
        del self.messages[key]
        return True

    async def _api_setMyCommands(self, p: JSON) -> bool:
        commands = list(p.get("commands") or [])
        for c in commands:
            if not _VALID_COMMAND.fullmatch(str(c.get("command", ""))) or not c.get("description"):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        self.commands[self._commands_key(p)] = commands
        return True

    async def _api_getMyCommands(self, p: JSON) -> list[JSON]:
        return self.commands.get(self._commands_key(p), [])

    async def _api_deleteMyCommands(self, p: JSON) -> bool:
        self.commands.pop(self._commands_key(p), None)
        return True

    async def _api_getChat(self, p: JSON) -> JSON:
        gifts = dict.fromkeys(("unlimited_gifts", "limited_gifts", "unique_gifts",
                               "premium_subscription", "gifts_from_channels"), True)
        return {**self._chat(p["chat_id"]), "accent_color_id": 0, "max_reaction_count": 11,
                "accepted_gift_types": gifts}

    async def _api_getChatMember(self, p: JSON) -> JSON:
        chat, user = self._chat(p["chat_id"]), self._user(int(p["user_id"]))
        if user["id"] in self.admins.get(chat["id"], set()):
            return self._admin(user)
        return {"status": "member", "user": user}

    async def _api_getChatAdministrators(self, p: JSON) -> list[JSON]:
        chat = self._chat(p["chat_id"])
        return [self._admin(self._user(uid)) for uid in sorted(self.admins.get(chat["id"], ()))]

    async def _api_answerCallbackQuery(self, p: JSON) -> bool:
        return True

