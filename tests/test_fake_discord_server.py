"""The fake Discord server speaks the gateway and REST protocol the real discord.py client expects."""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest
from discord import app_commands

from tests.fakes.discord_connect import bot_intents, pointed_at, run_client
from tests.fakes.discord_payloads import ADMINISTRATOR
from tests.fakes.discord_server import FakeDiscordServer

GUILD, CHANNEL, THREAD, DM, HUMAN, OTHER = 10, 11, 12, 20, 501, 502
WAIT = 5.0


class Recorder(discord.Client):
    """A discord.py client whose event handlers queue what they receive."""

    def __init__(self) -> None:
        super().__init__(intents=bot_intents(), guild_ready_timeout=0.05)
        self.events: defaultdict[str, asyncio.Queue[tuple[Any, ...]]] = defaultdict(asyncio.Queue)

    async def next(self, event: str) -> tuple[Any, ...]:
        """Wait (bounded) for the next recorded ``event``."""
        return await asyncio.wait_for(self.events[event].get(), WAIT)

    async def on_message(self, message: discord.Message) -> None:
        """Record a message (the bot's own echoes too)."""
        self.events["message"].put_nowait((message,))

    async def on_typing(self, channel: Any, user: Any, when: Any) -> None:
        """Record a typing start with a resolved user."""
        self.events["typing"].put_nowait((channel, user, when))

    async def on_raw_typing(self, payload: discord.RawTypingEvent) -> None:
        """Record every typing start."""
        self.events["raw_typing"].put_nowait((payload,))

    async def on_message_edit(self, before: discord.Message, after: discord.Message) -> None:
        """Record an edit of a cached message."""
        self.events["message_edit"].put_nowait((before, after))

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        """Record a deletion."""
        self.events["raw_message_delete"].put_nowait((payload,))

    async def on_resumed(self) -> None:
        """Record a successful RESUME."""
        self.events["resumed"].put_nowait(())

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Record an interaction."""
        self.events["interaction"].put_nowait((interaction,))

    async def human_message(self) -> discord.Message:
        """Next message not written by the bot itself."""
        while True:
            (message,) = await self.next("message")
            assert isinstance(message, discord.Message)
            if message.author != self.user:
                return message


@pytest.fixture
async def server() -> AsyncIterator[FakeDiscordServer]:
    async with FakeDiscordServer() as fake:
        thread = {"id": THREAD, "type": 11, "parent_id": CHANNEL, "name": "side talk"}
        fake.add_guild(GUILD, "guild", [CHANNEL, thread], members=[HUMAN, OTHER])
        fake.add_dm_channel(DM, HUMAN)
        with pointed_at(fake.api_base, fake.gateway_url):
            yield fake


@pytest.fixture
async def bot(server: FakeDiscordServer) -> AsyncIterator[Recorder]:
    client = Recorder()
    task = await run_client(client, server.token, timeout=WAIT)
    yield client
    await client.close()
    await asyncio.wait_for(task, WAIT)


async def test_connect_reaches_ready_with_guilds_cached(
    server: FakeDiscordServer, bot: Recorder
) -> None:
    assert bot.user is not None and bot.user.id == server.application_id
    assert bot.application_id == server.application_id
    guild = bot.get_guild(GUILD)
    assert guild is not None and not guild.unavailable
    assert [c.id for c in guild.text_channels] == [CHANNEL]
    assert guild.owner_id == HUMAN and guild.me is not None
    assert [t.id for t in guild.threads] == [THREAD] and guild.threads[0].parent_id == CHANNEL
    assert math.isfinite(bot.latency)  # the first heartbeat was ACKed
    assert server.identify_count == 1 and server.resume_count == 0
    assert server.gateway_queries[0]["compress"] == "zlib-stream"  # answered zlib-compressed
    assert [c.path for c in server.calls[:2]] == ["/users/@me", "/oauth2/applications/@me"]


async def test_human_messages_reach_on_message(server: FakeDiscordServer, bot: Recorder) -> None:
    server.send_message(DM, HUMAN, "hey in a dm")
    dm = await bot.human_message()
    assert (dm.content, dm.author.id, dm.guild) == ("hey in a dm", HUMAN, None)
    assert isinstance(dm.channel, discord.DMChannel)

    assert bot.user is not None
    server.send_message(CHANNEL, HUMAN, f"<@{bot.user.id}> hi all")
    msg = await bot.human_message()
    assert msg.content == f"<@{bot.user.id}> hi all" and msg.guild is not None
    assert msg.guild.id == GUILD and bot.user in msg.mentions
    assert isinstance(msg.author, discord.Member)

    reply = server.send_message(CHANNEL, OTHER, "a reply", referenced_message_id=int(msg.id))
    got = await bot.human_message()
    assert got.id == int(reply["id"]) > msg.id > dm.id  # snowflakes increase
    assert got.reference is not None and got.reference.message_id == msg.id

    server.send_message(THREAD, HUMAN, "in a thread", attachments=[{"filename": "a.png"}])
    in_thread = await bot.human_message()
    assert isinstance(in_thread.channel, discord.Thread) and in_thread.channel.id == THREAD
    assert [a.filename for a in in_thread.attachments] == ["a.png"]


async def test_typing_start_reaches_typing_handlers(
    server: FakeDiscordServer, bot: Recorder
) -> None:
    server.start_typing(DM, HUMAN)
    server.start_typing(CHANNEL, HUMAN)
    (raw_dm,) = await bot.next("raw_typing")
    assert (raw_dm.channel_id, raw_dm.user_id, raw_dm.guild_id) == (DM, HUMAN, None)
    (raw_guild,) = await bot.next("raw_typing")
    assert raw_guild.guild_id == GUILD
    channel, user, _ = await bot.next("typing")
    # discord.py resolves on_typing's user from its cache; without the members intent a DM
    # author is never cached, so DMs only give on_raw_typing (guilds carry a member payload).
    assert (channel.id, user.id) == (CHANNEL, HUMAN)
    assert bot.events["typing"].empty()


async def test_send_and_typing_hit_rest(server: FakeDiscordServer, bot: Recorder) -> None:
    channel = bot.get_channel(CHANNEL)
    assert isinstance(channel, discord.TextChannel)
    human = server.send_message(CHANNEL, HUMAN, "question?")
    async with channel.typing():
        pass
    sent = await channel.send("answer", reference=channel.get_partial_message(int(human["id"])))
    [typing] = server.typing_calls(CHANNEL)
    [record] = server.sent_messages(CHANNEL)
    assert record["id"] == str(sent.id) and record["content"] == "answer"
    assert record["message_reference"]["message_id"] == human["id"]
    assert sent.reference is not None and sent.reference.message_id == int(human["id"])
    assert typing.at <= next(c.at for c in server.calls if c.path.endswith("/messages"))

    await sent.edit(content="better answer")
    assert server.sent_messages()[0]["content"] == "better answer"
    await sent.delete()
    assert server.sent_messages() == []
    assert len(server.sent_messages(include_deleted=True)) == 1

    dm = await bot.create_dm(discord.Object(HUMAN))
    assert dm.id == DM
    await dm.send("hi", nonce=7)
    await dm.send("hi", nonce=7)  # Discord deduplicates an enforced nonce
    assert [m["content"] for m in server.sent_messages(DM)] == ["hi"]


async def test_rate_limited_send_is_retried_and_delivered_once(
    server: FakeDiscordServer, bot: Recorder
) -> None:
    channel = bot.get_channel(CHANNEL)
    assert isinstance(channel, discord.TextChannel)
    server.rate_limit_next("POST", f"/channels/{CHANNEL}/messages", retry_after=0.2)
    for part in ("one", "two", "three"):
        await asyncio.wait_for(channel.send(part), WAIT)
    assert [m["content"] for m in server.sent_messages(CHANNEL)] == ["one", "two", "three"]
    posts = [c for c in server.calls if c.method == "POST" and c.path.endswith("/messages")]
    assert [c.status for c in posts] == [429, 200, 200, 200]
    assert [c.json["content"] for c in posts[:2]] == ["one", "one"]
    assert posts[1].at - posts[0].at >= 0.19


async def test_global_rate_limit_on_typing_is_retried(
    server: FakeDiscordServer, bot: Recorder
) -> None:
    channel = bot.get_channel(DM) or await bot.create_dm(discord.Object(HUMAN))
    assert isinstance(channel, discord.DMChannel)
    server.rate_limit_next("POST", f"/channels/{DM}/typing", retry_after=0.1, global_=True)
    await asyncio.wait_for(channel.typing(), WAIT)
    assert len(server.typing_calls(DM)) == 1
    assert [c.status for c in server.calls if c.path.endswith("/typing")] == [429, 204]


async def test_force_close_resumes_and_replays_missed_events(
    server: FakeDiscordServer, bot: Recorder
) -> None:
    server.send_message(DM, HUMAN, "before")
    assert (await bot.human_message()).content == "before"
    await server.force_close()
    server.send_message(DM, HUMAN, "during the gap")
    await bot.next("resumed")
    assert (await bot.human_message()).content == "during the gap"
    assert server.identify_count == 1 and server.resume_count == 1
    server.send_message(DM, HUMAN, "after")
    assert (await bot.human_message()).content == "after"


async def test_human_edit_and_delete_are_dispatched(
    server: FakeDiscordServer, bot: Recorder
) -> None:
    msg = server.send_message(CHANNEL, HUMAN, "typo")
    await bot.human_message()
    server.edit_message(int(msg["id"]), "fixed")
    before, after = await bot.next("message_edit")
    assert (before.content, after.content) == ("typo", "fixed")
    server.delete_message(int(msg["id"]))
    (deleted,) = await bot.next("raw_message_delete")
    assert deleted.message_id == int(msg["id"]) and deleted.cached_message is not None


async def test_slash_command_round_trip(server: FakeDiscordServer) -> None:
    client = Recorder()
    tree = app_commands.CommandTree(client)
    handled: asyncio.Queue[tuple[str, bool]] = asyncio.Queue()

    @tree.command(name="reset", description="Forget this conversation")
    async def reset(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("forgotten", ephemeral=True)
        await interaction.followup.send("really")
        handled.put_nowait((interaction.user.name, interaction.permissions.administrator))

    task = await run_client(client, server.token, timeout=WAIT)
    try:
        assert [c.name for c in await tree.sync()] == ["reset"]  # global bulk overwrite
        tree.copy_global_to(guild=discord.Object(GUILD))
        synced = await tree.sync(guild=discord.Object(GUILD))
        assert [c.name for c in synced] == ["reset"] and synced[0].guild_id == GUILD
        assert server.commands[GUILD][0]["id"] == str(synced[0].id)
        assert [c.name for c in await tree.fetch_commands(guild=discord.Object(GUILD))] == ["reset"]

        server.send_interaction("reset", HUMAN, CHANNEL, permissions=ADMINISTRATOR)
        (interaction,) = await client.next("interaction")
        assert interaction.guild_id == GUILD and interaction.channel_id == CHANNEL
        assert await asyncio.wait_for(handled.get(), WAIT) == ("user501", True)
        callback, followup = server.interaction_responses()
        assert callback.path == f"/interactions/{interaction.id}/{interaction.token}/callback"
        assert callback.json["type"] == 4 and callback.json["data"]["content"] == "forgotten"
        assert callback.json["data"]["flags"] & 64  # ephemeral
        assert followup.path == f"/webhooks/{server.application_id}/{interaction.token}"
        assert followup.json["content"] == "really"

        server.send_interaction("reset", OTHER, DM)  # in a DM: a user, no member or permissions
        (in_dm,) = await client.next("interaction")
        assert in_dm.guild_id is None and in_dm.user.id == OTHER
        assert await asyncio.wait_for(handled.get(), WAIT) == ("user502", False)
    finally:
        await client.close()
        await asyncio.wait_for(task, WAIT)


async def test_wrong_token_fails_login_and_calls_use_the_given_clock() -> None:
    async with FakeDiscordServer(now=lambda: 42.0) as fake:
        with pointed_at(fake.api_base, fake.gateway_url):
            client = Recorder()
            with pytest.raises(discord.LoginFailure):
                await client.login("not-the-token")
            await client.close()
    assert [(c.path, c.status, c.at) for c in fake.calls] == [("/users/@me", 401, 42.0)]
