"""`textbot bench judge` as a person runs it, against the local Chat Completions server scripting the model."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from bot.bench.judge_bench import CASES, load_cases
from bot.llm.judge_prompt import interruption_messages
from policies.judged import INTERRUPT_CHOICES
from tests.fakes.openai_answers import Answer
from tests.fakes.openai_server import FakeOpenAIServer, Messages
from tests.judge_kit import rules
from tests.test_cli import clean_env, run_textbot


def test_the_labelled_set_has_at_least_sixty_situations_from_the_seeds_and_the_chitchat_logs() -> None:
    cases = load_cases()
    assert len(cases) >= 60
    assert len({c.id for c in cases}) == len(cases)
    sources = Counter(c.source.split()[0] for c in cases)
    assert sources["chitchat"] >= 30 and sources["seed"] >= 5
    assert set(Counter(c.label for c in cases)) == set(INTERRUPT_CHOICES), "every choice is the right one somewhere"
    assert all(c.why and c.new and (c.delivered or c.unsent) for c in cases)
    assert all(c.listens for c in cases if c.label == "relay"), "relay is right only where a session listens"


def test_a_bad_case_file_is_refused_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "cases.jsonl"
    bad.write_text(CASES.read_text().splitlines()[0] + "\n" + '{"id": "x", "label": "shrug"}\n')
    with pytest.raises(ValueError, match=r"cases.jsonl:2: not a judge case"):
        load_cases(bad)


async def test_bench_judge_prints_accuracy_the_confusion_table_and_latency(tmp_path: Path) -> None:
    cases = load_cases()
    by_question = {interruption_messages(c.question())[-1]["content"]: c for c in cases}
    garbled = cases[0]

    def model(messages: Messages) -> Answer:
        case = by_question[messages[-1]["content"]]
        if case is garbled:
            return Answer("I would ignore it")  # no tool call: no usable answer
        return rules("continue" if case.label == "restart" else case.label, f"says {case.id}")

    async with FakeOpenAIServer() as server:
        server.reply_with(model)
        env = clean_env(tmp_path, OPENAI_BASE_URL=server.url, OPENAI_API_KEY="sk-main", LLM_MODEL="big",
                        LLM_FAST_MODEL="small", PYTHONPATH=str(Path.cwd()))
        code, out, err = await run_textbot(["bench", "judge", "--no-progress", "--json", "bench.json"], env, b"",
                                           tmp_path)
    assert code == 0, err
    restarts = sum(c.label == "restart" for c in cases)
    correct = len(cases) - restarts - (garbled.label != "restart")
    assert f"accuracy {correct}/{len(cases)} = {correct / len(cases):.1%}" in out
    assert f"{len(cases)} interruption situations, fast model small at {server.url}" in out
    assert "no usable answer: 1" in out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.split()[:1] == ["restart"]}
    assert rows["restart"][:3] == ["0", "0", str(restarts)], "every restart was answered continue"
    assert "median decision latency" in out
    assert {r["model"] for r in server.requests} == {"small"}, "the fast model, not the main one"
    assert all(r["tool_choice"] == {"type": "function", "function": {"name": "decide_interruption"}}
               for r in server.requests)
    saved = json.loads((tmp_path / "bench.json").read_text())
    assert saved["correct"] == correct and len(saved["answers"]) == len(cases)
    assert saved["answers"][1]["reason"] == f"says {cases[1].id}"
