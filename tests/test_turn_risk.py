"""The default adaptive rule weighs when the bot's reply would land: slow texters are not answered into their pause."""

from __future__ import annotations

import math

import pytest

from persona import load_persona
from policies.rhythm import PersonRhythm
from policies.turn import turn_policy
from policies.turn_model import TurnEndPrediction
from policies.turn_risk import REPLY_LEAD, WASTE_WEIGHT, answer_risk
from policies.view import ConversationView, Said, WaitUntil

DEBOUNCE = load_persona("sunny").timing.debounce


def one_message_turns(pause: float, turns: int = 6) -> PersonRhythm:
    """Someone who has written `turns` one-message turns, 14 pauses apart."""
    person = PersonRhythm()
    for k in range(turns):
        person = person.observe_turn([k * 14 * pause])
    return person


def wait_after(person: PersonRhythm, text: str, policy: str) -> float:
    """Seconds after the message at which the policy, asked at once, wants to look again."""
    view = ConversationView((Said(text, 0.0, "ann"),), load_persona("sunny").timing, rhythm=person)
    decision = turn_policy(policy).decide(view, 0.0)
    assert isinstance(decision, WaitUntil)
    return decision.at


def test_a_request_thrown_away_counts_less_than_a_talk_over() -> None:
    prediction = TurnEndPrediction(p_end=0.6, mu=math.log(10.0), sigma=1.16)
    more = prediction.p_more(DEBOUNCE)
    assert answer_risk(prediction, DEBOUNCE, lead=0.0) == pytest.approx(more), \
        "a reply that showed at once is talked over by any message still to come"
    assert answer_risk(prediction, DEBOUNCE, lead=1e9) == pytest.approx(WASTE_WEIGHT * more), \
        "one that would show only after every next message can only be redone: a wasted request"
    slow = TurnEndPrediction(p_end=0.6, mu=math.log(40.0), sigma=1.16)
    fast = TurnEndPrediction(p_end=0.6, mu=math.log(3.0), sigma=1.16)
    assert answer_risk(fast, DEBOUNCE) < answer_risk(prediction, DEBOUNCE) < answer_risk(slow, DEBOUNCE), \
        "the slower the next message would come, the likelier the reply lands before it"
    assert answer_risk(fast, DEBOUNCE) == answer_risk(fast, DEBOUNCE, REPLY_LEAD)


def test_a_slow_texter_is_not_answered_at_once_where_the_reply_would_land_inside_their_pause() -> None:
    slow = one_message_turns(20.0)
    assert wait_after(slow, "ok cool", "adaptive:0.38") == pytest.approx(DEBOUNCE), \
        "the model's own test alone finds more unlikely and would answer at the debounce"
    assert wait_after(slow, "ok cool", "adaptive") > 4 * DEBOUNCE, \
        "but a reply shows ~7 s later, well inside the pause before their next message, if one comes"


def test_a_fast_texter_still_gets_the_quick_answer() -> None:
    fast = one_message_turns(2.0)
    assert wait_after(fast, "ok cool", "adaptive") == pytest.approx(DEBOUNCE)
    assert wait_after(fast, "what do you think?", "adaptive") == pytest.approx(DEBOUNCE)
