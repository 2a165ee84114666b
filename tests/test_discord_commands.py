"""Slash commands on Discord: who may run them, what they answer, and that the change takes effect."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from bot.core.commands import REFUSAL
from bot.core.events import ConversationKey
from tests.discord_scene import ADMIN, CHANNEL, DM, HUMAN, MANAGE_GUILD, OTHER, OTHER_DM, DiscordScene, scenes
from tests.fakes.discord_payloads import ADMINISTRATOR, JSON

make_scene = pytest.fixture(scenes)
Make = Callable[..., Awaitable[DiscordScene]]
IN_CHANNEL = ConversationKey("discord", str(CHANNEL))


def timing_set(field: str, value: str) -> list[JSON]:
    """The options Discord sends for `/timing set field:<field> value:<value>`."""
    return [{"type": 1, "name": "set", "options": [
        {"type": 3, "name": "field", "value": field}, {"type": 3, "name": "value", "value": value}]}]


def sub(name: str) -> list[JSON]:
    """The options of a bare subcommand, e.g. `/timing show`."""
    return [{"type": 1, "name": name, "options": []}]


async def test_the_commands_are_registered_globally_with_choices(make_scene: Make) -> None:
    chat = await make_scene()
    registered = {c["name"]: c for c in chat.server.commands[None]}
    assert set(registered) == {"reset", "forget", "timing", "persona", "policy"}
    [which] = registered["forget"]["options"]
    assert (which["name"], which["type"], which.get("required", False)) == ("which", 3, False)
    timing_set_cmd = next(o for o in registered["timing"]["options"] if o["name"] == "set")
    field = next(o for o in timing_set_cmd["options"] if o["name"] == "field")
    assert [c["value"] for c in field["choices"]] == ["debounce", "max_wait", "wpm", "read_delay",
                                                       "part_pause", "max_parts", "judge_timeout",
                                                       "group_cooldown", "group_max_per_hour",
                                                       "silence_tick", "duplex_max_calls"]
    kind, name = registered["policy"]["options"]
    assert [c["value"] for c in kind["choices"]] == ["turn", "interrupt", "group", "responder"] and name["autocomplete"]


async def test_reset_in_a_server_is_for_admins_and_in_a_dm_for_anyone(make_scene: Make) -> None:
    chat = await make_scene(script=lambda r: [f"{len(r.history)} lines of history"])
    await chat.says(f"<@{chat.bot_id}> remember me?", CHANNEL)
    await chat.until_quiet()

    assert await chat.slash("reset", OTHER, CHANNEL) == REFUSAL
    assert (await chat.store.load(IN_CHANNEL)).history, "a refused reset forgets nothing"
    assert await chat.slash("reset", HUMAN, CHANNEL, permissions=MANAGE_GUILD) == "ok clean slate ✨"
    assert (await chat.store.load(IN_CHANNEL)).history == []
    await chat.says(f"<@{chat.bot_id}> and now?", CHANNEL)
    await chat.until_quiet()
    assert chat.bot_texts(CHANNEL) == ["0 lines of history", "0 lines of history"]

    assert await chat.slash("reset", OTHER, OTHER_DM) == "ok clean slate ✨"
    deferred = [c for c in chat.server.calls if c.path.endswith("/callback")]
    assert all(c.json["type"] == 5 and c.json["data"]["flags"] & 64 for c in deferred), "answers are ephemeral"


async def test_an_admin_sets_the_debounce_and_the_next_burst_is_timed_by_it(make_scene: Make) -> None:
    chat = await make_scene(script=lambda r: ["yo"])
    assert await chat.slash("policy", HUMAN, CHANNEL, permissions=ADMINISTRATOR, options=[
        {"type": 3, "name": "kind", "value": "turn"}, {"type": 3, "name": "name", "value": "fixed"}],
    ) == "turn policy set to fixed"
    said = await burst_reply_delay(chat)
    assert 2.5 <= said < 4, "the persona's own debounce (2.5 s) at first"

    answer = await chat.slash("timing", HUMAN, CHANNEL, permissions=MANAGE_GUILD, options=timing_set("debounce", "8"))
    assert answer == "debounce set to 8"
    assert "debounce = 8 (override)" in await chat.slash("timing", HUMAN, CHANNEL, permissions=MANAGE_GUILD,
                                                         options=sub("show"))
    said = await burst_reply_delay(chat)
    assert 8 <= said < 9.5, "the next burst waits the new debounce"


async def burst_reply_delay(chat: DiscordScene) -> float:
    """Mention the bot once; seconds from the message until the bot started typing its answer."""
    typed = len(chat.typing_at(CHANNEL))
    await chat.says(f"<@{chat.bot_id}> you there", CHANNEL)
    start = chat.clock.now()
    await chat.until_quiet()
    return chat.typing_at(CHANNEL)[typed] - start


async def test_invalid_values_and_non_admins_are_refused_and_nothing_changes(make_scene: Make) -> None:
    chat = await make_scene()
    assert await chat.slash("timing", ADMIN, DM, options=timing_set("wpm", "1000")) == (
        "words per minute must be between 5 and 400")
    assert await chat.slash("timing", ADMIN, DM, options=timing_set("debounce", "soon")) == (
        "debounce must be between 0 and 120 seconds")
    assert await chat.slash("timing", HUMAN, CHANNEL, permissions=MANAGE_GUILD,
                            options=timing_set("wpm", "120")) == "wpm set to 120"
    before = (await chat.store.load(IN_CHANNEL)).overrides

    assert await chat.slash("timing", OTHER, CHANNEL, options=timing_set("wpm", "300")) == REFUSAL
    assert await chat.slash("timing", OTHER, CHANNEL, options=sub("reset")) == REFUSAL
    assert await chat.slash("timing", OTHER, OTHER_DM, options=timing_set("wpm", "300")) == REFUSAL, (
        "in a DM only ADMIN_USER_IDS may")
    assert (await chat.store.load(IN_CHANNEL)).overrides == before == {"timing": {"wpm": 120.0}}
    assert (await chat.store.load(ConversationKey("discord", str(OTHER_DM)))).overrides == {}


async def test_persona_lists_and_switches_for_admins_in_ADMIN_USER_IDS(make_scene: Make) -> None:
    chat = await make_scene()
    assert await chat.slash("persona", ADMIN, CHANNEL) == "personas: sage, sunny (current)"
    assert await chat.slash("persona", ADMIN, CHANNEL, options=[
        {"type": 3, "name": "name", "value": "sage"}]) == "persona set to sage"
    assert await chat.slash("persona", ADMIN, CHANNEL, options=[
        {"type": 3, "name": "name", "value": "grumpy"}]) == "unknown persona 'grumpy'; choose from sage, sunny"


async def test_policy_names_autocomplete_for_the_chosen_kind(make_scene: Make) -> None:
    chat = await make_scene()
    choices = await autocomplete(chat, "policy", [
        {"type": 3, "name": "kind", "value": "interrupt"},
        {"type": 3, "name": "name", "value": "re", "focused": True}])
    assert choices == ["revise"]
    assert await autocomplete(chat, "persona", [{"type": 3, "name": "name", "value": "", "focused": True}]) == [
        "sage", "sunny"]


async def autocomplete(chat: DiscordScene, name: str, options: list[JSON]) -> list[str]:
    """Send an autocomplete interaction (type 4) from a DM; the names the bot suggests."""
    iid = 7_000_000 + len(chat.server.interactions)
    user = chat.server.user(ADMIN)
    command = next(c for c in chat.server.commands[None] if c["name"] == name)
    data: JSON = {
        "id": str(iid), "application_id": str(chat.server.application_id), "type": 4, "token": f"ac-{iid}",
        "version": 1, "channel_id": str(DM), "locale": "en-US", "app_permissions": "0", "entitlements": [],
        "attachment_size_limit": 10_485_760,
        "data": {"id": command["id"], "name": name, "type": 1, "options": options},
        "user": user, "context": 1, "channel": {"id": str(DM), "type": 1, "recipients": [user]},
    }
    chat.server.interactions[iid] = data
    chat.server.dispatch("INTERACTION_CREATE", data)
    path = f"/interactions/{iid}/ac-{iid}/callback"
    await chat.real_wait(lambda: any(c.path == path for c in chat.server.calls))
    call = next(c for c in chat.server.calls if c.path == path)
    assert call.json["type"] == 8
    return [c["value"] for c in call.json["data"]["choices"]]
