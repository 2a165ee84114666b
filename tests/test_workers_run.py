"""Three `textbot run` workers on one PostgreSQL share the chats; one dies and its chats are answered once by another.

Real processes against the local Telegram server, the local Discord gateway (one shard per worker)
and one local OpenAI server per worker, whose reply names the worker ("w1 here", "all good").
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections import Counter

import pytest

from tests.process_kit import until
from tests.workers_kit import CHANNEL_OF_SHARD, GUILD_OF_SHARD, WORKERS, World, reply_of

pytest_plugins = ("tests.storage_kit", "tests.workers_kit")

TELEGRAM_CHATS = list(range(101, 113))  # twelve DMs: rendezvous hashing spreads them over the workers
DISCORD_DMS = {600 + i: 500 + i for i in range(1, 7)}  # channel -> the human; DMs all arrive on shard 0


def answered_by(texts: list[str]) -> int | None:
    """The worker whose one reply these texts are, or None if they are not exactly one whole reply."""
    return next((w for w in range(WORKERS) if texts == reply_of(w)), None)


def owners(world: World, platform: str) -> dict[str, int]:
    """Chat id -> the slot of the worker whose lease holds it."""
    rows = world.rows("SELECT l.name, w.slot FROM lease l JOIN worker w ON w.id = l.worker_id "
                      f"WHERE l.name LIKE '[\"{platform}\"%'")
    return {str(name).split('"')[3]: int(str(slot)) for name, slot in rows}


async def test_three_workers_share_the_chats_and_each_chat_is_answered_by_one_worker_only(world: World) -> None:
    workers = await world.start_all()
    for chat in TELEGRAM_CHATS:
        world.telegram.push_message(chat, "hey")
        world.telegram.push_message(chat, "you up?")
    for channel, human in DISCORD_DMS.items():
        world.discord.add_dm_channel(channel, human)
        world.discord.send_message(channel, human, "yo")
    for shard in range(WORKERS):
        world.discord.send_message(CHANNEL_OF_SHARD[shard], 900 + shard, "sunny, you around?",
                                   guild_id=GUILD_OF_SHARD[shard])

    def everyone_answered() -> bool:
        return (all(len(world.telegram.sent_texts(c)) >= 2 for c in TELEGRAM_CHATS)
                and all(len(world.discord_texts(c)) >= 2 for c in [*DISCORD_DMS, *CHANNEL_OF_SHARD.values()]))

    await until(everyone_answered, "every chat's reply", workers[0])
    await asyncio.sleep(1.0)  # a second reply or a repeated part would show up by now

    telegram = {chat: answered_by(world.telegram.sent_texts(chat)) for chat in TELEGRAM_CHATS}
    dms = {channel: answered_by(world.discord_texts(channel)) for channel in DISCORD_DMS}
    servers = {shard: answered_by(world.discord_texts(CHANNEL_OF_SHARD[shard])) for shard in range(WORKERS)}
    assert None not in [*telegram.values(), *dms.values(), *servers.values()], "each chat: one whole reply, once"
    assert telegram == {int(chat): slot for chat, slot in owners(world, "telegram").items()}, "its lease holder"
    assert servers == {0: 0, 1: 1, 2: 2}, "a server's channel is answered by the worker of its shard"
    assert len(set(telegram.values())) > 1, "the one polling worker hands chats on to the others"
    assert sum(llm.request_count for llm in world.llms) == len(TELEGRAM_CHATS) + len(DISCORD_DMS) + WORKERS
    assert world.rows("SELECT count(*) FROM handover") == [(0,)], "every hand-over was taken"

    # A slash command in a DM reaches shard 0's worker; the chat's owner carries it out and answers it.
    asked = {channel: world.discord.send_interaction("reset", human, channel) for channel, human in DISCORD_DMS.items()}
    paths = {c: f"/webhooks/{world.discord.application_id}/{a['token']}/messages/@original" for c, a in asked.items()}

    def answers(channel: int) -> list[str]:
        return [str(c.json["content"]) for c in world.discord.calls if c.path == paths[channel] and c.method == "PATCH"]

    await until(lambda: all(answers(c) for c in DISCORD_DMS), "the slash commands' answers", workers[0])
    await asyncio.sleep(1.0)
    assert {c: answers(c) for c in DISCORD_DMS} == {c: ["ok clean slate ✨"] for c in DISCORD_DMS}, \
        "carried out by the chat's owner and answered once, never the receiver's 'sorry, that didn't work'"


@pytest.mark.parametrize("victim_is", ["a worker that owns chats", "the worker that polls Telegram"])
async def test_a_worker_killed_mid_burst_has_its_chats_answered_once_by_another(world: World, victim_is: str) -> None:
    workers = await world.start_all()
    poller = next(w.slot for w in workers if w.logged("took the duty telegram-polling"))
    for chat in TELEGRAM_CHATS:
        world.telegram.push_message(chat, "so about tonight")
    for shard in range(WORKERS):
        world.discord.send_message(CHANNEL_OF_SHARD[shard], 900 + shard, "sunny, quick question",
                                   guild_id=GUILD_OF_SHARD[shard])

    def first_halves_stored() -> bool:
        stored = world.rows("SELECT count(*) FROM message WHERE direction = 'human'")
        return stored == [(len(TELEGRAM_CHATS) + WORKERS,)]

    await until(first_halves_stored, "the first half of every burst stored", workers[0])
    held = owners(world, "telegram")
    if victim_is == "the worker that polls Telegram":
        victim = poller
    else:
        victim = max((w for w in range(WORKERS) if w != poller), key=lambda w: list(held.values()).count(w))
        assert [chat for chat, slot in held.items() if slot == victim], "the worker to kill owns some chats"
    await workers[victim].kill()
    for chat in TELEGRAM_CHATS:  # the rest of each burst, while the victim's leases have not expired yet
        world.telegram.push_message(chat, "are you coming or not")

    def all_answered() -> bool:
        return (all(len(world.telegram.sent_texts(c)) >= 2 for c in TELEGRAM_CHATS)
                and len(world.discord_texts(CHANNEL_OF_SHARD[victim])) >= 2)

    survivor = workers[(victim + 1) % WORKERS]
    await until(all_answered, "every chat answered, the dead worker's too", survivor)
    await asyncio.sleep(1.0)  # a second reply or a repeated part would show up by now

    for chat in TELEGRAM_CHATS:
        who = answered_by(world.telegram.sent_texts(chat))
        assert who is not None, f"chat {chat}: one whole reply, no part twice: {world.telegram.sent_texts(chat)}"
        assert who != victim, f"chat {chat} was answered after its worker died, by another"
    assert answered_by(world.discord_texts(CHANNEL_OF_SHARD[victim])) not in (None, victim), \
        "the message its shard received before it died is answered by another worker"
    humans = world.rows("SELECT text, state FROM message WHERE direction = 'human' ORDER BY id")
    assert len(humans) == 2 * len(TELEGRAM_CHATS) + WORKERS, "nothing lost, nothing stored twice"
    assert Counter(state for _, state in humans) == {"answered": len(humans)}
    assert any(w.logged("took over") for w in workers if w.slot != victim)
    if victim == poller:
        assert any(w.logged("took the duty telegram-polling") for w in workers if w.slot != victim)


async def test_a_frozen_worker_that_wakes_after_its_chats_moved_on_neither_sends_nor_answers_them(world: World) -> None:
    workers = await world.start_all()
    poller = next(w.slot for w in workers if w.logged("took the duty telegram-polling"))
    for chat in TELEGRAM_CHATS:
        world.telegram.push_message(chat, "so about tonight")
    await until(lambda: world.rows("SELECT count(*) FROM message WHERE direction = 'human'") == [(12,)],
                "every first message stored", workers[poller])
    held = owners(world, "telegram")
    frozen = max((w for w in range(WORKERS) if w != poller), key=lambda w: list(held.values()).count(w))
    its_chats = [int(chat) for chat, slot in held.items() if slot == frozen]
    assert its_chats, "the worker to freeze owns some chats"
    workers[frozen].proc.send_signal(signal.SIGSTOP)  # a frozen VM: no heartbeat, no crash
    others = [w for w in workers if w.slot != frozen]
    await until(lambda: sum("took over telegram" in line for w in others for line in w.log) >= len(its_chats),
                "its chats taken over", workers[poller])
    workers[frozen].proc.send_signal(signal.SIGCONT)  # it wakes with its reply timers about to fire
    await until(lambda: all(len(world.telegram.sent_texts(c)) >= 2 for c in TELEGRAM_CHATS), "every reply",
                workers[poller])
    await until(lambda: workers[frozen].logged("drops its conversations"), "the frozen one to notice", workers[frozen])
    await asyncio.sleep(1.0)  # a second reply or a repeated part would show up by now

    for chat in TELEGRAM_CHATS:
        who = answered_by(world.telegram.sent_texts(chat))
        assert who is not None, f"chat {chat}: one whole reply: {world.telegram.sent_texts(chat)}"
        assert who != frozen or chat not in its_chats, f"chat {chat} moved on: its old worker stayed silent"
    humans = world.rows("SELECT state FROM message WHERE direction = 'human'")
    assert humans == [("answered",)] * len(TELEGRAM_CHATS)


async def test_two_workers_on_sqlite_are_refused_in_one_line(world: World) -> None:
    env = dict(world.env, DATABASE_URL=f"sqlite:///{world.cwd / 'bot.db'}")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", "--workers", "2", cwd=world.cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)

    assert proc.returncode == 2
    assert out == b""
    assert err.decode().splitlines() == [
        "textbot: 2 workers need PostgreSQL (DATABASE_URL=postgresql://user@host/db); SQLite serves one worker: "
        "run textbot without --workers, or with WORKER_COUNT=1"]
    assert not (world.cwd / "bot.db").exists(), "refused before the database was touched"
