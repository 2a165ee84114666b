"""The duplex benchmarks' subcommands: `textbot bench duplex-data` and `textbot bench duplex`."""

from __future__ import annotations

import argparse
from typing import Any


def _data(args: argparse.Namespace) -> int:
    from bot.bench.duplex_data import main

    return main(args)


def _bench(args: argparse.Namespace) -> int:
    from bot.bench.duplex_bench import main
    from bot.logs import setup_logging
    from bot.settings import Settings

    setup_logging(Settings())  # the local model's one line, when it is started
    return main(args)


def add_duplex_commands(bench: Any) -> None:
    """Add both subcommands to `textbot bench` (its argparse subparsers)."""
    from bot.bench.duplex_bench import add_arguments as bench_arguments
    from bot.bench.duplex_data import add_arguments as data_arguments

    data = bench.add_parser("duplex-data", help="seed-002 training states from chat logs, as fine-tuning JSONL")
    data_arguments(data)
    data.set_defaults(func=_data)
    asked = bench.add_parser("duplex", help="the duplex fast model on held-out states: format, turn ends, requests")
    bench_arguments(asked)
    asked.set_defaults(func=_bench)
