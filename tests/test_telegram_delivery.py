"""Getting parts onto Telegram: flood limits, refused and lost requests, and the pace of a chat."""

from __future__ import annotations

import asyncio
import itertools
import warnings

import httpx
import pytest
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.warnings import PTBDeprecationWarning

from bot.adapters.telegram.delivery import retry_seconds, surely_unsent
from bot.adapters.telegram.lanes import ChatLane
from bot.core.clock import VirtualClock
from bot.core.ports import ReplyRequest
from tests.telegram_kit import DM, TelegramScene, dm_key

PARTS = ["ok so", "funny story", "u won't believe it"]
FAST = {"timing": {"debounce": 1, "wpm": 400, "read_delay": 0, "part_pause": 0}}


def parts(request: ReplyRequest) -> list[str]:
    return list(PARTS)


async def test_429_is_waited_out_and_the_part_arrives_exactly_once_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # PTB's future retry_after type, and no deprecation noise
    async with TelegramScene(script=parts) as tg:
        tg.server.fail_next("sendMessage", 429, retry_after=3)
        await tg.says(DM, "tell me")
        await tg.until_sent(DM, 3)
        await tg.clock.advance(60)
        assert tg.server.sent_texts(DM) == PARTS
    refused, delivered = tg.attempts(PARTS[0])
    assert not refused.ok and delivered.ok
    assert delivered.at - refused.at >= 3 - 1e-9, "retry_after honoured"
    assert [len(tg.attempts(p)) for p in PARTS[1:]] == [1, 1]


async def test_a_502_is_retried_with_backoff_and_delivered_once() -> None:
    async with TelegramScene(script=parts) as tg:
        tg.server.fail_next("sendMessage", 502)
        await tg.says(DM, "tell me")
        await tg.until_sent(DM, 3)
        assert tg.server.sent_texts(DM) == PARTS
    refused, delivered = tg.attempts(PARTS[0])
    assert (refused.ok, delivered.ok) == (False, True) and delivered.at > refused.at


async def test_a_lost_answer_is_never_resent_so_the_human_never_sees_a_part_twice() -> None:
    async with TelegramScene(script=parts) as tg:
        tg.server.drop_next("sendMessage", deliver=True)  # Telegram delivered it; the answer got lost
        await tg.says(DM, "tell me")
        await tg.clock.run_until(lambda: bool(tg.attempts(PARTS[0])))
        await tg.clock.advance(60)
        assert tg.server.sent_texts(DM) == [PARTS[0]]
    assert len(tg.attempts(PARTS[0])) == 1
    assert tg.attempts(PARTS[1]) == [], "the reply stops where delivery became uncertain"


async def test_parts_to_one_chat_are_at_least_a_second_apart() -> None:
    tg = TelegramScene(script=lambda r: ["a", "b", "c", "d"], latency=0.1)
    await tg.store.save_overrides(dm_key(), FAST)
    async with tg:
        await tg.says(DM, "go")
        await tg.until_sent(DM, 4)
    times = [c.at for c in tg.sends(DM)]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 1.0 and min(gaps) == pytest.approx(1.0), "paced, not slower than needed"


async def test_a_group_gets_at_most_twenty_messages_a_minute_queued_not_dropped() -> None:
    clock = VirtualClock()
    lane = ChatLane(clock, is_group=True)
    sent: list[float] = []

    async def send(n: int) -> None:
        for _ in range(n):
            async with lane.lock:
                await lane.wait_turn()
                lane.note_sent()
                sent.append(clock.now())

    task = asyncio.create_task(send(25))
    await clock.run_until(task.done, limit=300)
    assert len(sent) == 25
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(sent))
    assert sent[20] - sent[0] >= 60
    assert all(sum(1 for t in sent if start <= t < start + 60) <= 20 for start in sent)


def test_retry_after_reads_as_seconds_in_both_of_ptbs_shapes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    assert retry_seconds(RetryAfter(3)) == 3.0
    monkeypatch.delenv("PTB_TIMEDELTA")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)  # raised inside PTB's constructor
        exc = RetryAfter(5)
    assert retry_seconds(exc) == 5.0


def _caused(exc: NetworkError, cause: BaseException | None) -> NetworkError:
    exc.__cause__ = cause
    return exc


@pytest.mark.parametrize(("error", "unsent"), [
    (_caused(NetworkError("Bad Gateway"), None), True),
    (_caused(NetworkError("httpx.ConnectError: refused"), httpx.ConnectError("refused")), True),
    (_caused(TimedOut("pool"), httpx.PoolTimeout("busy")), True),
    (_caused(TimedOut(), httpx.ConnectTimeout("slow")), True),
    (_caused(TimedOut(), httpx.ReadTimeout("slow")), False),
    (_caused(NetworkError("httpx.RemoteProtocolError"), httpx.RemoteProtocolError("gone")), False),
    (_caused(NetworkError("httpx.WriteError"), httpx.WriteError("half")), False),
    (BadRequest("message text is empty"), False),
    (Forbidden("bot was blocked by the user"), False),
])
def test_only_requests_telegram_surely_did_not_take_are_retried(error: Exception, unsent: bool) -> None:
    assert surely_unsent(error) is unsent  # type: ignore[arg-type]
