"""`textbot run --workers 2`: two workers answer, one that dies is started again, SIGTERM stops them all."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from tests.process_kit import until
from tests.workers_kit import START_TIMEOUT, Worker, World, reply_of

pytest_plugins = ("tests.storage_kit", "tests.workers_kit")

CHATS = [301, 302, 303, 304]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_run_with_two_workers_answers_restarts_a_dead_worker_and_stops_them_all_on_sigterm(
    world: World,
) -> None:
    env = {k: v for k, v in world.env.items() if not k.startswith("DISCORD_")}  # Telegram is enough here
    env["OPENAI_BASE_URL"] = world.llms[0].url
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", "--workers", "2", cwd=world.cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    supervisor = Worker(-1, proc)
    world.workers.append(supervisor)

    def live_workers() -> list[tuple[object, ...]]:
        return world.rows("SELECT slot, pid FROM worker WHERE expires_at > extract(epoch from clock_timestamp()) "
                          "ORDER BY slot")

    await until(lambda: [slot for slot, _ in live_workers()] == [0, 1], "two workers", supervisor, START_TIMEOUT)
    await until(lambda: supervisor.logged("took the duty telegram-polling"), "a poller", supervisor, START_TIMEOUT)
    for chat in CHATS:
        world.telegram.push_message(chat, "hiii")
    await until(lambda: all(world.telegram.sent_texts(c) == reply_of(0) for c in CHATS), "the replies", supervisor)

    first = dict(live_workers())
    os.kill(int(str(first[1])), signal.SIGKILL)
    await until(lambda: supervisor.logged("worker 1 exited with -9; starting it again"), "the restart", supervisor)
    def worker_1_replaced() -> bool:
        rows = live_workers()  # one look: the killed worker's row may expire between two
        return [slot for slot, _ in rows] == [0, 1] and dict(rows)[1] != first[1]

    await until(worker_1_replaced, "worker 1 again", supervisor, START_TIMEOUT)
    pids = [int(str(pid)) for _, pid in live_workers()]

    proc.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(proc.wait(), timeout=30) == 0
    await asyncio.wait_for(supervisor.reader, timeout=10)
    assert not any(alive(pid) for pid in pids), "no worker outlives the supervisor"
    assert live_workers() == [], "each worker retired on the way out: its chats go on at once"
    assert all(world.telegram.sent_texts(c) == reply_of(0) for c in CHATS), "nothing more was said"
