"""The adaptive turn policy reads each person's own pace: what it learns, and what the bot then does."""

from __future__ import annotations

import json

import pytest

from bot.bench.log import LogConversation, LogMessage, scale_time
from bot.bench.replay import ReplayParams, replay
from bot.bench.virtual_loop import VirtualTimeLoop
from persona import load_persona
from policies.turn import turn_policy
from policies.turn_model import PersonRhythm, TurnEndModel
from policies.view import ConversationView, Said, WaitUntil

HANGING = "so i was thinking and"  # a message that promises more


def person_with_pause(pause: float, turns: int = 6) -> PersonRhythm:
    """Someone who has written `turns` three-message turns, `pause` seconds apart, 12 pauses between turns."""
    person = PersonRhythm()
    for k in range(turns):
        start = k * 14 * pause
        person = person.observe_turn([start, start + pause, start + 2 * pause])
    return person


def test_a_burst_seen_again_grown_counts_as_one_turn_and_every_message_once() -> None:
    person = PersonRhythm().observe_turn([0.0])  # the bot started a reply after the first message
    person = person.observe_turn([0.0, 5.0])  # the person wrote again: the reply was redone over both
    assert person.turns == 1 and person.length_counts[:2] == (0, 1)
    assert person.messages == 2 and person.gaps == 1 and person.pace_gaps == 1
    assert person.observe_turn([0.0, 5.0]) == person, "nothing new: nothing learned"
    later = person.observe_turn([65.0])
    assert later.turns == 2 and later.gaps == 1, "a pause across turns is no pause inside one"
    assert later.pace_gaps == 2, "but it counts for the person's pace"


def test_the_pace_is_stored_and_read_back() -> None:
    person = person_with_pause(3.0)
    assert PersonRhythm.from_dict(json.loads(json.dumps(person.to_dict()))) == person


def test_the_same_person_at_twice_the_pace_is_read_at_twice_the_pace() -> None:
    model = TurnEndModel.load()
    slow, fast = person_with_pause(16.0), person_with_pause(8.0)
    p_slow = model.predict(["hey", HANGING], [0.0, 16.0], slow)
    p_fast = model.predict(["hey", HANGING], [0.0, 8.0], fast)
    assert p_slow.p_end == pytest.approx(p_fast.p_end, abs=0.03), "the same turn at another pace looks the same"
    # the estimate of a pace is shrunk a little toward the corpus' pace, so "twice" reads as a bit less
    assert 1.7 < p_slow.pace / p_fast.pace <= 2.0
    assert 1.7 < p_slow.first_below(0.2) / p_fast.first_below(0.2) < 2.2


def decision_after(person: PersonRhythm, texts: list[str], pause: float, policy: str = "adaptive") -> float:
    """Seconds after the newest message at which the policy, asked then, wants to look again."""
    times = [i * pause for i in range(len(texts))]
    view = ConversationView(tuple(Said(t, at, "ann") for t, at in zip(texts, times, strict=True)),
                            load_persona("sunny").timing, rhythm=person)
    decision = turn_policy(policy).decide(view, times[-1])
    assert isinstance(decision, WaitUntil)
    return decision.at - times[-1]


def test_after_a_few_turns_a_fast_texter_gets_a_shorter_wait_than_a_slow_one() -> None:
    fast, slow = person_with_pause(3.0), person_with_pause(30.0)
    assert decision_after(fast, ["hey", HANGING], 3.0) < decision_after(slow, ["hey", HANGING], 30.0) / 3
    new = PersonRhythm()
    assert decision_after(fast, [HANGING], 1.0) < decision_after(new, [HANGING], 1.0), \
        "someone who has shown they pause 3 s is not waited for as long as a stranger"


def test_the_quick_answer_stays_at_the_debounce_for_a_slow_texter() -> None:
    slow = person_with_pause(30.0)
    assert decision_after(slow, ["what do you think?"], 1.0) <= load_persona("sunny").timing.debounce + 1e-9


def bursty(name: str, pause: float) -> LogConversation:
    """Ann writes eight two-message turns (`pause` s inside each, the second one hanging); Bob answers each."""
    rows: list[tuple[str, float, str]] = []
    t = 0.0
    for _ in range(8):
        rows += [("ann", t, "ok so"), ("ann", t + pause, HANGING), ("bob", t + pause + 40, "go on")]
        t += pause + 100
    return LogConversation(name, [LogMessage(name, a, at, x) for a, at, x in rows])


def bot_waits_in_the_last_turns(conv: LogConversation) -> list[float]:
    """Replayed on virtual time against the real engine: how long the bot waited after Ann's last turns."""
    loop = VirtualTimeLoop()
    try:
        result = loop.run_until_complete(replay(conv, "ann", "adaptive", ReplayParams()))
    finally:
        loop.close()
    delays = [t.decision_delay for t in result.turns]
    assert all(d is not None for d in delays)
    return [d for d in delays[-3:] if d is not None]


def test_in_a_replayed_chat_the_bot_waits_less_for_a_fast_person_than_for_a_slow_one() -> None:
    fast = bot_waits_in_the_last_turns(bursty("fast", 2.0))
    slow = bot_waits_in_the_last_turns(bursty("slow", 4.0))
    assert max(fast) < min(slow)
    doubled = bot_waits_in_the_last_turns(scale_time(bursty("fast", 2.0), 2.0))
    assert max(fast) < min(doubled), "the same chat at half the pace is waited for longer"
