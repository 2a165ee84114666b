"""Who may reach the web chat, and what its socket does with messages and controls (no browser needed)."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient, WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from bot.core.clock import VirtualClock
from bot.core.config import EngineDeps
from bot.core.engine import Engine
from bot.core.memory_store import MemoryStore
from bot.core.ports import Outlet
from bot.settings import ConfigError, Settings
from bot.web import create_web_app
from bot.web.auth import is_loopback
from bot.web.chat import slash_command
from bot.web.server import required_token
from persona import load_persona
from tests.kit import ScriptedResponder

TOKEN = "s3cret-token-value"
LOCAL = "http://127.0.0.1"
WS = "ws://127.0.0.1"


def build_engine(outlet: Outlet) -> Engine:
    clock = VirtualClock()
    return Engine(EngineDeps(clock=clock, responder=ScriptedResponder(clock), outlet=outlet, store=MemoryStore(),
                             persona=load_persona("sunny"), rng=random.Random(1)))


@pytest.fixture
def guarded() -> Iterator[TestClient]:
    with TestClient(create_web_app(build_engine, token=TOKEN)) as client:
        yield client


@pytest.fixture
def local() -> Iterator[TestClient]:
    with TestClient(create_web_app(build_engine), base_url=LOCAL) as client:
        yield client


def test_without_the_token_every_request_gets_401(guarded: TestClient) -> None:
    for path in ("/", "/static/chat.js", "/timeline.svg?tab=abcdef", "/nope"):
        response = guarded.get(path)
        assert response.status_code == 401, path
        assert TOKEN not in response.text
    assert guarded.get("/", params={"token": "wrong"}).status_code == 401
    assert guarded.get("/", headers={"authorization": "Bearer wrong"}).status_code == 401


def test_the_token_works_as_query_header_or_the_cookie_the_page_gets(guarded: TestClient) -> None:
    assert guarded.get("/", headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert guarded.get("/static/chat.css", headers={"x-textbot-token": TOKEN}).status_code == 200
    page = guarded.get("/", params={"token": TOKEN})
    assert page.status_code == 200 and "textbot" in page.text
    assert "HttpOnly" in page.headers["set-cookie"]
    assert guarded.get("/static/chat.js").status_code == 200, "the cookie from ?token= carries the page's assets"


def test_the_socket_needs_the_token_too(guarded: TestClient) -> None:
    with pytest.raises(WebSocketDenialResponse) as denied, guarded.websocket_connect("/ws?tab=abcdef"):
        pass
    assert denied.value.status_code == 401
    with guarded.websocket_connect(f"/ws?tab=abcdef&token={TOKEN}") as ws:
        assert ws.receive_json()["type"] == "welcome"


def test_on_loopback_no_token_is_needed_but_other_host_names_and_origins_are_refused(local: TestClient) -> None:
    assert local.get("/").status_code == 200
    assert local.get("/", headers={"host": "evil.example:8080"}).status_code == 403
    with pytest.raises(WebSocketDenialResponse) as refused, local.websocket_connect(
        f"{WS}/ws?tab=abcdef", headers={"origin": "http://evil.example"}
    ):
        pass
    assert refused.value.status_code == 403
    with local.websocket_connect(f"{WS}/ws?tab=abcdef", headers={"origin": LOCAL}) as ws:
        assert ws.receive_json()["type"] == "welcome"


def test_a_bad_tab_id_is_refused(local: TestClient) -> None:
    with pytest.raises(WebSocketDisconnect), local.websocket_connect(f"{WS}/ws?tab=../x") as ws:
        ws.receive_json()


def test_exposing_the_chat_needs_a_token() -> None:
    assert required_token(Settings(web_host="127.0.0.1", _env_file=None)) is None  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match="WEB_TOKEN"):
        required_token(Settings(web_host="0.0.0.0", _env_file=None))  # type: ignore[call-arg]
    assert required_token(Settings(web_host="0.0.0.0", web_token=SecretStr(TOKEN), _env_file=None)) == TOKEN  # type: ignore[call-arg]


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("localhost", True), ("::1", True), ("[::1]", True), ("127.5.0.1", True),
    ("0.0.0.0", False), ("192.168.1.2", False), ("example.com", False), ("", False),
])
def test_loopback_names(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_controls_are_validated_and_applied_through_the_command_path(local: TestClient) -> None:
    with local.websocket_connect(f"{WS}/ws?tab=tab-controls") as ws:
        welcome = ws.receive_json()
        assert {f["name"] for f in welcome["fields"]} >= {"debounce", "max_wait", "wpm", "max_parts"}
        ws.send_json({"type": "set_timing", "field": "debounce", "value": "999"})
        assert ws.receive_json() == {"type": "notice", "ok": False, "field": "debounce",
                                     "text": "debounce must be between 0 and 120 seconds"}
        ws.send_json({"type": "set_timing", "field": "max_parts", "value": "2"})
        assert ws.receive_json() == {"type": "notice", "ok": True, "field": "max_parts", "text": "max_parts set to 2"}
        settings = ws.receive_json()
        assert settings["type"] == "settings" and settings["timing"]["max_parts"] == 2
        assert settings["sources"]["max_parts"] == "override"
        ws.send_json({"type": "set_policy", "kind": "turn", "name": "sometimes"})
        refused = ws.receive_json()
        assert not refused["ok"] and "unknown turn policy" in refused["text"]
        ws.send_json({"type": "set_policy", "kind": "turn", "name": "fixed:1.5"})
        assert ws.receive_json()["ok"]
        assert ws.receive_json()["turn"] == "fixed:1.5"


def test_a_message_is_acknowledged_once_received(local: TestClient) -> None:
    with local.websocket_connect(f"{WS}/ws?tab=tab-message") as ws:
        ws.receive_json()
        ws.send_json({"type": "typing"})
        ws.send_json({"type": "message", "id": "m1", "text": "hey"})
        assert ws.receive_json() == {"type": "ack", "id": "m1"}
        ws.send_text("not json")
        assert ws.receive_json()["ok"] is False
    with local.websocket_connect(f"{WS}/ws?tab=tab-message") as again:
        assert [b["text"] for b in again.receive_json()["transcript"]] == ["hey"], "a reload shows the chat so far"
    download = local.get("/timeline.svg", params={"tab": "tab-message"})
    assert download.headers["content-type"] == "image/svg+xml" and ">hey<" in download.text
    assert local.get("/timeline.svg", params={"tab": "../etc"}).status_code == 400


def test_slash_commands_typed_in_the_chat() -> None:
    assert slash_command("/timing set wpm 80") == ("timing", ("set", "wpm", "80"))
    assert slash_command("/shrug") is None
    assert slash_command("/") is None
    assert slash_command("hi /reset") is None


def test_a_command_typed_in_the_chat_answers_in_a_bubble_and_updates_the_controls(local: TestClient) -> None:
    with local.websocket_connect(f"{WS}/ws?tab=tab-command") as ws:
        ws.receive_json()
        ws.send_json({"type": "message", "id": "m1", "text": "/timing set wpm 80"})
        answer = ws.receive_json()
        assert (answer["type"], answer["role"], answer["text"]) == ("bubble", "bot", "wpm set to 80")
        settings = ws.receive_json()
        assert settings["type"] == "settings" and settings["timing"]["wpm"] == 80
        assert ws.receive_json() == {"type": "ack", "id": "m1"}
