"""Memories in scenes: the real openai client against fake Chat Completions servers (the actions model, the
stream model, the fast model), memories on SQLite, PostgreSQL or in process (LocalMemories)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import openai
import pytest

from bot.core.clock import VirtualClock
from bot.core.memory_port import Memories
from bot.core.memory_store import MemoryStore
from bot.core.ports import Responder, Store
from bot.llm.actions import ActionResponder
from bot.llm.fact_check import FastFactCheck
from bot.llm.fact_extract import FactLearner
from bot.llm.memory_prompt import MEMORY_NOTE, RememberingResponder
from bot.llm.memory_tools import FactKeeper, memory_tools
from bot.llm.model_errors import RetryPolicy
from bot.llm.openai_responder import OpenAIResponder
from bot.llm.tool_model import ToolModel
from bot.storage.memories import LocalMemories, SqlMemories
from bot.storage.sql_store import SqlStore
from tests.fakes.openai_answers import Answer, call, calls
from tests.fakes.openai_server import FakeOpenAIServer, Messages
from tests.kit import ChatScene
from tests.storage_kit import PostgresServer, _skip_without, migrated_database

KINDS = ("local", "sqlite", "postgresql")


def _client(server: FakeOpenAIServer) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=server.url, api_key="sk-test", max_retries=0, timeout=5.0)


@dataclass
class MemoryRig:
    """A scene's memories and its three fake models; `scene()` builds a chat on them."""

    kind: str
    database_url: str | None
    model: FakeOpenAIServer  # the actions responder's model
    writer: FakeOpenAIServer  # the stream responder's model
    fast: FakeOpenAIServer  # the fast model that settles supersedes
    memories: Memories | None = None
    _sql: list[SqlStore] = field(default_factory=list)
    _local: LocalMemories | None = None
    scenes: list[ChatScene] = field(default_factory=list)

    def _store(self, clock: VirtualClock) -> Store:
        if self.database_url is None:
            self._local = self._local or LocalMemories()  # one process: the facts outlive a scene, as on disk
            self.memories = self._local
            return MemoryStore()
        sql = SqlStore.open(self.database_url, clock)
        self._sql.append(sql)
        self.memories = SqlMemories(sql)
        return sql

    def _memories(self) -> Memories:
        assert self.memories is not None
        return self.memories

    def _actions(self, clock: VirtualClock) -> Responder:
        model = ToolModel(_client(self.model), "test-model", clock, RetryPolicy(2, backoff=1.0))
        check = FastFactCheck(_client(self.fast), "fast-model", clock)
        actions = ActionResponder(model, tools=memory_tools(self._memories(), clock, check))
        return RememberingResponder(actions, self._memories(), clock)  # as app.py wires it

    def _stream(self, clock: VirtualClock, learns: bool = False) -> Responder:
        inner = OpenAIResponder(_client(self.writer), "test-model", clock, RetryPolicy(2, backoff=1.0))
        learner = None
        if learns:
            check = FastFactCheck(_client(self.fast), "fast-model", clock)
            learner = FactLearner(_client(self.fast), "fast-model", FactKeeper(self._memories(), clock, check), clock)
        return RememberingResponder(inner, self._memories(), clock, learner=learner)

    async def scene(self, responder: str = "actions", learns: bool = False, **kwargs: Any) -> ChatScene:
        """A chat whose default (`stream`) responder reads memories (and with `learns`, keeps a turn's facts
        through the fast model) and whose `actions` one keeps them with its tools."""
        overrides = {"responder": responder} if responder != "stream" else {}
        chat = ChatScene(store=self._store, responder=partial(self._stream, learns=learns),
                         responders={"actions": self._actions},
                         memories=self._memories, overrides=overrides, **kwargs)
        await chat.setup()
        self.scenes.append(chat)
        return chat

    async def close(self) -> None:
        """Close the scenes, then the databases under them."""
        for chat in self.scenes:
            await chat.close()
        for sql in self._sql:
            await sql.close()
        if self._local is not None:
            self._local.close()


async def memory_rig(request: pytest.FixtureRequest, postgres_server: PostgresServer,
                     migrated_templates: dict[str, str], tmp_path: Path) -> AsyncIterator[MemoryRig]:
    """Fixture body (`rig = pytest.fixture(params=KINDS)(memory_rig)`): memories in process, on SQLite and on
    PostgreSQL in turn (the request's param), with fresh fake models."""
    kind: str = request.param
    async with FakeOpenAIServer() as model, FakeOpenAIServer() as writer, FakeOpenAIServer() as fast:
        if kind == "local":
            rig = MemoryRig(kind, None, model, writer, fast)
            yield rig
            await rig.close()
            return
        _skip_without(kind, postgres_server)
        with migrated_database(kind, postgres_server, migrated_templates, tmp_path) as url:
            rig = MemoryRig(kind, url, model, writer, fast)
            try:
                yield rig
            finally:
                await rig.close()


def says_and_pushes(text: str) -> Answer:
    """The actions model answers with one text and ends its turn."""
    return calls(call("append", text=text), call("push"), call("done"))


def remembers(fact: str, answer: str = "noted!", **extra: Any) -> list[Answer]:
    """The actions model keeps a fact, then answers."""
    return [calls(call("remember", fact=fact, **extra)), says_and_pushes(answer)]


def recalls(query: str, answer: str) -> list[Answer]:
    """The actions model searches its memories, then answers."""
    return [calls(call("recall", query=query)), says_and_pushes(answer)]


def system_prompt(messages: Messages) -> str:
    """The system message of a request."""
    return str(messages[0]["content"]) if messages and messages[0].get("role") == "system" else ""


def prompt_memories(server: FakeOpenAIServer, request: int = -1) -> list[str]:
    """The facts a stream request's system prompt carried (empty when it had no memory note)."""
    system = system_prompt(server.requests[request]["messages"])
    if MEMORY_NOTE not in system:
        return []
    lines = system.split(MEMORY_NOTE, 1)[1].splitlines()
    return [line[2:].rsplit(" (", 1)[0] for line in lines if line.startswith("- ")]


def results_of(server: FakeOpenAIServer, tool: str) -> list[dict[str, Any]]:
    """Every result a tool gave the actions model, in the order of the calls (over all its sessions)."""
    found: dict[str, dict[str, Any]] = {}
    for body in server.requests:
        messages = body.get("messages", [])
        names = {c["id"]: c["function"]["name"] for m in messages for c in (m.get("tool_calls") or [])}
        for m in messages:
            if m.get("role") == "tool" and names.get(m.get("tool_call_id")) == tool:
                found.setdefault(m["tool_call_id"], json.loads(m["content"]))
    return list(found.values())
