"""Updates the bot cannot read: skipped in one log line without their text, the messages around them answered."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from bot.core.ports import ReplyRequest
from tests.fakes.telegram_server import FakeTelegramServer
from tests.kit import unanswered_texts
from tests.telegram_kit import DM, TelegramScene

SECRET = "my bank pin is 4321"
Shape = Callable[[FakeTelegramServer], object]


def echo(request: ReplyRequest) -> list[str]:
    return [f"re: {unanswered_texts(request)[-1]}"]


def message(server: FakeTelegramServer, **changes: Any) -> dict[str, Any]:
    """A well-formed DM from the human (text SECRET), with fields changed or (value None) removed."""
    msg: dict[str, Any] = {
        "message_id": 900 + len(server.calls), "date": 1_700_000_000, "text": SECRET,
        "chat": {"id": DM, "type": "private", "first_name": "Alice"},
        "from": {"id": DM, "is_bot": False, "first_name": "Alice"},
    }
    msg.update(changes)
    return {k: v for k, v in msg.items() if v is not None}


SHAPES: dict[str, tuple[Shape, str]] = {  # what arrives, and the field the log line names
    "message without date": (lambda s: s.push_update({"message": message(s, date=None)}), "message.date"),
    "message without message_id": (
        lambda s: s.push_update({"message": message(s, message_id=None)}), "message.message_id"),
    "message that is a string": (lambda s: s.push_update({"message": SECRET}), "message is"),
    "sender without an id": (
        lambda s: s.push_update({"message": message(s, **{"from": {"is_bot": False, "first_name": SECRET}})}),
        "message.from.id"),
    "chat without a type": (
        lambda s: s.push_update({"message": message(s, chat={"id": DM, "first_name": SECRET})}), "message.chat.type"),
    "edit without a date": (lambda s: s.push_update({"edited_message": message(s, date=None)}), "edited_message.date"),
    "sender without a name": (
        lambda s: s.push_update({"message": message(s, **{"from": {"id": DM, "is_bot": False}})}), "User.first_name"),
    "text that is not a string": (lambda s: s.push_update({"message": message(s, text=[SECRET])}), "AttributeError"),
    "update without update_id": (lambda s: s.push_raw_update({"message": message(s)}), "numeric update_id"),
    "non-numeric update_id": (
        lambda s: s.push_raw_update({"update_id": "abc", "message": message(s)}), "numeric update_id"),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def skip_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]


@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
async def test_an_unreadable_update_between_two_messages_is_skipped_and_both_are_answered_also_after_a_restart(
    shape: str, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    caplog.set_level(logging.INFO)
    push_bad, field = SHAPES[shape]
    async with TelegramScene(script=echo) as tg:
        await tg.says(DM, "first")
        assert await tg.until_sent(DM, 1) == ["re: first"]
        push_bad(tg.server)
        await tg.says(DM, "second")
        assert await tg.until_sent(DM, 2) == ["re: first", "re: second"]
        assert len(skip_lines(caplog)) == 1

        await tg.stop_bot()  # the bot restarts with an unreadable update waiting in front of a message
        push_bad(tg.server)
        tg.server.push_message(DM, "third")
        await tg.start_bot()
        await tg.handled()
        assert await tg.until_sent(DM, 3) == ["re: first", "re: second", "re: third"]
        assert tg.task is not None and not tg.task.done(), "still running"
        assert tg.server.pending_updates == []

    lines = skip_lines(caplog)
    assert len(lines) == 2 and all(field in line for line in lines), lines
    assert SECRET not in caplog.text, "no log line quotes what the human wrote"
    assert not [r for r in caplog.records if r.levelno >= logging.CRITICAL]


async def test_a_batch_of_only_an_update_without_an_id_does_not_spin_and_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with TelegramScene(script=echo) as tg:
        polls = len(tg.server.calls_of("getUpdates"))
        tg.server.push_raw_update({"message": message(tg.server)})
        await tg.server.wait_until(lambda: len(tg.server.calls_of("getUpdates")) >= polls + 2)
        await tg.says(DM, "hello?")
        assert await tg.until_sent(DM, 1) == ["re: hello?"]
        assert len(tg.server.calls_of("getUpdates")) - polls < 10, "re-polls are paced, not a busy loop"
    assert len(skip_lines(caplog)) == 1
    assert SECRET not in caplog.text


async def test_a_webhook_update_ptb_cannot_parse_is_logged_without_its_text_and_the_next_is_answered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    port = free_port()
    async with TelegramScene(script=echo, webhook_port=port) as tg, aiohttp.ClientSession() as http:
        secret = {"X-Telegram-Bot-Api-Secret-Token": tg.server.calls_of("setWebhook")[-1].params["secret_token"]}
        url = f"http://127.0.0.1:{port}/tg/hook"
        bad = {"update_id": 500, "message": message(tg.server, date=None)}
        async with http.post(url, json=bad, headers=secret) as refused:
            assert refused.status == 400, "PTB refuses it; it never reaches a handler"
        tg.server.push_message(DM, "still there?")
        async with http.post(url, json=tg.server.pending_updates[-1], headers=secret) as accepted:
            assert accepted.status == 200
        assert await tg.until_sent(DM, 1) == ["re: still there?"]
    assert SECRET not in caplog.text
    (line,) = skip_lines(caplog)
    assert "500" in line and "message.date" in line
    assert not [r for r in caplog.records if r.levelno >= logging.CRITICAL]
