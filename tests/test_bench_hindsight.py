"""The hindsight bound: `adaptive` told a person's habits from their whole log, before their first message."""

from __future__ import annotations

import pytest

from bot.bench.hindsight import hindsight_policy, past_rhythm, whole_rhythm
from bot.bench.log import LogConversation, LogMessage
from bot.bench.replay import ReplayParams
from bot.bench.turns import run_bench


def ann_writes_in_threes(turns: int = 3) -> LogConversation:
    """Ann always sends three messages 12 s apart ("hey" / "so" / "guess what"); Bob answers each turn once."""
    rows: list[tuple[str, float, str]] = []
    for k in range(turns):
        start = 150.0 * k
        rows += [("ann", start, "hey"), ("ann", start + 12, "so"), ("ann", start + 24, "guess what"),
                 ("bob", start + 44, "what?")]
    return LogConversation("c", [LogMessage("c", a, t, x) for a, t, x in rows])


def test_the_whole_rhythm_counts_every_turn_of_the_log() -> None:
    rhythm = whole_rhythm(ann_writes_in_threes(), "ann")
    assert rhythm.turns == 3 and rhythm.messages == 9
    assert rhythm.length_counts[2] == 3, "three turns of three messages"


def test_her_past_turns_never_include_the_turn_being_judged() -> None:
    """The engine's clock reads her second turn's first message a hair after its log time: her past is still
    only her first turn, not the one she has just begun (nor, for a one-message turn, that very message)."""
    log = ann_writes_in_threes()
    past = past_rhythm(log, "ann", burst_start=150.0 + 1e-9)
    assert past.turns == 1 and past.messages == 3
    one_message = LogConversation("d", [LogMessage("d", "ann", 10.0, "ok"), LogMessage("d", "bob", 20.0, "cool")])
    assert past_rhythm(one_message, "ann", burst_start=10.0 + 1e-9).messages == 0


def test_knowing_she_writes_in_threes_holds_where_learning_it_talks_over_her() -> None:
    log = ann_writes_in_threes()
    figures = run_bench([log], ["adaptive", "hindsight", "hindsight-past"], ReplayParams())
    learned, told, past = figures["adaptive"], figures["hindsight"], figures["hindsight-past"]
    assert learned.turns == told.turns == 6
    assert learned.talk_over > 0, "a reply lands in one of her 12 s pauses"
    assert told.talk_over == 0, "the bound holds through her pauses from her first turn"
    assert 0 < past.talk_over < learned.talk_over, "her real past turns hold her later ones, not her first"
    assert told.crossed == learned.crossed == past.crossed == 0


def test_a_threshold_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        hindsight_policy("hindsight:2", ann_writes_in_threes(), "ann")
