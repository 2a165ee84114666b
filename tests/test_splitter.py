"""How a streamed reply is cut into the messages a human receives."""

from __future__ import annotations

from bot.llm.splitter import PartCutter, cut_sentences


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


def test_a_thousand_line_reply_is_at_most_max_parts_messages() -> None:
    text = "\n".join(f"line number {i} of a reply that will not stop" for i in range(1000))
    parts = [p for _, p in stream(PartCutter(max_parts=5, max_part_chars=160, limit=2000), text, chunk=40)]
    assert len(parts) == 5
    assert parts[:4] == [f"line number {i} of a reply that will not stop" for i in range(4)]
    assert parts[4] == "\n".join(f"line number {i} of a reply that will not stop" for i in range(4, 7)), (
        "the last message gathers whole lines while they fit the persona's part length")


def test_five_megabytes_without_a_break_are_read_only_up_to_the_cap() -> None:
    cutter = PartCutter(max_parts=5, max_part_chars=160, limit=2000)
    deltas_read, parts = 0, []
    for _ in range(5_000):  # 5 MB in 1,000-character deltas, as a runaway stream would send it
        parts.extend(cutter.feed("x" * 1_000))
        deltas_read += 1
        if cutter.full:
            break
    parts.extend(cutter.finish())
    assert cutter.full and deltas_read == 10, "the reply is full after max_parts * limit characters"
    assert cutter.read == 10_000 and cutter.scanned == 10_000
    assert len(parts) == 5 and all(len(p) <= 160 for p in parts)
    assert cutter.feed("more\n") == [], "past the cap nothing is read"


def test_each_character_is_scanned_once_however_the_stream_is_chunked() -> None:
    text = ("a" * 30_000 + "\n") * 2 + "tail"
    one_by_one = PartCutter(max_parts=5, max_part_chars=100_000, limit=100_000)
    small = [p for _, p in stream(one_by_one, text, chunk=1)]
    whole = PartCutter(max_parts=5, max_part_chars=100_000, limit=100_000)
    assert small == [p for _, p in stream(whole, text, chunk=len(text))] == ["a" * 30_000, "a" * 30_000, "tail"]
    assert one_by_one.scanned == whole.scanned == len(text), "no rescanning of the unfinished line"


def test_cutting_a_huge_sentence_keeps_every_word_in_order() -> None:
    text = " ".join(f"w{i}" for i in range(50_000))
    pieces = cut_sentences(text, 160)
    assert all(len(p) <= 160 for p in pieces)
    assert " ".join(pieces) == text


def test_a_tidy_function_cleans_prose_lines_but_never_code() -> None:
    cutter = PartCutter(max_parts=5, max_part_chars=200, limit=2000, tidy=lambda line: line.removeprefix("Bot:"))
    parts = [p for _, p in stream(cutter, "Bot: hi\n```\nBot: x\n```\nBot: \n")]
    assert parts == ["hi", "```\nBot: x\n```"]
