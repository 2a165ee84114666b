"""`textbot bench duet` and the `textbot duet` command line, without a model."""

from __future__ import annotations

import pytest

from bot.bench.duet import measure
from bot.cli import main


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
