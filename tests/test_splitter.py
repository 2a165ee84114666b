"""How a streamed reply is cut into the messages a human receives."""

from __future__ import annotations

from bot.core.splitter import PartCutter, cut_sentences


def stream(cutter: PartCutter, text: str, chunk: int = 3) -> list[tuple[int, str]]:
    """Feed text in small chunks; return (chars fed when emitted, part) pairs."""
    out: list[tuple[int, str]] = []
    for i in range(0, len(text), chunk):
        out.extend((i + chunk, p) for p in cutter.feed(text[i : i + chunk]))
    out.extend((len(text), p) for p in cutter.finish())
    return out


def test_each_line_is_a_message_and_arrives_as_soon_as_it_is_complete() -> None:
    text = "omg hi\n\nyes i saw it\nwbu"
    parts = stream(PartCutter(max_parts=5, max_part_chars=200, limit=2000), text)
    assert [p for _, p in parts] == ["omg hi", "yes i saw it", "wbu"]
    assert parts[0][0] <= len("omg hi\n") + 3, "the first part is ready before the model has finished"


def test_overlong_lines_are_cut_at_sentence_boundaries() -> None:
    line = "First thought here. Second thought is a bit longer! Third one? Fourth."
    assert cut_sentences(line, 40) == ["First thought here.", "Second thought is a bit longer!", "Third one? Fourth."]


def test_a_sentence_longer_than_the_limit_is_cut_between_words() -> None:
    pieces = cut_sentences("word " * 100, 50)
    assert all(len(p) <= 50 for p in pieces)
    assert " ".join(pieces).split() == ["word"] * 100


def test_code_blocks_are_never_cut() -> None:
    text = "look:\n```python\ndef f():\n\n    return 1\n```\nneat right"
    parts = [p for _, p in stream(PartCutter(max_parts=5, max_part_chars=10, limit=2000), text)]
    assert parts == ["look:", "```python\ndef f():\n\n    return 1\n```", "neat right"]


def test_no_message_exceeds_the_platform_limit_even_for_huge_code() -> None:
    code = "```\n" + "\n".join(f"line {i} " + "x" * 60 for i in range(100)) + "\n```"
    parts = [p for _, p in stream(PartCutter(max_parts=5, max_part_chars=300, limit=2000), code, chunk=50)]
    assert all(len(p) <= 2000 for p in parts)
    assert all(p.startswith("```") and p.endswith("```") for p in parts), "each chunk stays a valid code block"
    assert sum(p.count("line ") for p in parts) == 100


def test_parts_beyond_max_parts_are_merged_into_the_last_not_dropped() -> None:
    parts = [p for _, p in stream(PartCutter(max_parts=2, max_part_chars=200, limit=4096), "a\nb\nc\nd")]
    assert parts == ["a", "b\nc\nd"]


def test_telegram_and_discord_limits() -> None:
    giant = "x" * 10_000
    for limit in (2000, 4096):
        parts = [p for _, p in stream(PartCutter(max_parts=20, max_part_chars=10_000, limit=limit), giant, 500)]
        assert all(len(p) <= limit for p in parts) and "".join(parts) == giant
