"""The turn benchmark replays logs through the real engine and scores what the bot did."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from bot.bench.log import LogConversation, LogMessage
from bot.bench.replay import ReplayParams, typing_events
from bot.bench.turns import main, run_bench


def conversation() -> LogConversation:
    """Ann texts a burst with a 9 s pause inside it, Bob answers, Ann answers in one message."""
    rows = [("ann", 0.0, "heyyy"), ("ann", 9.0, "saw your story?"), ("bob", 30.0, "yes!"),
            ("ann", 60.0, "so what now")]
    return LogConversation("c1", [LogMessage("c1", a, t, x) for a, t, x in rows])


def test_replying_at_once_talks_over_a_burst_and_waiting_does_not() -> None:
    figures = run_bench([conversation()], ["immediate", "fixed:10"], ReplayParams(llm_latency=1.0))
    assert figures["immediate"].talk_over > 0, "an instant reply lands inside Ann's 9 s pause"
    assert figures["fixed:10"].talk_over == 0
    assert figures["fixed:10"].decision_p50 == pytest.approx(10.0)
    assert figures["fixed:10"].calls_per_turn == 1.0
    assert all(f.crossed == 0 for f in figures.values()), "revise never sends a stale part"


def test_finish_policy_sends_parts_that_crossed_a_new_message() -> None:
    log = LogConversation("c2", [LogMessage("c2", "ann", 0.0, "hi"), LogMessage("c2", "ann", 3.0, "wait")])
    revise = run_bench([log], ["immediate"], ReplayParams(interrupt="revise"))["immediate"]
    finish = run_bench([log], ["immediate"], ReplayParams(interrupt="finish"))["immediate"]
    assert revise.crossed == 0 and revise.wasted_per_turn > 0
    assert finish.crossed > 0


def test_typing_notifications_start_when_composing_begins_and_repeat() -> None:
    msgs = [LogMessage("c", "ann", 0.0, "x" * 3), LogMessage("c", "ann", 40.0, "y" * 60)]
    events = typing_events(msgs, ReplayParams(human_wpm=36.0, typing_refresh=8.0))
    # 60 characters at 36 WPM (3 chars/s) take 20 s: typing from 20 s, again at 28 and 36 s
    assert [t for t, i in events if i == 1] == [20.0, 28.0, 36.0]


def test_the_command_writes_the_documented_json(tmp_path: Path) -> None:
    data = tmp_path / "log.jsonl"
    data.write_text("\n".join(json.dumps({"conv": m.conv, "author": m.author, "ts": m.ts, "text": m.text})
                              for m in conversation().messages))
    out = tmp_path / "figures.json"
    args = argparse.Namespace(data=str(data), split="test", policy=["fixed:3"], signals="typing", json=out,
                              plot=None, limit=None, llm_latency=1.0, reply_chars=60, human_wpm=36.0,
                              interrupt="revise", persona="sunny", debounce=None)
    assert main(args) == 0
    doc = json.loads(out.read_text())
    assert doc["signals"] == "typing" and doc["turns"] == 3
    assert set(doc["policies"]["fixed:3"]) == {"talk_over", "decision_p50", "decision_p90", "first_part_p50",
                                               "calls_per_turn", "wasted_per_turn", "crossed"}


def test_the_virtual_loop_reaches_a_timer_even_where_rounding_swallows_tiny_steps() -> None:
    import asyncio

    from bot.bench.virtual_loop import VirtualTimeLoop

    loop = VirtualTimeLoop(start=1e9)
    try:
        async def tiny_sleeps() -> float:
            for _ in range(3):
                await asyncio.sleep(1e-9)
            return loop.time()

        assert loop.run_until_complete(asyncio.wait_for(tiny_sleeps(), timeout=5)) > 1e9
    finally:
        loop.close()
