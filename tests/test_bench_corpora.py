"""`textbot bench turns` beyond one corpus: time scales, the synthetic corpus, group logs and progress."""

from __future__ import annotations

import argparse
import io
import itertools
import json
import time
from pathlib import Path

import pytest

from bot.bench.log import LogConversation, LogMessage, scale_time, two_person_stretches
from bot.bench.progress import Progress
from bot.bench.replay import ReplayParams
from bot.bench.synthetic import generate, load_synthetic
from bot.bench.turns import main, run_bench


def chat(rows: list[tuple[str, float, str]], cid: str = "c1") -> LogConversation:
    """A logged conversation from (author, seconds, text) rows."""
    return LogConversation(cid, [LogMessage(cid, a, t, x) for a, t, x in rows])


def ann_pauses_nine_seconds() -> LogConversation:
    """Ann texts a burst with a 9 s pause inside it, Bob answers, Ann answers in one message."""
    return chat([("ann", 100.0, "heyyy"), ("ann", 109.0, "saw your story?"), ("bob", 130.0, "yes!"),
                 ("ann", 160.0, "so what now")])


def args_for(data: Path, **extra: object) -> argparse.Namespace:
    """The command's arguments as the CLI would parse them."""
    base: dict[str, object] = dict(data=str(data), split="test", policy=["fixed:10"], signals="text", json=None,
                                   plot=None, limit=None, llm_latency=1.0, reply_chars=60, human_wpm=36.0,
                                   interrupt="revise", persona="sunny", debounce=None, time_scale=1.0,
                                   no_progress=True)
    base.update(extra)
    return argparse.Namespace(**base)


def write_log(path: Path, convs: list[LogConversation]) -> Path:
    """The conversations as a JSONL log."""
    path.write_text("\n".join(json.dumps({"conv": m.conv, "author": m.author, "ts": m.ts, "text": m.text})
                              for c in convs for m in c.messages))
    return path


def test_a_scaled_log_keeps_its_start_and_multiplies_every_gap() -> None:
    doubled = scale_time(ann_pauses_nine_seconds(), 2.0)
    assert [m.ts for m in doubled.messages] == [100.0, 118.0, 160.0, 220.0]
    assert [m.text for m in doubled.messages] == [m.text for m in ann_pauses_nine_seconds().messages]
    with pytest.raises(ValueError):
        scale_time(ann_pauses_nine_seconds(), 0.0)


def test_a_ten_second_wait_covers_a_nine_second_pause_but_not_the_same_pause_doubled() -> None:
    params = ReplayParams(llm_latency=1.0)
    as_logged = run_bench([ann_pauses_nine_seconds()], ["fixed:10"], params)["fixed:10"]
    doubled = run_bench([scale_time(ann_pauses_nine_seconds(), 2.0)], ["fixed:10"], params)["fixed:10"]
    assert as_logged.talk_over == 0
    assert doubled.talk_over > 0, "at 18 s the pause outlasts the wait, the typing and the model"


def test_the_command_replays_at_the_scale_it_is_given(tmp_path: Path) -> None:
    log = write_log(tmp_path / "log.jsonl", [ann_pauses_nine_seconds()])
    out = tmp_path / "f.json"
    assert main(args_for(log, json=out)) == 0
    assert json.loads(out.read_text())["policies"]["fixed:10"]["talk_over"] == 0
    assert "time_scale" not in json.loads(out.read_text()), "the JSON at scale 1 is as before"
    assert main(args_for(log, json=out, time_scale=2.0)) == 0
    doc = json.loads(out.read_text())
    assert doc["time_scale"] == 2.0 and doc["policies"]["fixed:10"]["talk_over"] > 0
    assert main(args_for(log, time_scale=-1.0)) == 2


def test_the_synthetic_corpus_is_the_same_every_time_and_two_party() -> None:
    first, again = generate(count=30), generate(count=30)
    assert [[(m.author, m.ts, m.text) for m in c.messages] for c in first] == \
           [[(m.author, m.ts, m.text) for m in c.messages] for c in again]
    for conv in first:
        assert len(conv.authors) == 2
        assert all(a.ts <= b.ts for a, b in itertools.pairwise(conv.messages))
        assert 16 <= len(conv.turns()) <= 40


def test_synthetic_people_differ_in_pace_as_documented() -> None:
    def median_pause(conv: LogConversation, author: str) -> float:
        gaps = sorted(b.ts - a.ts for t in conv.turns() if t[0].author == author for a, b in itertools.pairwise(t))
        return gaps[len(gaps) // 2] if gaps else float("nan")

    medians = sorted(p for c in generate(count=200) for a in c.authors
                     if (p := median_pause(c, a)) == p)  # nan (no multi-message turn) dropped
    fast, slow = medians[len(medians) // 10], medians[9 * len(medians) // 10]
    assert slow > 3 * fast, "the corpus spans people several times faster and slower than each other"


def test_the_synthetic_splits_do_not_overlap() -> None:
    train, test = load_synthetic("train"), load_synthetic("test")
    assert not {c.conv_id for c in train} & {c.conv_id for c in test}
    assert len(test) == 200 and len(train) == 800


def test_a_group_log_is_cut_where_a_third_person_joins() -> None:
    group = chat([("ann", 0, "hi bob"), ("bob", 5, "hey"), ("ann", 9, "how are u"), ("bob", 14, "good"),
                  ("cat", 20, "hi all"), ("bob", 24, "hi cat"), ("cat", 30, "sup"), ("bob", 33, "not much"),
                  ("dan", 40, "yo"), ("eve", 41, "yo")])
    stretches = two_person_stretches(group)
    assert [[m.text for m in s.messages] for s in stretches] == [
        ["hi bob", "hey", "how are u", "good"], ["hi all", "hi cat", "sup", "not much"]]
    assert [s.authors for s in stretches] == [["ann", "bob"], ["cat", "bob"]]
    assert two_person_stretches(ann_pauses_nine_seconds()) == [ann_pauses_nine_seconds()]


def test_a_group_log_is_replayed_as_two_person_stretches(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    group = chat([("ann", 0, "hi bob"), ("bob", 5, "hey"), ("ann", 9, "how are u"), ("bob", 14, "good"),
                  ("cat", 20, "hi all"), ("bob", 24, "hi cat")])
    out = tmp_path / "f.json"
    assert main(args_for(write_log(tmp_path / "g.jsonl", [group]), json=out)) == 0
    assert json.loads(out.read_text())["turns"] == 4, "only the ann-bob stretch has two turns each"
    assert "cut into two-person stretches" in capsys.readouterr().err


def test_a_log_of_thousands_of_one_line_authors_stops_at_once_with_a_reason(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    crowd = chat([(f"user{i}", float(i), f"hello from {i}") for i in range(5000)], "room")
    log = write_log(tmp_path / "room.jsonl", [crowd])
    started = time.process_time()
    assert main(args_for(log)) == 2
    assert time.process_time() - started < 5.0
    err = capsys.readouterr().err
    assert "no two-person conversation" in err and "room.jsonl" in err


def test_progress_shows_a_bar_and_an_eta_on_its_stream_only() -> None:
    now = [0.0]
    stream = io.StringIO()
    bar = Progress(100, "replaying", stream, clock=lambda: now[0])
    bar.advance(0)
    now[0] = 40.0
    bar.advance(50)
    now[0] = 80.0
    bar.advance(50)
    bar.close()
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("replaying [....") and "ETA ?" in lines[0]
    assert "50/100" in lines[1] and "elapsed 0:40" in lines[1] and "ETA 0:40" in lines[1]
    assert "100/100" in lines[2] and "#" * 28 in lines[2]


def test_the_command_prints_progress_on_stderr_and_the_table_on_stdout(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = write_log(tmp_path / "log.jsonl", [ann_pauses_nine_seconds()])
    assert main(args_for(log, no_progress=False)) == 0
    captured = capsys.readouterr()
    assert "ETA" in captured.err and "ETA" not in captured.out
    assert captured.out.splitlines()[1].startswith("policy")
