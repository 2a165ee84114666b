"""What is taken off a small model's lines before they are sent, and what is left alone."""

from __future__ import annotations

from bot.llm.tidy import speaker_names, tidy_line

SUNNY = speaker_names("You are Sunny, texting a friend from your phone.")


def test_the_persona_name_and_role_prefixes_are_taken_off() -> None:
    assert tidy_line("Sunny: omg hi", SUNNY) == "omg hi"
    assert tidy_line("assistant: sure", SUNNY) == "sure"
    assert tidy_line("Sunny:", SUNNY) == ""


def test_quotes_around_the_whole_line_go_but_quotes_inside_stay() -> None:
    assert tidy_line('"omg hi"', SUNNY) == "omg hi"
    assert tidy_line("“omg hi”", SUNNY) == "omg hi"
    assert tidy_line('she said "hi" and "bye"', SUNNY) == 'she said "hi" and "bye"'
    assert tidy_line('"hi" and "bye"', SUNNY) == '"hi" and "bye"'


def test_assistant_speak_and_leaked_special_tokens_are_dropped() -> None:
    assert tidy_line("As an AI, i love that", SUNNY) == "i love that"
    assert tidy_line("As an AI language model I can't", SUNNY) == "I can't"
    assert tidy_line("wbu?<|im_end|>", SUNNY) == "wbu?"


def test_ordinary_lines_that_merely_look_similar_are_left_alone() -> None:
    assert tidy_line("note: bring snacks", SUNNY) == "note: bring snacks"
    assert tidy_line("As an aside, no", SUNNY) == "As an aside, no"
    assert tidy_line("sage: who?", SUNNY) == "sage: who?"
