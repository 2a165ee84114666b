"""A turn the bot talked over is learned as one turn: the rest of it, after the reply showed, is not a new turn."""

from __future__ import annotations

from bot.core.events import Author, ConversationKey, HumanMessage
from bot.core.ports import Line
from bot.core.state import ConversationState, Pending
from policies.rhythm import PersonRhythm
from policies.turn_split import carries_on

ANN = Author("ann", "Ann")
KEY = ConversationKey("test", "dm")


def ann_so_far() -> PersonRhythm:
    """Ann has written a two-message turn and a one-message turn; then "hey" at 0 s, which the bot answered."""
    return PersonRhythm().observe_turn([-300.0, -290.0]).observe_turn([-100.0]).observe_turn([0.0])


def state_after_the_reply(at: float, text: str, group: bool = False) -> ConversationState:
    """Ann said "hey" at 0 s, the bot's reply showed at 9.5 s, and her next message came at `at`."""
    state = ConversationState(history=[Line("human", "hey", 0.0, "Ann"), Line("bot", "heyy whats up", 9.5)],
                              rhythms={"ann": ann_so_far()})
    state.pending.append(Pending(HumanMessage(KEY, "m2", ANN, text, is_group=group), at))
    return state


def test_the_rest_of_a_turn_after_the_bot_talked_over_it_is_the_same_turn() -> None:
    _, rhythm = state_after_the_reply(12.0, "so guess what happened today").observe_turn()
    assert rhythm.turns == 3, "'hey' and what she was already writing are one turn"
    assert rhythm.last_turn_len == 2 and rhythm.length_counts[:2] == (1, 2)
    assert rhythm.messages == 5 and rhythm.gaps == 2, "the 12 s between them is a pause inside a turn"


def test_an_answer_to_the_reply_after_reading_it_is_a_new_turn() -> None:
    _, rhythm = state_after_the_reply(200.0, "haha yeah same").observe_turn()
    assert rhythm.turns == 4 and rhythm.last_turn_len == 1
    assert rhythm.gaps == 1, "a pause across turns is no pause inside one"


def test_in_a_group_others_write_between_anyone_s_messages_so_nothing_is_joined() -> None:
    _, rhythm = state_after_the_reply(12.0, "so guess what happened today", group=True).observe_turn()
    assert rhythm.turns == 4


def test_coming_back_fast_for_this_person_and_before_a_reaction_could_is_carrying_on() -> None:
    person = ann_so_far()
    assert carries_on(since_theirs=12.0, since_shown=2.5, chars=27, person=person)
    assert not carries_on(since_theirs=200.0, since_shown=190.5, chars=14, person=person)
    assert not carries_on(12.0, 2.5, 27, PersonRhythm().observe_turn([0.0])), "no pause of hers seen yet: no pace"


def test_a_turn_joined_to_the_one_before_is_stored_and_read_back() -> None:
    _, rhythm = state_after_the_reply(12.0, "so guess what happened today").observe_turn()
    assert PersonRhythm.from_dict(rhythm.to_dict()) == rhythm
