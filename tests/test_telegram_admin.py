"""Commands on Telegram: the menus, who may tune a chat, and what tuning changes."""

from __future__ import annotations

import json

from bot.core.commands import REFUSAL
from bot.core.events import ConversationKey
from tests.telegram_kit import ALICE, BOB, DM, GROUP, TelegramScene

GROUP_KEY = ConversationKey("telegram", str(GROUP))
OTHER_GROUP = -200


def menu(tg: TelegramScene, scope: dict[str, object]) -> list[str]:
    return [c["command"] for c in tg.server.commands.get((json.dumps(scope, sort_keys=True), ""), [])]


async def test_menus_public_for_everyone_full_for_admins() -> None:
    async with TelegramScene(admins=f"telegram:{DM},discord:5") as tg:
        assert menu(tg, {"type": "default"}) == ["start", "help", "reset", "forget"]
        full = ["start", "help", "reset", "forget", "timing", "persona", "policy"]
        assert menu(tg, {"type": "all_chat_administrators"}) == full
        assert menu(tg, {"type": "chat", "chat_id": DM}) == full, "ADMIN_USER_IDS see it in their DMs"


async def test_start_and_help_are_answered_in_persona() -> None:
    async with TelegramScene() as tg:
        assert await tg.command(DM, "/start") == ["heyyy 👋 just text me whenever"]
        await tg.clock.advance(2)
        (help_line,) = await tg.command(DM, "/help")
        assert help_line == "just text me lol, send as many msgs as u want, i'll wait till ur done"


async def test_group_admin_sets_debounce_and_the_next_burst_waits_that_long() -> None:
    async with TelegramScene(script=lambda r: ["hey!"]) as tg:
        tg.server.set_admins(GROUP, [ALICE])
        assert await tg.command(GROUP, "/timing set debounce 7", user_id=ALICE) == ["debounce set to 7"]
        (answer,) = tg.sends(GROUP)
        assert answer.params["reply_parameters"]["message_id"] == answer.result["reply_to_message"]["message_id"]
        await tg.clock.advance(5)
        start = tg.clock.now()
        await tg.says(GROUP, "@textbot_bot you there?", user_id=BOB)
        await tg.says(OTHER_GROUP, "@textbot_bot you there?", user_id=BOB)  # untouched: persona timing
        await tg.until_sent(GROUP, 2)
        await tg.until_sent(OTHER_GROUP, 1)
    assert tg.server.chat_actions(OTHER_GROUP)[0].at < start + 7
    assert tg.server.chat_actions(GROUP)[0].at >= start + 7


async def test_non_admin_is_refused_and_nothing_changes() -> None:
    async with TelegramScene() as tg:
        tg.server.set_admins(GROUP, [ALICE])
        assert await tg.command(GROUP, "/timing set debounce 7", user_id=BOB) == [REFUSAL]
        assert await tg.command(GROUP, "/reset", user_id=BOB) == [REFUSAL]
        assert (await tg.store.load(GROUP_KEY)).overrides == {}
        await tg.clock.advance(2)
        (shown,) = await tg.command(GROUP, "/timing show", user_id=ALICE)
        assert "debounce = 2.5 (persona sunny)" in shown


async def test_invalid_value_gets_the_validation_message() -> None:
    async with TelegramScene() as tg:
        tg.server.set_admins(GROUP, [ALICE])
        assert await tg.command(GROUP, "/timing set wpm 1000", user_id=ALICE) == [
            "words per minute must be between 5 and 400"]
        assert (await tg.store.load(GROUP_KEY)).overrides == {}


async def test_in_dms_only_admin_user_ids_may_tune_and_botname_suffixes_are_understood() -> None:
    async with TelegramScene(admins=f"telegram:{DM}") as tg:
        assert await tg.command(DM, "/timing@textbot_bot set wpm 300") == ["wpm set to 300"]
        await tg.clock.advance(2)
        (shown,) = await tg.command(DM, "/timing show")
        assert "wpm = 300 (override)" in shown
        assert "turn policy = adaptive (persona sunny)" in shown, "no typing signal: the persona's `turn` policy"
        assert await tg.command(43, "/timing set wpm 300") == [REFUSAL]
        assert not tg.server.calls_of("getChatAdministrators"), "a DM has no admins to ask about"


async def test_group_admins_are_asked_once_and_cached_briefly() -> None:
    async with TelegramScene() as tg:
        tg.server.set_admins(GROUP, [ALICE])
        await tg.command(GROUP, "/policy group score", user_id=ALICE)
        await tg.clock.advance(2)
        await tg.command(GROUP, "/persona", user_id=ALICE)
        assert len(tg.server.calls_of("getChatAdministrators")) == 1
        await tg.clock.advance(120)
        await tg.command(GROUP, "/timing show", user_id=ALICE)
        assert len(tg.server.calls_of("getChatAdministrators")) == 2


async def test_commands_for_other_bots_are_left_alone_in_groups_and_unknown_ones_get_usage_in_dms() -> None:
    async with TelegramScene() as tg:
        assert await tg.command(GROUP, "/timing@other_bot show", user_id=ALICE) == []
        assert await tg.command(GROUP, "/weather", user_id=ALICE) == []
        (usage,) = await tg.command(DM, "/weather")
        assert usage.startswith("commands:")
