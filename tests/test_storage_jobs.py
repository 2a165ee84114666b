"""Long-horizon jobs: kept in APScheduler's SQLAlchemy job store, fired once, dropped when the human writes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from bot.core.events import Author, ConversationKey, HumanMessage, Nudge
from bot.core.ports import ReplyRequest
from bot.storage.jobs import JobSettings, LongJobs, job_id
from bot.storage.models import DOUBLE_TEXT, FIRED, FOLLOW_UP, SCHEDULED, FollowUp
from bot.storage.sql_store import SqlStore
from policies.promises import detect_follow_up
from tests.kit import ChatScene, unanswered_texts

pytest_plugins = ("tests.storage_kit",)

DM = ConversationKey("telegram", "42")
GROUP = ConversationKey("telegram", "-100")
DAY = 24 * 3600.0
Runner = Callable[..., Awaitable[tuple[LongJobs, list[Nudge]]]]


@pytest.mark.parametrize(("said", "topic"), [
    ("good luck!! let me know how the interview goes", "the interview"),
    ("lmk how ur exam went", "ur exam"),
    ("ok talk tomorrow!", ""),
    ("night! ttyl tmrw", ""),
    ("good luck with the move tomorrow 🍀", "the move"),
    ("i'll check in about the vet tomorrow", "the vet"),
])
def test_the_bot_promising_to_come_back_is_detected(said: str, topic: str) -> None:
    assert detect_follow_up(said) == topic


@pytest.mark.parametrize("said", ["haha same", "what are you doing tomorrow?", "let me know if you need anything"])
def test_ordinary_texts_promise_nothing(said: str) -> None:
    assert detect_follow_up(said) is None


@pytest.fixture
async def runners(database_url: str) -> AsyncIterator[Runner]:
    """Start job runners (scheduler paused unless asked) on this test's database; all stopped at the end."""
    made: list[tuple[LongJobs, SqlStore]] = []

    async def start(paused: bool = True, **settings: float | None) -> tuple[LongJobs, list[Nudge]]:
        store = SqlStore.open(database_url)
        jobs = LongJobs(store, database_url, JobSettings(**settings))  # type: ignore[arg-type]
        nudges: list[Nudge] = []
        jobs.connect("telegram", nudges.append)
        await jobs.start(paused=paused)
        made.append((jobs, store))
        return jobs, nudges

    yield start
    for jobs, store in made:
        await jobs.shutdown()
        await store.close()


async def human_says(store: SqlStore, key: ConversationKey, mid: str, text: str, at: float) -> None:
    await store.save_human(HumanMessage(key, mid, Author("u1", "Alex"), text, is_group=key == GROUP), at)
    await store.mark_answered(key, [mid])


async def bot_says(store: SqlStore, key: ConversationKey, part_id: str, text: str, at: float) -> None:
    await store.plan_part(key, part_id, text, at)
    await store.part_sent(key, part_id, f"m-{part_id}", at)


async def follow_ups(store: SqlStore) -> list[FollowUp]:
    async with store.session() as s:
        return list((await s.exec(select(FollowUp).order_by(FollowUp.id))).all())  # type: ignore[arg-type]


async def test_a_promised_follow_up_survives_a_scheduler_restart_and_fires_once(runners: Runner) -> None:
    jobs, _ = await runners()
    now = time.time()
    await human_says(jobs.store, DM, "1", "big interview tomorrow", now)
    await bot_says(jobs.store, DM, "p1", "good luck!! let me know how the interview goes", now)
    [row] = await follow_ups(jobs.store)
    assert (row.kind, row.topic, row.state, row.due_at) == (FOLLOW_UP, "the interview", SCHEDULED, now + 20 * 3600)
    await jobs.shutdown()

    again, nudges = await runners()
    timer = again.scheduler.get_job(job_id(row.id or 0))
    assert timer is not None and timer.next_run_time == datetime.fromtimestamp(row.due_at, UTC)
    assert await again.fire(row.id or 0) is True
    assert await again.fire(row.id or 0) is False, "a second run of the same job does nothing"
    assert [(n.key, n.reason) for n in nudges] == [(DM, FOLLOW_UP)]
    assert "the interview" in nudges[0].note
    assert [r.state for r in await follow_ups(again.store)] == [FIRED]


async def test_a_job_due_while_the_bot_was_down_runs_once_when_it_starts(runners: Runner) -> None:
    jobs, _ = await runners()
    await human_says(jobs.store, DM, "1", "exam tomorrow", time.time() - DAY)
    follow_up_id = await jobs.schedule(DM, FOLLOW_UP, time.time() - 3600, "the exam")  # due an hour ago
    await jobs.shutdown()

    _, nudges = await runners(paused=False)
    for _ in range(200):
        if nudges:
            break
        await asyncio.sleep(0.01)
    assert [n.reason for n in nudges] == [FOLLOW_UP]

    later, more = await runners(paused=False)
    await asyncio.sleep(0.2)
    assert more == [] and later.scheduler.get_job(job_id(follow_up_id)) is None


async def test_a_job_missed_by_more_than_the_grace_time_is_given_up(runners: Runner) -> None:
    jobs, _ = await runners()
    await jobs.schedule(DM, FOLLOW_UP, time.time() - 3600, "the exam")
    await jobs.shutdown()

    _, nudges = await runners(paused=False, misfire_grace=60)
    await asyncio.sleep(0.2)
    assert nudges == []
    assert [r.state for r in await follow_ups(jobs.store)] == ["missed"]


async def test_the_human_writing_first_cancels_the_follow_up(runners: Runner) -> None:
    jobs, nudges = await runners()
    now = time.time()
    await bot_says(jobs.store, DM, "p1", "ok talk tomorrow!", now)
    [row] = await follow_ups(jobs.store)
    assert jobs.scheduler.get_job(job_id(row.id or 0)) is not None

    await human_says(jobs.store, DM, "1", "actually one more thing", now + 600)

    assert [r.state for r in await follow_ups(jobs.store)] == ["cancelled"]
    assert jobs.scheduler.get_job(job_id(row.id or 0)) is None
    assert await jobs.fire(row.id or 0) is False and nudges == []


async def test_a_job_for_a_platform_not_running_yet_waits_for_it(runners: Runner) -> None:
    jobs, nudges = await runners()
    discord = ConversationKey("discord", "9")
    follow_up_id = await jobs.schedule(discord, FOLLOW_UP, time.time(), "the trip")

    assert await jobs.fire(follow_up_id) is False
    timer = jobs.scheduler.get_job(job_id(follow_up_id))
    assert timer is not None and timer.next_run_time.timestamp() > time.time() + 30
    assert [r.state for r in await follow_ups(jobs.store)] == [SCHEDULED]

    jobs.connect("discord", nudges.append)
    assert await jobs.fire(follow_up_id) is True
    assert [(n.key, n.reason) for n in nudges] == [(discord, FOLLOW_UP)]


async def test_silence_after_the_bots_message_gets_one_double_text_in_a_dm(runners: Runner) -> None:
    jobs, nudges = await runners(double_text_after=3 * 3600)
    now = time.time()
    await human_says(jobs.store, DM, "1", "hey", now)
    await bot_says(jobs.store, DM, "p1", "heyy", now + 5)
    await bot_says(jobs.store, DM, "p2", "how was the weekend?", now + 8)
    await human_says(jobs.store, GROUP, "1", "hi all", now)
    await bot_says(jobs.store, GROUP, "p1", "hii", now + 5)

    [row] = await follow_ups(jobs.store)
    assert (row.kind, row.due_at) == (DOUBLE_TEXT, now + 8 + 3 * 3600), "one timer, reset by each part; none in groups"
    assert await jobs.fire(row.id or 0) is True
    await bot_says(jobs.store, DM, "p3", "helloooo?", now + 3 * 3600 + 20)  # the double text itself
    assert len(await follow_ups(jobs.store)) == 1, "no double text after a double text"
    assert [n.reason for n in nudges] == [DOUBLE_TEXT]


async def test_a_job_store_error_does_not_leave_the_scheduler_asleep(runners: Runner) -> None:
    jobs, _ = await runners(paused=False)
    real = jobs.scheduler._process_jobs
    calls: list[int] = []

    def locked_once() -> float | None:
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("DELETE FROM apscheduler_jobs", {}, Exception("database is locked"))
        return real()  # type: ignore[no-any-return]

    jobs.scheduler._process_jobs = locked_once
    jobs.scheduler.wakeup()
    await asyncio.sleep(0.05)
    assert calls == [1] and jobs.scheduler._timeout is not None, "a retry is on the clock"


async def test_a_follow_up_makes_the_bot_text_first_through_the_engine(database_url: str) -> None:
    def answer(request: ReplyRequest) -> list[str]:
        if request.unanswered:
            return ["good luck!! let me know how the interview goes"]
        return ["soooo how did it go??"]

    scene = ChatScene(script=answer, overrides={"timing": {"debounce": 1}},
                      store=lambda clock: SqlStore.open(database_url, clock=clock))
    store = scene.store
    assert isinstance(store, SqlStore)
    jobs = LongJobs(store, database_url)
    jobs.connect(scene.key.platform, scene.engine.submit)
    await jobs.start(paused=True)
    try:
        await scene.setup()
        await scene.says("interview at 9 tomorrow, wish me luck")
        await scene.until_quiet()
        [row] = await follow_ups(store)

        assert await jobs.fire(row.id or 0) is True
        await scene.until_quiet()

        assert scene.bot_texts() == ["good luck!! let me know how the interview goes", "soooo how did it go??"]
        nudged = scene.responder.requests[-1]
        assert unanswered_texts(nudged) == [] and "the interview" in nudged.system
        assert [line.text for line in nudged.history] == ["interview at 9 tomorrow, wish me luck",
                                                          "good luck!! let me know how the interview goes"]
    finally:
        await jobs.shutdown()
        await scene.close()
        await store.close()


async def test_a_nudge_is_dropped_when_the_human_has_written_meanwhile(
    scene_factory: Callable[..., Awaitable[ChatScene]],
) -> None:
    chat = await scene_factory(script=lambda r: ["hm?"], overrides={"timing": {"debounce": 30}})
    await chat.says("wait")
    await chat.engine.receive(Nudge(chat.key, FOLLOW_UP, "ask how it went"))
    await chat.until_quiet()
    assert len(chat.responder.requests) == 1 and unanswered_texts(chat.responder.requests[0]) == ["wait"]
    assert any(kind == "nudge_dropped" for kind, _, _ in chat.trace)
