"""Two bots texting each other in virtual time, with stand-in reply sessions (bot.duet.standins)."""

from __future__ import annotations

import asyncio
import io
import random
import time

from bot.core.clock import VirtualClock
from bot.core.events import Author, ConversationKey, HumanMessage, Nudge
from bot.core.memory_store import MemoryStore
from bot.duet import Duet, DuetLine, DuetResult, format_line
from bot.duet.cli import printer
from bot.duet.run import DIM, PLAIN
from bot.duet.standins import standin_builder


def make_duet(clock: VirtualClock, *, responder: str | None = None, interrupt: str | None = None,
              think: tuple[float, float] = (1.0, 6.0), afterthought: float = 0.4, seed: int = 1,
              out: io.StringIO | None = None, quiet: bool = False) -> Duet:
    build = standin_builder(clock, MemoryStore(), random.Random(seed), interrupt=interrupt, think=think,
                            afterthought=afterthought)
    show = printer(out, quiet) if out is not None else (lambda line: None)
    return Duet(clock, build, ("sunny", "sage"), responder=responder, on_line=show)


async def run(clock: VirtualClock, duet: Duet, messages: int, both_start: bool = False) -> DuetResult:
    task = asyncio.create_task(duet.run("cats", messages=messages, seconds=3600))
    await clock.settle()
    if both_start:  # sage has something to say too, at the same instant: the two drafts race
        duet.engines[1].submit(Nudge(duet.keys()[1], "duet", "text sunny about cats"))
    await clock.run_until(task.done, limit=4000)
    return task.result()


def messages_of(result: DuetResult) -> list[str]:
    return [f"{line.name}: {line.text}" for line in result.lines if not line.draft]


async def test_a_duet_of_ten_messages_ends_by_itself() -> None:
    clock = VirtualClock()
    result = await run(clock, make_duet(clock), messages=10)
    assert result.stopped_by == "messages"
    assert len(result.sends) == 10 and len(messages_of(result)) == 10
    assert messages_of(result)[0] == "sunny: sunny 1 starts"
    assert {s.name for s in result.sends} == {"sunny", "sage"}
    assert result.ended - result.started < 600


async def test_two_bots_that_answer_at_once_under_finish_cross_and_the_crossing_is_counted() -> None:
    clock = VirtualClock()
    result = await run(clock, make_duet(clock, interrupt="finish", think=(2.0, 2.0), afterthought=0.0),
                       messages=2, both_start=True)
    first, second = result.sends
    assert first.text.endswith("1 starts") and second.text.endswith("1 starts")  # neither answers the other
    assert (first.crossed, second.crossed) == (False, True)
    assert result.crossings == 1


async def test_under_revise_the_draft_that_would_cross_is_withheld_and_rewritten() -> None:
    clock = VirtualClock()
    result = await run(clock, make_duet(clock, think=(2.0, 2.0), afterthought=0.0), messages=2, both_start=True)
    first, second = result.sends
    assert result.crossings == 0 and result.cancelled_parts >= 1
    assert second.text.endswith(f're "{first.text}"')


async def test_under_actions_a_push_that_would_cross_is_refused_and_revised() -> None:
    clock = VirtualClock()
    result = await run(clock, make_duet(clock, responder="actions", think=(2.0, 2.0), afterthought=0.0),
                       messages=2, both_start=True)
    first, second = result.sends
    refused = [line for line in result.lines if line.draft]
    assert result.crossings == 0 and result.refused_pushes >= 1
    assert refused[0].name == second.name and refused[0].text.endswith("starts")  # the draft that did not see it
    assert second.text.endswith(f're "{first.text}"')  # the revision answers what refused it


async def test_cancelling_a_duet_leaves_no_task_behind() -> None:
    clock = VirtualClock()
    before = asyncio.all_tasks()
    duet = make_duet(clock, responder="actions")
    task = asyncio.create_task(duet.run("cats", messages=50, seconds=3600))
    await clock.advance(40)  # mid-conversation: drafts typed, sessions waiting
    assert duet.outlets[0].sent
    task.cancel()
    await asyncio.wait([task])
    assert task.cancelled()
    assert asyncio.all_tasks() == before
    assert all(not engine.actors for engine in duet.engines)


async def test_the_cli_prints_what_the_timeline_stores() -> None:
    clock = VirtualClock()
    out = io.StringIO()
    result = await run(clock, make_duet(clock, out=out), messages=12)
    stored = [DuetLine(event.at, name, str(event.data["text"]), event.kind == "part_cancelled",
                       str(event.data.get("reason", "")))
              for name, events in result.traces.items() for event in events
              if event.kind in ("part_sent", "part_cancelled")]
    printed = out.getvalue().splitlines()
    assert sorted(printed) == sorted(format_line(line) for line in stored)
    assert len([p for p in printed if not p.startswith(DIM)]) == 12
    stamps = [time.strftime("%H:%M:%S", time.localtime(s.at)) for s in result.sends]
    assert [p.split(" ")[0] for p in printed if not p.startswith(DIM)] == stamps


async def test_quiet_drafts_prints_only_the_messages() -> None:
    clock = VirtualClock()
    out = io.StringIO()
    result = await run(clock, make_duet(clock, responder="actions", out=out, quiet=True), messages=20, both_start=True)
    assert result.refused_pushes >= 1
    assert out.getvalue().splitlines() == [format_line(line) for line in result.lines if not line.draft]


def test_a_message_of_several_lines_is_printed_on_one_line() -> None:
    line = DuetLine(0.0, "sage", "well\nmaybe", draft=True, reason="revised")
    assert format_line(line, time.gmtime) == f"{DIM}00:00:00 sage: well / maybe (revised){PLAIN}"


async def test_two_bots_drafting_at_once_under_actions_do_not_wait_for_each_other_forever() -> None:
    clock = VirtualClock()
    result = await run(clock, make_duet(clock, responder="actions", think=(2.0, 2.0)), messages=10, both_start=True)
    assert result.stopped_by == "messages" and len(result.sends) == 10
    assert result.ended - result.started < 300


async def test_a_conversation_that_is_not_the_duets_own_texts_no_one_and_its_reply_ends() -> None:
    clock = VirtualClock()
    duet = make_duet(clock)
    stray = ConversationKey("duet", "an-earlier-duet", "a")  # e.g. woken from the store after a restart
    await duet.engines[0].receive(HumanMessage(stray, "m1", Author("x", "x"), "still there?"))
    await duet.engines[0].until_idle(limit=120)
    trace = await duet.store.load_trace(stray)
    await duet.close()
    assert all(not outlet.sent for outlet in duet.outlets) and not duet.engines[1].actors
    assert [e.data["reason"] for e in trace if e.kind == "part_cancelled"] == ["send failed"]
