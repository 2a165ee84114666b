"""scripts/turn_front.py reads a policy family's sweep at one share of quick answers."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[1] / "scripts" / "turn_front.py"
_SPEC = importlib.util.spec_from_file_location("turn_front", _PATH)
assert _SPEC is not None and _SPEC.loader is not None
front = importlib.util.module_from_spec(_SPEC)
sys.modules["turn_front"] = front  # its dataclasses look their module up
_SPEC.loader.exec_module(front)
Point = front.Point


def test_reads_between_the_two_thresholds_around_the_share() -> None:
    """40% quick at 10% talk-over and 60% quick at 20%: at 50% quick it is 15%, half of fixed:3's 30%."""
    sweep = [Point("adaptive:0.4", 0.20, 0.60, 1.4), Point("adaptive:0.3", 0.10, 0.40, 1.2)]
    ratio, calls, bound = front.at_share(sweep, baseline=0.30, share=0.50)
    assert ratio == pytest.approx(0.5)
    assert calls == pytest.approx(1.3)
    assert bound is False


def test_a_sweep_that_is_always_quicker_gives_an_upper_bound() -> None:
    """Even the lowest threshold answered 55% quickly: its talk-over is only an upper bound at 52%."""
    sweep = [Point("adaptive:0.3", 0.12, 0.55, 1.1), Point("adaptive:0.4", 0.18, 0.70, 1.3)]
    assert front.at_share(sweep, baseline=0.24, share=0.52) == (pytest.approx(0.5), 1.1, True)


def test_a_sweep_that_never_gets_quick_enough_reads_nothing() -> None:
    """No threshold answered half of the turns quickly: nothing to read."""
    sweep = [Point("adaptive:0.3", 0.05, 0.20, 1.0), Point("adaptive:0.4", 0.08, 0.35, 1.1)]
    assert front.at_share(sweep, baseline=0.3, share=0.52) is None
