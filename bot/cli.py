"""The `textbot` command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable, Sequence

from pydantic import ValidationError

from bot.settings import ConfigError, Settings, settings_problem


def _ready(settings: Settings, *, write: bool = True) -> Settings:
    """`settings` once the database they name opens, is migrated and (if `write`) takes writes."""
    from bot.preflight import check_database

    check_database(settings.database_url, write=write)
    return settings


async def _with_llm(main: Callable[[Settings], Awaitable[None]], settings: Settings) -> None:
    """Run `main`; with no LLM set, the bundled local model runs alongside it and stops with it."""
    from bot.llm.local_model import local_llm_if_needed

    async with local_llm_if_needed(settings) as ready:
        await main(ready)


def _run(args: argparse.Namespace) -> int:
    from bot.workers.supervisor import check_workers

    settings = Settings()
    check_workers(settings, settings.worker_count if args.workers is None else args.workers)  # SQLite: refused now
    settings = _ready(settings)  # before the heavy imports: a bad setting is reported at once
    from bot.logs import setup_logging

    setup_logging(settings)  # now, so the local model's one line is shown
    if args.workers is not None and args.workers > 1:
        from bot.workers.supervisor import supervise

        return asyncio.run(_supervised(supervise, settings, args.workers))
    from bot.app import run

    with contextlib.suppress(asyncio.CancelledError):  # a worker stopped by SIGTERM, its conversations handed on
        asyncio.run(_with_llm(run, settings))
    return 0


async def _supervised(supervise: Callable[[Settings, int], Awaitable[int]], settings: Settings, count: int) -> int:
    code = 0

    async def main(ready: Settings) -> None:
        nonlocal code
        code = await supervise(ready, count)

    await _with_llm(main, settings)  # one local model for every worker, when no LLM is set
    return code


def _chat(args: argparse.Namespace) -> int:
    settings = _ready(Settings())
    from bot.app import run_terminal_chat
    from bot.logs import setup_logging

    setup_logging(settings)
    asyncio.run(_with_llm(run_terminal_chat, settings))
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    _ready(Settings())
    print("textbot: the database is at the newest schema")
    return 0


def _bench_engine(args: argparse.Namespace) -> int:
    if args.workers:
        from bot.bench.workers_bench import main as workers_main

        return workers_main(args)
    from bot.bench.engine_bench import main as bench_main

    return bench_main(args)


def _bench_turns(args: argparse.Namespace) -> int:
    from bot.bench.turns import main as turns_main

    return turns_main(args)


def _duet(args: argparse.Namespace) -> int:
    from bot.app import build_responder
    from bot.duet.cli import duet_command

    return duet_command(args, Settings(), build_responder, _with_llm)


def _bench_judge(args: argparse.Namespace) -> int:
    from bot.bench.judge_bench import main as judge_main
    from bot.logs import setup_logging

    setup_logging(Settings())  # the local model's one line, when it is started
    return judge_main(args)


def _bench_duet(args: argparse.Namespace) -> int:
    from bot.bench.duet import main as duet_bench_main

    if not args.model:
        return duet_bench_main(args)
    from bot.app import build_responder

    return duet_bench_main(args, build_responder, _with_llm)


def _timeline(args: argparse.Namespace) -> int:
    from bot.timeline.cli import timeline_command

    return timeline_command(args.platform, args.chat, args.thread, args.out, _ready(Settings(), write=False))


def _config(args: argparse.Namespace) -> int:
    from bot.config_cli import config_command

    return config_command(_ready(Settings()), args.platform, args.chat, args.thread, args.action, args.words)


def build_parser() -> argparse.ArgumentParser:
    """Every subcommand and its options."""
    parser = argparse.ArgumentParser(prog="textbot", description="A chat bot that texts like a person.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run every platform whose token is set (none: the local web chat)")
    run.add_argument("--workers", type=int, default=None, metavar="N",
                     help="run N worker processes sharing the chats (PostgreSQL only)")
    run.set_defaults(func=_run)
    sub.add_parser("chat", help="text the bot from this terminal").set_defaults(func=_chat)
    from bot.duet.cli import add_arguments as duet_arguments

    duet = sub.add_parser("duet", help="two personas text each other, without turns (seed 001)")
    duet_arguments(duet)
    duet.set_defaults(func=_duet)
    cfg = sub.add_parser("config", help="show or change one chat's timing and policies",
                         usage="textbot config show|set|reset --platform P --chat ID [--thread T] [FIELD VALUE]")
    cfg.add_argument("action", choices=["show", "set", "reset"])
    # FIELD VALUE for set (a timing field, persona, turn, interrupt or group) come after the options;
    # main() collects them, since argparse cannot mix them with a subcommand's options.
    cfg.add_argument("--platform", required=True, help="telegram, discord or web")
    cfg.add_argument("--chat", required=True, help="the chat's id on that platform")
    cfg.add_argument("--thread", default="", help="the thread or topic id, if any")
    cfg.set_defaults(func=_config)
    tl = sub.add_parser("timeline", help="draw a stored conversation's timeline as an SVG file")
    tl.add_argument("--platform", required=True, help="telegram, discord or web")
    tl.add_argument("--chat", required=True, help="the chat's id on that platform")
    tl.add_argument("--thread", default="", help="the thread or topic id, if any")
    tl.add_argument("--out", default="timeline.svg", help="where to write the SVG")
    tl.set_defaults(func=_timeline)
    db = sub.add_parser("db", help="the database").add_subparsers(dest="db", required=True)
    db.add_parser("upgrade", help="apply the migrations (textbot run does too)").set_defaults(func=_db_upgrade)
    bench = sub.add_parser("bench", help="benchmarks").add_subparsers(dest="bench", required=True)
    eng = bench.add_parser("engine", help="engine throughput, scheduling lateness and memory")
    eng.add_argument("--conversations", type=int, nargs="+", default=[1000, 10000])
    eng.add_argument("--rate", type=float, default=1000.0, help="human messages per second")
    eng.add_argument("--seconds", type=float, default=20.0, help="how long to send messages")
    eng.add_argument("--latency", type=float, default=0.5, help="stand-in LLM latency (s)")
    eng.add_argument("--workers", type=int, nargs="+", default=None, metavar="N",
                     help="split the traffic over N worker processes (one line per count)")
    eng.set_defaults(func=_bench_engine)
    turns = bench.add_parser("turns", help="replay real chat logs: talk-over rate and decision delay per policy")
    from bot.bench.turns import add_arguments

    add_arguments(turns)
    turns.set_defaults(func=_bench_turns)
    from bot.bench.duet import add_arguments as duet_bench_arguments

    duet_bench = bench.add_parser("duet", help="many short duets in virtual time: crossings per responder kind")
    duet_bench_arguments(duet_bench)
    duet_bench.set_defaults(func=_bench_duet)
    from bot.bench.judge_bench import add_arguments as judge_arguments

    judge = bench.add_parser("judge", help="the fast model on labelled interruptions: accuracy, confusion, latency")
    judge_arguments(judge)
    judge.set_defaults(func=_bench_judge)
    from bot.bench.duplex_cli import add_duplex_commands

    add_duplex_commands(bench)
    # Its options are parsed by the trainer itself (main() hands them over): --seed, --out, --json.
    bench.add_parser("train-turns", help="train the turn-end model on the chitchat train split (needs numpy)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and run the command; configuration errors are one clear line."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:2] == ["bench", "train-turns"]:
        from bot.bench.train_turns import main as train_main

        return train_main(argv[2:])
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "config":
        args.words = extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except ConfigError as exc:
        print(f"textbot: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:  # Settings() refused a variable
        print(f"textbot: {settings_problem(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
