"""`textbot bench duet`, and `textbot duet` run as a command against the fake OpenAI server."""

from __future__ import annotations

import asyncio
import re
import signal
from pathlib import Path

import pytest

from bot.bench.duet import measure
from bot.cli import main
from tests.fakes.openai_server import FakeOpenAIServer
from tests.test_cli import TEXTBOT, clean_env, run_textbot


async def test_the_bench_counts_crossings_under_finish_and_refusals_instead_under_actions() -> None:
    rows = {(r.kind, r.interrupt): r for r in await measure(duets=4, messages=10, seed=1, limit=1800)}
    assert all(r.messages == 40 and r.stalled == 0 for r in rows.values())
    assert rows["stream", "finish"].crossings > 0
    assert rows["stream", "revise"].crossings == 0 and rows["stream", "revise"].withheld_drafts > 0
    assert rows["actions", "revise"].crossings == 0 and rows["actions", "revise"].refused_pushes > 0
    assert rows["actions", "revise"].mean_gap > 0


def test_bench_duet_prints_one_row_per_responder_kind(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "duet", "--duets", "1", "--messages", "4"]) == 0
    rows = capsys.readouterr().out.splitlines()[2:]
    assert [row.split()[:2] for row in rows] == [["stream", "revise"], ["stream", "finish"], ["actions", "revise"]]


@pytest.mark.parametrize(("argv", "says"), [
    (["duet", "sunny", "sunny"], "pick two different personas"),
    (["duet", "sunny", "nobody"], "no persona named 'nobody'"),
    (["duet", "sunny", "sage", "--messages", "0"], "--messages must be 1 or more"),
])
def test_a_duet_that_cannot_start_says_why_in_one_line(argv: list[str], says: str,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0]


async def textbot_duet(tmp_path: Path, llm: FakeOpenAIServer, *args: str) -> asyncio.subprocess.Process:
    env = clean_env(tmp_path, OPENAI_BASE_URL=llm.url, OPENAI_API_KEY="k", LLM_MODEL="fake", TIMING_SCALE="0",
                    TURN_POLICY="immediate", PYTHONPATH=str(Path.cwd()))
    return await asyncio.create_subprocess_exec(*TEXTBOT, "duet", "sunny", "sage", *args, env=env, cwd=tmp_path,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def test_textbot_duet_prints_each_message_on_a_line_then_the_totals(tmp_path: Path) -> None:
    async with FakeOpenAIServer() as llm:
        llm.reply_with(lambda messages: f"heard {sum(m['role'] == 'user' for m in messages)}")
        proc = await textbot_duet(tmp_path, llm, "--messages", "4", "--seconds", "50", "--topic", "rain")
        out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    lines = out.decode().splitlines()
    assert proc.returncode == 0, err.decode()[-500:]
    assert lines[0] == "sunny and sage text each other about 'rain' (stream); Ctrl-C to stop"
    said = [re.fullmatch(r"\d\d:\d\d:\d\d (\w+): (.*)", line) for line in lines[1:-1]]
    assert [m.group(1) for m in said if m] == ["sunny", "sage", "sunny", "sage"]
    assert said[0] is not None and said[0].group(2) == "heard 0"  # A starts from the nudge alone
    assert lines[-1].startswith("-- 4 messages in ") and lines[-1].endswith("(messages)")


async def test_ctrl_c_stops_a_duet_with_exit_status_0(tmp_path: Path) -> None:
    async with FakeOpenAIServer() as llm:
        proc = await textbot_duet(tmp_path, llm, "--messages", "1000", "--seconds", "120")
        assert proc.stdout is not None
        await asyncio.wait_for(proc.stdout.readline(), timeout=30)  # the heading
        await asyncio.wait_for(proc.stdout.readline(), timeout=30)  # the first message: it is running
        proc.send_signal(signal.SIGINT)
        rest, _ = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 0
    assert rest.decode().splitlines()[-1].endswith("(cancelled)")


async def test_bench_duet_with_the_model_runs_every_kind_against_the_configured_server(tmp_path: Path) -> None:
    async with FakeOpenAIServer() as llm:
        env = clean_env(tmp_path, OPENAI_BASE_URL=llm.url, OPENAI_API_KEY="k", LLM_MODEL="fake", TIMING_SCALE="0",
                        TURN_POLICY="immediate", PYTHONPATH=str(Path.cwd()))
        code, out, err = await run_textbot(["bench", "duet", "--model", "--duets", "1", "--messages", "2",
                                            "--limit", "30"], env, b"", tmp_path)
        asked = len(llm.requests)
    assert code == 0, err[-500:]
    lines = out.splitlines()
    assert lines[0] == "1 duets of 2 messages per row, the model fake, real time"
    assert [row.split()[:4] for row in lines[2:]] == [
        ["stream", "revise", "1", "2"], ["stream", "finish", "1", "2"], ["actions", "revise", "1", "2"]]
    assert asked >= 6  # every message was the model's
