"""The duplex benchmarks on a small chat log: the fine-tuning states, the walk with a perfect model, the replay."""

from __future__ import annotations

import json
from pathlib import Path

import openai
import pytest

from bot.bench.duplex_bench import run
from bot.cli import build_parser, main
from bot.core.clock import RealClock
from bot.llm.duplex import OpenAIDuplex, target
from tests.fakes.openai_server import FakeOpenAIServer, Messages

LOG = [  # Ana texts twice, Ben answers, Ana closes, Ben answers
    ("ana", 0.0, "hey"), ("ana", 3.0, "u free sat?"), ("ben", 10.0, "yes!"), ("ana", 20.0, "cool"),
    ("ben", 25.0, "ok"),
]


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "log.jsonl"
    path.write_text("".join(json.dumps({"conv": "c1", "author": a, "ts": ts, "text": t}) + "\n" for a, ts, t in LOG))
    return path


def test_duplex_data_cuts_each_turn_after_each_message_at_the_silences_that_really_passed(
        log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "states.jsonl"
    assert main(["bench", "duplex-data", "--data", str(log), "--out", str(out), "--silences", "0,1,4,8"]) == 0
    rows = [json.loads(line)["messages"] for line in out.read_text().splitlines()]
    shown = [(m[-2]["content"], m[-1]["content"]) for m in rows]
    silence = " <|silence|>"
    assert shown[:4] == [  # "hey" was followed by more after 3 s: 8 ticks (4 s) of silence never happened
        ("hey", target("u free sat?", "yes!")), ("hey" + silence, target("u free sat?", "yes!")),
        ("hey" + silence * 4, target("u free sat?", "yes!")),
        ("hey\nu free sat?", target("", "yes!")),
    ]
    assert len(rows) == 3 + 4 + 4 + 4, "Ben's last turn has no answer, so it makes no state"
    assert all(m[0]["role"] == "system" and "<user_preemptive>" in m[0]["content"] for m in rows)
    history = [(m["role"], m["content"]) for m in rows[-1][1:-2]]
    assert history == [("user", "hey"), ("user", "u free sat?"), ("assistant", "yes!")], "Ben is the bot: Ana's turn"
    assert "15 states" in capsys.readouterr().out


def test_bench_duplex_with_a_perfect_model_answers_every_turn_by_its_draft_and_the_replay_uses_it(
        log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved = tmp_path / "answers.jsonl"
    assert main(["bench", "duplex", "--data", str(log), "--oracle", "--no-progress", "--save", str(saved)]) == 0
    printed = capsys.readouterr().out
    assert "format adherence" in printed and "= 100.0%" in printed
    assert "turn-end correctness" in printed
    answers = [json.loads(line) for line in saved.read_text().splitlines()]
    assert {tuple(a["burst"]) for a in answers if a["turn_over"]} == {("hey", "u free sat?"), ("yes!",), ("cool",)}
    assert all(a["well_formed"] and a["turn_over"] == a["truth_over"] for a in answers)
    assert main(["bench", "turns", "--data", str(log), "--no-progress", "--policy", "adaptive",
                 "--policy", f"duplex-cached:{saved}"]) == 0
    report = capsys.readouterr().out
    assert f"duplex-cached:{saved}: " in report and " answered from the file" in report
    assert " 0 answered from the file" not in report


def test_duplex_data_refuses_silences_that_are_not_whole_ticks(log: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "duplex-data", "--data", str(log), "--out", str(tmp_path / "x"), "--silences", "1.5"]) == 2
    assert "--silences" in capsys.readouterr().err


async def test_bench_duplex_asks_the_model_through_the_client_and_scores_its_answers(
        log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def model(messages: Messages) -> str:  # always "over": right after a turn's last message only
        return target("", "sure")

    saved = tmp_path / "answers.jsonl"
    args = build_parser().parse_args(["bench", "duplex", "--data", str(log), "--no-progress", "--save", str(saved)])
    async with FakeOpenAIServer() as server:
        server.reply_with(model)
        client = openai.AsyncOpenAI(base_url=server.url, api_key="sk-test", max_retries=0)
        try:
            assert await run(args, OpenAIDuplex(client, "m", RealClock()).ask, "fake fast model") == 0
        finally:
            await client.close()
    printed = capsys.readouterr().out
    assert "fake fast model: 3 turns, 3 requests" in printed
    assert "format adherence 3/3 = 100.0%" in printed
    assert "turn-end correctness 2/3 = 66.7%" in printed, "'hey' was not the end of Ana's first turn"
    assert "decided before the turn's last message 1/3" in printed
    assert len(saved.read_text().splitlines()) == 3
