"""Leases and the hand-over queue on the real PostgreSQL: one owner at a time, a dead owner's chats taken once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.core.events import Author, ConversationKey, HumanMessage
from bot.storage.leases import Leases, conversation_lease, conversation_of, duty_lease
from bot.storage.sql_store import SqlStore
from bot.workers import wire
from bot.workers.cluster import rendezvous

pytest_plugins = ("tests.storage_kit", "tests.workers_kit")

DM = ConversationKey("telegram", "42")
LEASE = conversation_lease(DM)


@pytest.fixture
async def leases(pg_database: str) -> AsyncIterator[Leases]:
    store = SqlStore.open(pg_database)
    yield Leases(store, ttl=60.0)
    await store.close()


def message(text: str, message_id: str) -> HumanMessage:
    return HumanMessage(DM, message_id, Author("7", "Alex"), text, at=1.0)


async def test_a_conversation_has_one_owner_while_that_owner_is_alive(leases: Leases) -> None:
    a, b = await leases.register(0, 2), await leases.register(1, 2)

    assert await leases.acquire(LEASE, a)
    assert not await leases.acquire(LEASE, b), "b cannot take what a live worker holds"
    assert await leases.acquire(LEASE, a), "a asking again still holds it"
    assert await leases.holder(LEASE) == a


async def test_a_dead_workers_leases_are_taken_once_and_it_learns_it_was_dead(leases: Leases) -> None:
    a, b, c = await leases.register(0, 3), await leases.register(1, 3), await leases.register(2, 3)
    await leases.acquire(LEASE, a)
    await leases.acquire(duty_lease("telegram-polling"), a)
    await leases.retire(a)  # as if its heartbeat had stopped a lease period ago

    assert await leases.holder(LEASE) is None
    assert sorted(await leases.dead_leases()) == sorted([(LEASE, a), (duty_lease("telegram-polling"), a)])
    taken = await asyncio.gather(leases.take(LEASE, a, b), leases.take(LEASE, a, c))
    assert sorted(taken) == [False, True], "two workers race for it: exactly one gets it"
    assert await leases.holder(LEASE) in (b, c)
    assert not await leases.renew(a), "a renewing late is told its leases are void"
    assert await leases.renew(b)


async def test_handed_over_events_go_to_the_owner_in_order_and_stay_queued_until_stored(leases: Leases) -> None:
    owner, other = await leases.register(0, 2), await leases.register(1, 2)
    await leases.acquire(LEASE, owner)
    for i, text in enumerate(["hey", "you there?", "hello??"]):
        await leases.hand_over(LEASE, wire.dump(message(text, str(i))))

    async with leases.claimed(other, 10) as claim:
        assert claim.rows == [], "only the owner takes a conversation's events"
    async with leases.claimed(owner, 10) as claim:
        assert [wire.load(r.payload) for r in claim.rows] == [message(t, str(i)) for i, t in
                                                              enumerate(["hey", "you there?", "hello??"])]
        async with leases.claimed(owner, 10) as meanwhile:
            assert meanwhile.rows == [], "rows being handled are skipped, not waited for"
        claim.done += [r.id for r in claim.rows[:2] if r.id is not None]  # the third failed to store
    async with leases.claimed(owner, 10) as claim:
        assert [wire.load(r.payload).text for r in claim.rows] == ["hello??"]  # type: ignore[union-attr]


async def test_a_claim_whose_worker_dies_leaves_its_events_for_the_next_owner(leases: Leases) -> None:
    owner, heir = await leases.register(0, 2), await leases.register(1, 2)
    await leases.acquire(LEASE, owner)
    await leases.hand_over(LEASE, wire.dump(message("hey", "1")))
    with pytest.raises(RuntimeError):
        async with leases.claimed(owner, 10) as claim:
            claim.done += [r.id for r in claim.rows if r.id is not None]
            raise RuntimeError("the worker died before it stored them")
    await leases.retire(owner)
    assert await leases.take(LEASE, owner, heir)
    async with leases.claimed(heir, 10) as claim:
        assert [wire.load(r.payload) for r in claim.rows] == [message("hey", "1")]


def test_lease_names_read_back_as_their_conversation_and_duties_as_none() -> None:
    odd = ConversationKey("discord", 'a"b|c', "7")
    assert conversation_of(conversation_lease(odd)) == odd
    assert conversation_of(duty_lease("telegram-polling")) is None


def test_rendezvous_moves_only_the_chats_of_a_worker_that_leaves() -> None:
    chats = [conversation_lease(ConversationKey("telegram", str(i))) for i in range(300)]
    three = {c: rendezvous(c, ["a", "b", "c"]) for c in chats}
    two = {c: rendezvous(c, ["a", "c"]) for c in chats}
    assert {c for c in chats if three[c] != two[c]} == {c for c in chats if three[c] == "b"}
    assert min(list(three.values()).count(w) for w in "abc") > 60, "each worker gets a fair share"
