"""The memories' search is the database's own full-text search (FTS5 on SQLite and in process, tsvector on
PostgreSQL): stemmed words match, better matches rank first, superseded and forgotten facts are gone from it,
and the fast model's supersede check fails safe (nothing replaced)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import openai
import pytest
from sqlalchemy import text

from bot.core.clock import VirtualClock
from bot.core.events import ConversationKey
from bot.core.memory_port import Memory, search_terms
from bot.llm.fact_check import FastFactCheck
from bot.storage.memories import LocalMemories, SqlMemories
from bot.storage.memory_sql import SqlFacts
from bot.storage.sql_store import SqlStore
from tests.fakes.openai_answers import Answer, ToolCall, call, calls
from tests.fakes.openai_server import FakeOpenAIServer
from tests.memory_kit import KINDS
from tests.storage_kit import PostgresServer, _skip_without, migrated_database

pytest_plugins = ("tests.storage_kit",)

DM = ConversationKey("telegram", "42")
OTHER = ConversationKey("telegram", "43")


@pytest.fixture(params=KINDS)
async def facts(request: pytest.FixtureRequest, postgres_server: PostgresServer,
                migrated_templates: dict[str, str], tmp_path: Path) -> AsyncIterator[SqlFacts]:
    """Memories in process, on SQLite, on PostgreSQL."""
    kind: str = request.param
    if kind == "local":
        local = LocalMemories()
        yield local
        local.close()
        return
    _skip_without(kind, postgres_server)
    with migrated_database(kind, postgres_server, migrated_templates, tmp_path) as url:
        store = SqlStore.open(url)
        try:
            yield SqlMemories(store)
        finally:
            await store.close()


def texts(memories: list[Memory]) -> list[str]:
    return [m.fact for m in memories]


async def test_a_search_finds_other_forms_of_a_word_and_ranks_the_closer_match_first(facts: SqlFacts) -> None:
    await facts.remember(DM, "u1", "Alex's dog is called Rex", 1.0)
    await facts.remember(DM, "u1", "Alex walks the dogs of the neighbours every Sunday for money", 2.0)
    await facts.remember(DM, "u1", "Alex is learning the piano", 3.0)

    assert texts(await facts.recall(DM, "what are my dogs called?")) == [
        "Alex's dog is called Rex", "Alex walks the dogs of the neighbours every Sunday for money"]
    assert texts(await facts.recall(DM, "PIANO lessons")) == ["Alex is learning the piano"]
    assert await facts.recall(DM, "what is it?") == [], "stopwords alone find nothing"
    assert await facts.recall(OTHER, "dog") == [], "another conversation's facts are never searched"


async def test_an_identical_fact_is_kept_once_and_superseded_and_forgotten_facts_leave_the_search(
    facts: SqlFacts,
) -> None:
    bakery, new = await facts.remember(DM, "u1", "Alex works at the bakery", 1.0)
    assert new and (await facts.remember(DM, "u1", "  Alex works at the   bakery ", 2.0)) == (bakery, False)
    library, _ = await facts.remember(DM, "u1", "Alex works at the library", 3.0)
    museum, _ = await facts.remember(DM, "u1", "Alex works at the museum", 4.0)

    assert texts(await facts.similar(DM, "u1", "Alex works at the museum now"))[0] == "Alex works at the museum"
    assert await facts.supersede(OTHER, [bakery.id], library.id, 5.0) == [], "only this conversation's facts"
    assert await facts.supersede(DM, [bakery.id, library.id], library.id, 5.0) == [bakery.id]
    assert await facts.supersede(DM, [library.id], museum.id, 6.0) == [library.id]
    assert texts(await facts.recall(DM, "work")) == ["Alex works at the museum"]
    assert texts(await facts.listed(DM, "u1")) == ["Alex works at the museum"]
    assert await facts.forget(DM, museum.id) == 3, "the facts it had replaced go with it"
    assert await facts.recall(DM, "work") == [] and await facts.recent(DM) == []


async def test_forget_all_of_one_person_leaves_the_others_facts(facts: SqlFacts) -> None:
    await facts.remember(DM, "u1", "Alex likes jazz", 1.0)
    await facts.remember(DM, "u2", "Sam likes jazz too", 2.0)
    assert await facts.forget_all(DM, "u1") == 1
    assert texts(await facts.recall(DM, "jazz")) == ["Sam likes jazz too"]
    assert await facts.forget_all(DM) == 1 and await facts.recent(DM) == []


def test_search_terms_drop_stopwords_and_keep_each_word_once() -> None:
    assert search_terms("What's the name of MY dog, my DOG?") == ["name", "dog"]


async def test_the_database_has_its_full_text_index_and_postgresql_searches_through_it(
    backend: str, database_url: str,
) -> None:
    store = SqlStore.open(database_url)
    try:
        async with store.session() as s:
            conn = await s.connection()
            if backend == "sqlite":
                names = set((await conn.execute(text("SELECT name FROM sqlite_master"))).scalars())
                assert {"memory_fts", "memory_fts_insert", "memory_fts_delete", "memory_fts_update"} <= names
                return
            index = (await conn.execute(text(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_memory_search'"))).scalar_one()
            assert "gin" in index and "to_tsvector('english'::regconfig, fact)" in index
            await conn.execute(text("SET LOCAL enable_seqscan = off"))
            plan = "\n".join((await conn.execute(text(
                "EXPLAIN SELECT id FROM memory WHERE to_tsvector('english', memory.fact) @@ "
                "websearch_to_tsquery('english', 'dog or rex')"))).scalars())
            assert "ix_memory_search" in plan
    finally:
        await store.close()


@pytest.mark.parametrize("answer", [
    Answer("I think the first one"),
    calls(ToolCall("replaced_facts", '{"numbers": [1')),
    calls(call("replaced_facts", numbers="1", reason="x")),
], ids=["text", "broken JSON", "not a list"])
async def test_a_fast_model_that_answers_badly_replaces_nothing(answer: Answer) -> None:
    older = [Memory(7, "u1", "Alex works at the bakery", 1.0)]
    async with FakeOpenAIServer() as fast:
        fast.replies(answer)
        async with openai.AsyncOpenAI(base_url=fast.url, api_key="sk-test", max_retries=0, timeout=5.0) as client:
            ids, why = await FastFactCheck(client, "fast", VirtualClock()).replaced("Alex works at the library", older)
    assert ids == [] and "nothing replaced" in why


async def test_a_fast_model_that_is_down_replaces_nothing_and_numbers_off_the_list_are_ignored() -> None:
    older = [Memory(7, "u1", "Alex works at the bakery", 1.0), Memory(9, "u1", "Alex works nights", 2.0)]
    async with FakeOpenAIServer() as fast, openai.AsyncOpenAI(base_url=fast.url, api_key="sk-test", max_retries=0,
                                                               timeout=5.0) as client:
        check = FastFactCheck(client, "fast", VirtualClock())
        fast.fail_next(503)
        assert (await check.replaced("Alex works at the library", older))[0] == []
        fast.replies(calls(call("replaced_facts", numbers=[2, 5, True], reason="the new job")))
        assert await check.replaced("Alex works days at the library", older) == ([9], "the new job")
