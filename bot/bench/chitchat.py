"""The BYU Chit-Chat corpus (PyPI `chitchat-dataset`) as benchmark conversations, plus statistics.

The corpus is a JSON object `{conv_id: {"messages": [[utterance, ...], ...], ...}}`: each inner
list is one turn, each utterance `{"text", "sender", "timestamp"}` with an ISO-8601 UTC timestamp
at one-second resolution ("2018-05-02T19:38:15Z"). We keep the two-party conversations, flatten
the turns, sort stably by time, drop empty texts, and regroup turns by author changes.
"""

from __future__ import annotations

import itertools
import json
import random
import statistics
import sys
from collections.abc import Sequence
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from bot.bench.log import LogConversation, LogMessage, build_conversations

FIXED_WAITS: tuple[float, ...] = (1.5, 2.0, 3.0, 10.0, 30.0)


def parse_timestamp(value: str) -> float:
    """Parse the corpus' ISO-8601 UTC timestamp into POSIX seconds."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def dataset_path() -> Path:
    """Location of dataset.json inside the installed chitchat_dataset package."""
    return Path(str(resources.files("chitchat_dataset").joinpath("dataset.json")))


def conversations_from_json(data: dict[str, Any]) -> list[LogConversation]:
    """Convert the corpus' JSON object into two-party conversations."""
    out: list[LogConversation] = []
    for conv_id, conv in data.items():
        msgs = [
            LogMessage(
                conv=str(conv_id),
                author=str(u["sender"]),
                ts=parse_timestamp(u["timestamp"]),
                text=str(u["text"]),
            )
            for turn in conv["messages"]
            for u in turn
        ]
        for c in build_conversations(msgs):
            if len(c.authors) == 2:
                out.append(c)
    return out


def load_chitchat(path: str | Path | None = None) -> list[LogConversation]:
    """Load the two-party Chit-Chat conversations (from the installed package by default)."""
    with Path(path or dataset_path()).open(encoding="utf-8") as f:
        data = json.load(f)
    return conversations_from_json(data)


def split_conversations(
    convs: Sequence[LogConversation], seed: int = 20261121, test_fraction: float = 0.2
) -> tuple[list[LogConversation], list[LogConversation]]:
    """Deterministic conversation-level (train, test) split; input order is kept in each part."""
    ids = sorted({c.conv_id for c in convs})
    random.Random(seed).shuffle(ids)
    test_ids = set(ids[: round(len(ids) * test_fraction)])
    train = [c for c in convs if c.conv_id not in test_ids]
    test = [c for c in convs if c.conv_id in test_ids]
    return train, test


def quantile(values: Sequence[float], q: float) -> float:
    """Nearest-rank quantile of a non-empty sequence."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def fixed_wait_talk_over(convs: Sequence[LogConversation], wait: float) -> float:
    """Share of turns talked over by replying `wait` s after each message (decision only)."""
    turns = [t for c in convs for t in c.turns()]
    over = sum(any(b.ts - a.ts > wait for a, b in itertools.pairwise(t)) for t in turns)
    return over / max(1, len(turns))


def corpus_stats(
    convs: Sequence[LogConversation], waits: Sequence[float] = FIXED_WAITS
) -> dict[str, float]:
    """Conversation, message and turn counts, burst pauses and fixed-wait talk-over rates."""
    turns = [t for c in convs for t in c.turns()]
    gaps = [b.ts - a.ts for t in turns for a, b in itertools.pairwise(t)]
    stats: dict[str, float] = {
        "conversations": len(convs),
        "messages": sum(len(c.messages) for c in convs),
        "turns": len(turns),
        "multi_message_turn_share": sum(len(t) > 1 for t in turns) / max(1, len(turns)),
        "burst_pause_median_s": statistics.median(gaps) if gaps else 0.0,
        "burst_pause_p90_s": quantile(gaps, 0.9) if gaps else 0.0,
    }
    for w in waits:
        stats[f"fixed_{w:g}s_talk_over"] = fixed_wait_talk_over(convs, w)
    return stats


def main(argv: Sequence[str] | None = None) -> int:
    """Print corpus statistics for the whole corpus and the default split."""
    args = list(sys.argv[1:] if argv is None else argv)
    convs = load_chitchat(args[0] if args else None)
    train, test = split_conversations(convs)
    for name, part in (("all", convs), ("train", train), ("test", test)):
        print(f"[{name}]")
        for key, value in corpus_stats(part).items():
            print(f"  {key:28s} {value:.4g}" if isinstance(value, float) else f"  {key} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
