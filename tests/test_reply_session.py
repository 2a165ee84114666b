"""The two-way reply session: the responder hears the chat while it works and can take back what it said."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.core.clock import VirtualClock
from bot.core.memory_store import MemoryStore
from bot.core.ports import (
    Done,
    Edit,
    Hold,
    Intent,
    NewMessages,
    Receipt,
    ReplyRequest,
    SessionFeed,
    StaySilent,
    Unsend,
)
from policies import interrupt
from tests.kit import ChatScene, unanswered_texts

Factory = Callable[..., Any]


async def test_the_bot_takes_back_a_part_so_the_human_no_longer_sees_it_and_it_leaves_the_history(
    scene_factory: Factory,
) -> None:
    def answer(request: ReplyRequest) -> list[str | Intent]:
        if unanswered_texts(request) == ["where are you?"]:
            return ["on my way", "love you babe", Unsend(1), "10 min"]
        return ["cool"]

    chat = await scene_factory(script=answer)
    await chat.says("where are you?")
    await chat.until_quiet()
    assert chat.outlet.visible() == ["on my way", "10 min"]
    assert [s.text for s in chat.outlet.sent if s.unsent] == ["love you babe"]

    await chat.says("ok")
    await chat.until_quiet()
    history = [line.text for line in chat.responder.requests[-1].history]
    assert history == ["where are you?", "on my way", "10 min"], "an unsent message was never said"
    assert [line.text for line in (await chat.store.load(chat.key)).history][-1] == "cool"
    assert "love you babe" not in [line.text for line in (await chat.store.load(chat.key)).history]


async def test_an_edited_part_shows_its_new_text_and_the_history_remembers_the_correction(
    scene_factory: Factory,
) -> None:
    def answer(request: ReplyRequest) -> list[str | Intent]:
        if unanswered_texts(request) == ["what time tomorrow?"]:
            return ["see you at 5", Edit(0, "see you at 6*")]
        return ["👍"]

    chat = await scene_factory(script=answer)
    await chat.says("what time tomorrow?")
    await chat.until_quiet()
    assert chat.outlet.visible() == ["see you at 6*"]

    await chat.says("ok")
    await chat.until_quiet()
    assert [line.text for line in chat.responder.requests[-1].history] == ["what time tomorrow?", "see you at 6*"]
    assert ("part_edited" in {kind for kind, _, _ in chat.trace})


async def test_a_session_that_stays_silent_sends_nothing_and_leaves_nothing_unanswered(scene_factory: Factory) -> None:
    chat = await scene_factory(script=lambda request: [StaySilent()])
    await chat.says("lol")
    await chat.until_quiet()

    assert chat.bot_texts() == []
    assert (await chat.store.load(chat.key)).pending == [], "what it chose not to answer counts as answered"
    assert "silence" in {kind for kind, _, _ in chat.trace}


async def test_a_session_that_holds_leaves_the_messages_unanswered_and_decides_again_later(
    scene_factory: Factory,
) -> None:
    holds = 0

    def answer(request: ReplyRequest) -> list[str | Intent]:
        nonlocal holds
        if holds == 0:
            holds += 1
            return [Hold(until=chat.clock.now() + 30)]
        return ["ok so both of those"]

    chat = await scene_factory(script=answer, overrides={"timing": {"debounce": 1}})
    await chat.says("wait")
    await chat.waits(10)
    assert chat.bot_texts() == [] and len(chat.responder.requests) == 1
    assert [m.text for m in (await chat.store.load(chat.key)).pending] == ["wait"], "held, not answered"

    await chat.until_quiet()
    assert chat.bot_texts() == ["ok so both of those"]
    assert unanswered_texts(chat.responder.requests[1]) == ["wait"]


@dataclass
class ListeningResponder:
    """A session that says something, then listens for a while and answers what it heard too."""

    clock: VirtualClock
    heard: list[Any] = field(default_factory=list)
    requests: list[ReplyRequest] = field(default_factory=list)

    async def reply(self, request: ReplyRequest, feed: SessionFeed) -> AsyncIterator[Intent]:
        """Say one thing, listen, answer the relayed messages in the same session."""
        from bot.core.ports import Say

        self.requests.append(request)
        await self.clock.sleep(1.0)
        yield Say("hmm let me think")
        receipt = await feed.receipt(0)
        self.heard.append(receipt)
        until = self.clock.now() + 60
        while self.clock.now() < until:
            heard = await feed.wait(until - self.clock.now())
            self.heard.extend(heard)
            news = [item for item in heard if isinstance(item, NewMessages)]
            if news:
                yield Say("and yes to " + " / ".join(line.text for item in news for line in item.lines))
                break
        yield Done()


@pytest.fixture
def relaying(monkeypatch: pytest.MonkeyPatch) -> None:
    """An interrupt policy that always relays (the judge will choose it; here it is fixed)."""
    monkeypatch.setitem(interrupt._FACTORIES, "relay-always", lambda: _RelayAlways())


@dataclass(frozen=True)
class _RelayAlways:
    name: str = "relay-always"

    def decide(self, view: Any, now: float, deferred_once: bool) -> interrupt.Relay:
        return interrupt.Relay()


async def test_a_relayed_message_reaches_the_running_session_which_answers_it_without_a_new_request(
    relaying: None,
) -> None:
    listeners: list[ListeningResponder] = []

    def listening(clock: VirtualClock) -> ListeningResponder:
        listeners.append(ListeningResponder(clock))
        return listeners[-1]

    chat = ChatScene(interrupt="relay-always", overrides={"timing": {"debounce": 1}}, responder=listening)
    [listener] = listeners
    await chat.setup()
    try:
        await chat.says("what should we do tonight")
        await chat.clock.run_until(lambda: bool(chat.outlet.sent))
        await chat.says("pizza?")
        await chat.until_quiet()

        assert chat.bot_texts() == ["hmm let me think", "and yes to pizza?"]
        assert len(listener.requests) == 1, "no second request: the session covered the new message"
        assert listener.heard[0] == Receipt(0, True, "hmm let me think")
        assert (await chat.store.load(chat.key)).pending == []
    finally:
        await chat.close()


async def test_deleting_a_message_while_a_slow_store_records_part_one_never_answers_the_deleted_message() -> None:
    """The race a review found: the job changed the pending list from its own task while a write was slow."""

    def slow(clock: VirtualClock) -> MemoryStore:
        async def three_seconds() -> None:
            await clock.sleep(3.0)

        return MemoryStore(delay=three_seconds)

    def answer(request: ReplyRequest) -> list[str]:
        return [f"re: {' + '.join(unanswered_texts(request))}", "part two"]

    chat = ChatScene(store=slow, interrupt="finish", script=answer, overrides={"timing": {"debounce": 1}})
    await chat.setup()
    try:
        await chat.says("A")
        await chat.says("B")
        await chat.clock.run_until(lambda: any(kind == "typing_stop" for kind, _, _ in chat.trace))
        await chat.deletes("h2")  # while part one is being recorded and sent
        await chat.until_quiet()
        await chat.waits(60)

        assert len(chat.responder.requests) == 1, "the deleted B never got a reply of its own"
        stored = await chat.store.load(chat.key)
        assert stored.pending == []
        assert "B" not in [line.text for line in stored.history]
    finally:
        await chat.close()


async def test_a_message_the_store_could_not_save_is_not_received_and_its_redelivery_is_answered_once(
    scene_factory: Factory,
) -> None:
    chat = await scene_factory(script=lambda request: ["got it"])
    real_save = chat.store.save_human
    failures = 1

    async def flaky_save(msg: Any, at: float) -> bool:
        nonlocal failures
        if failures:
            failures -= 1
            raise OSError("disk full")
        return await real_save(msg, at)

    chat.store.save_human = flaky_save  # type: ignore[method-assign]
    from bot.core.events import HumanMessage

    message = HumanMessage(chat.key, "tg-1", chat.human_author, "are you there?")
    with pytest.raises(OSError):
        await chat.engine.receive(message)
    await chat.engine.receive(message)  # the platform redelivers what was not confirmed
    await chat.engine.receive(message)  # ...and maybe once more
    await chat.until_quiet()

    assert chat.bot_texts() == ["got it"]
    assert unanswered_texts(chat.responder.requests[0]) == ["are you there?"]


async def test_a_human_who_keeps_typing_holds_the_next_part_no_longer_than_max_wait(scene_factory: Factory) -> None:
    chat = await scene_factory(script=lambda request: ["ok so", "here is the thing"], typing_signal=True,
                               overrides={"timing": {"debounce": 1, "max_wait": 10}})
    await chat.says("tell me")
    await chat.clock.run_until(lambda: len(chat.outlet.sent) == 1)
    typing_from = chat.clock.now()
    while len(chat.outlet.sent) < 2 and chat.clock.now() < typing_from + 60:
        await chat.types(ttl=10)  # "typing…" again and again, never sending anything
        await chat.waits(2)

    assert chat.bot_texts() == ["ok so", "here is the thing"]
    assert chat.outlet.sent[1].at - typing_from <= 10 + 2 + 7, "held at most max_wait (plus its own typing time)"
