"""Figures for the memories (seed 004): how often the fast model is asked to extract facts from a stream turn
(BYU Chit-Chat turns with enough words), and how long the prompt's memory lookup takes per turn on each store.

    .venv/bin/python scripts/memory_figures.py [--facts 10000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path

from bot.bench.chitchat import load_chitchat
from bot.core.events import ConversationKey
from bot.core.ports import Line, ReplyRequest
from bot.llm.fact_extract import worth_asking
from bot.llm.memory_prompt import relevant_memories
from bot.storage.memories import LocalMemories, SqlMemories
from bot.storage.memory_sql import SqlFacts
from bot.storage.migrate import upgrade
from bot.storage.sql_store import SqlStore

KEY = ConversationKey("bench", "0")


def request(texts: list[str], key: ConversationKey = KEY) -> ReplyRequest:
    """A reply request answering these lines of one person."""
    return ReplyRequest("", (), tuple(Line("human", t, 0.0, "A") for t in texts), 3, 200, 4096, key=key, people=("a",))


def extraction_share() -> tuple[int, int]:
    """(turns that would ask the fast model, all turns) over Chit-Chat."""
    turns = [[m.text for m in turn] for conv in load_chitchat() for turn in conv.turns()]
    asked = sum(worth_asking(request(texts)) for texts in turns)
    return asked, len(turns)


async def lookup_times(facts: SqlFacts, n_facts: int, chats: int, queries: list[list[str]]) -> list[float]:
    """Fill `chats` conversations with `n_facts` facts in all, then time relevant_memories per turn (ms)."""
    rng = random.Random(3)
    words = [w for q in queries for t in q for w in t.split()][:5000]
    for i in range(n_facts):
        key = ConversationKey("bench", str(i % chats))
        await facts.remember(key, "a", " ".join(rng.choice(words) for _ in range(8)), float(i))
    times = []
    for texts in queries:
        start = time.perf_counter()
        await relevant_memories(facts, request(texts, ConversationKey("bench", str(rng.randrange(chats)))))
        times.append((time.perf_counter() - start) * 1000)
    return times


def summary(name: str, times: list[float]) -> str:
    q = statistics.quantiles(times, n=100)
    return f"{name}: {len(times)} lookups, p50 {q[49]:.2f} ms, p99 {q[98]:.2f} ms"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--facts", type=int, default=10_000)
    parser.add_argument("--chats", type=int, default=100)
    parser.add_argument("--postgres", default="")
    args = parser.parse_args()
    asked, total = extraction_share()
    print(f"Chit-Chat turns that ask the fast model to extract facts: {asked}/{total} = {asked / total:.1%}")
    queries = [[m.text for m in turn] for conv in load_chitchat()[:200] for turn in conv.turns()][:1000]
    local = LocalMemories()
    print(summary(f"in process, {args.facts} facts in {args.chats} chats",
                  await lookup_times(local, args.facts, args.chats, queries)))
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        store = SqlStore.open(url)
        print(summary(f"SQLite, {args.facts} facts in {args.chats} chats",
                      await lookup_times(SqlMemories(store), args.facts, args.chats, queries)))
        await store.close()
    if args.postgres:
        upgrade(args.postgres)
        store = SqlStore.open(args.postgres)
        print(summary(f"PostgreSQL, {args.facts} facts in {args.chats} chats",
                      await lookup_times(SqlMemories(store), args.facts, args.chats, queries)))
        await store.close()


if __name__ == "__main__":
    asyncio.run(main())
