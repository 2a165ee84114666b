"""Reading a getUpdates batch one update at a time, so one update the bot cannot read costs only itself.

PTB's `Bot.get_updates` parses a whole batch at once: one malformed update raises for the batch,
after logging every update in it, text included, at CRITICAL. The poller's getUpdates connection
(`RawUpdates`, PTB's swappable request layer) keeps the batch raw and hands PTB an empty list;
`read_batch` then parses each update alone, and names what was wrong with one it skips (a field,
never a value: the log must not carry what people wrote).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from telegram import Bot, Update
from telegram.error import TelegramError
from telegram.request import HTTPXRequest

MESSAGE_KINDS = ("message", "edited_message")
_MISSING_ARGUMENT = re.compile(r"(\w+)\.__init__\(\) missing \d+ required positional arguments?: '(\w+)'")
_IDENTIFIER = re.compile(r"\w{1,64}")


class RawUpdates(HTTPXRequest):
    """The getUpdates connection: keeps each batch as raw JSON for `read_batch` instead of PTB's parser."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._raw: list[object] = []

    def parse_json_payload(self, payload: bytes) -> dict[str, Any]:  # type: ignore[override]
        """The response with its update list set aside (PTB sees none); unreadable JSON is an error."""
        try:
            data = json.loads(payload.decode("utf-8", "replace"))
        except ValueError:  # PTB's own parser would log the whole body, updates and all
            raise TelegramError("Invalid server response") from None
        if not isinstance(data, dict):
            raise TelegramError("Invalid server response")
        result = data.get("result")
        if data.get("ok") is True and isinstance(result, list):
            self._raw, data["result"] = result, []
        elif data.get("ok") is True:
            raise TelegramError("Invalid server response")
        return data

    def take(self) -> list[object]:
        """The raw updates of the last successful getUpdates (once)."""
        raw, self._raw = self._raw, []
        return raw


@dataclass(frozen=True)
class Unreadable:
    """An update that was skipped: its id (None when that is what was wrong) and the field at fault."""

    update_id: int | None
    problem: str
    digest: str = ""  # identifies an id-less update across fetches without keeping its content


@dataclass
class Batch:
    """One getUpdates answer: the updates that could be read, in order, and the ones skipped."""

    updates: list[Update] = field(default_factory=list)
    skipped: list[Unreadable] = field(default_factory=list)
    newest: int = 0  # the highest numeric update_id in the batch, read or not (0: none)
    size: int = 0


def read_batch(raw: list[object], bot: Bot) -> Batch:
    """Parse each raw update on its own; an unreadable one is skipped and named."""
    batch = Batch(size=len(raw))
    for item in raw:
        update_id = numeric_id(item)
        if update_id is not None:
            batch.newest = max(batch.newest, update_id)
        problem = bad_field(item)
        if problem is None:
            try:
                batch.updates.append(Update.de_json(item, bot))  # type: ignore[arg-type]
                continue
            except Exception as exc:  # any shape PTB cannot build an Update from
                problem = culprit(exc)
        digest = "" if update_id is not None else str(hash(json.dumps(item, sort_keys=True, default=str)))
        batch.skipped.append(Unreadable(update_id, problem, digest))
    return batch


def numeric_id(raw: object) -> int | None:
    """The update's `update_id` if it is an integer."""
    value = raw.get("update_id") if isinstance(raw, dict) else None
    return value if _is_int(value) else None


def bad_field(raw: object) -> str | None:
    """The first field the bot relies on that is missing or of the wrong type; None if all look right."""
    if not isinstance(raw, dict):
        return "the update itself"
    if numeric_id(raw) is None:
        return "update_id"
    for kind in MESSAGE_KINDS:
        if kind in raw:
            problem = _bad_message_field(raw[kind])
            if problem is not None:
                return f"{kind}.{problem}" if problem else kind
    return None


def _bad_message_field(message: object) -> str | None:
    if not isinstance(message, dict):
        return ""
    for name in ("message_id", "date"):
        if not _is_int(message.get(name)):
            return name
    chat = message.get("chat")
    if not isinstance(chat, dict) or not _is_int(chat.get("id")):
        return "chat.id"
    if not isinstance(chat.get("type"), str):
        return "chat.type"
    sender = message.get("from", {"id": 0})
    if not isinstance(sender, dict) or not _is_int(sender.get("id")):
        return "from.id"
    return None


def culprit(exc: Exception) -> str:
    """What PTB's parser tripped on, named by identifiers only (an exception's text may quote a value)."""
    missing = _MISSING_ARGUMENT.search(str(exc)) if isinstance(exc, TypeError) else None
    if missing is not None:
        return f"{missing.group(1)}.{missing.group(2)}"
    if isinstance(exc, KeyError) and exc.args and _IDENTIFIER.fullmatch(str(exc.args[0])):
        return str(exc.args[0])
    return f"a field PTB rejects ({type(exc).__name__})"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class WebhookParseFailures(logging.Filter):
    """Rewrites PTB's webhook line for an update it cannot parse: the update id and the field, not the update.

    PTB's webhook handler logs such an update whole (text included) at CRITICAL and answers 400;
    there is no hook to change that, so its record is rewritten here on its own logger.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record; strip the update out of the parse-failure one."""
        if "Received data was" in str(record.msg) and record.args:
            data = record.args[0] if isinstance(record.args, tuple) else record.args
            error = record.exc_info[1] if record.exc_info else None
            problem = bad_field(data) or (culprit(error) if isinstance(error, Exception) else "unknown")
            record.msg = "skipped a Telegram webhook update %s: %s is missing or malformed"
            record.args = (numeric_id(data), problem)
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


WEBHOOK_PARSE_FAILURES = WebhookParseFailures()
WEBHOOK_LOGGER = "telegram.ext.Updater"  # PTB's webhook handler logs as its Updater
