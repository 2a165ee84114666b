"""Telegram: the human texts again while the bot answers, and the fast model judges what to do (seed 000).

The bot runs on the fake Telegram in virtual time; the judge is the real openai client against the local
Chat Completions server, which scripts each choice. The reply itself comes from the scripted responder.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.core.events import ConversationKey
from bot.core.ports import NewMessages, ReplyRequest
from bot.testing import ScriptedResponder, unanswered_texts
from tests.fakes.openai_answers import Answer
from tests.judge_kit import (
    MALFORMED,
    FastModel,
    fast_model,
    joins,
    judge_requests,
    late,
    question,
    rules,
    tool_of,
    traced,
)
from tests.telegram_kit import ALICE, BOB, DM, GROUP, TelegramScene, dm_key

ASKED = "did u see the game last night?"
PARTS = ["omg yes", "that last goal", "insane"]
GROUP_KEY = ConversationKey("telegram", str(GROUP))


def script(request: ReplyRequest) -> list[str]:
    said = unanswered_texts(request)
    return PARTS if said == [ASKED] else ["re: " + " / ".join(said)]


fast = pytest.fixture(fast_model)


async def judged_scene(fast: FastModel, **kwargs: object) -> TelegramScene:
    tg = TelegramScene(script=script, admins=f"telegram:{DM}", judge=fast.judge, **kwargs)  # type: ignore[arg-type]
    await tg.start()
    assert await tg.command(DM, "/policy interrupt judge") == ["interrupt policy set to judge"]
    return tg


async def interrupted(tg: TelegramScene, *new: str) -> None:
    """The human asks, the first part arrives, and they text again while the second is being typed."""
    await tg.says(DM, ASKED)
    await tg.clock.run_until(lambda: PARTS[0] in tg.server.sent_texts(DM))
    for text in new:
        await tg.says(DM, text)


def seen(tg: TelegramScene) -> list[str]:
    """What the human saw of the bot's replies (from the first part on, after the commands' answers)."""
    texts = tg.server.sent_texts(DM)
    return texts[texts.index(PARTS[0]):]


async def until_seen(tg: TelegramScene, count: int) -> list[str]:
    """Let virtual time pass until the human saw `count` reply messages, and a minute more."""
    await tg.clock.run_until(lambda: PARTS[0] in tg.server.sent_texts(DM) and len(seen(tg)) >= count, limit=120)
    await tg.clock.advance(60)
    return seen(tg)


async def test_restart_drops_the_held_parts_and_answers_everything_afresh(fast: FastModel) -> None:
    fast.server.replies(rules("restart", "they changed what they are asking"))
    tg = await judged_scene(fast)
    try:
        await interrupted(tg, "wait no i meant the concert")
        assert await until_seen(tg, 2) == ["omg yes", "re: wait no i meant the concert"]
        assert not tg.attempts("that last goal"), "the held part never reached Telegram"
        [asked] = judge_requests(fast.server)
        assert '- "omg yes"' in question(asked) and '- "that last goal"' in question(asked)
        assert "wait no i meant the concert" in question(asked)
        [verdict] = await traced(tg.store, dm_key(), "interrupt")
        assert verdict | {"seconds": 0} == {"decision": "restart", "reason": "they changed what they are asking",
                                            "by": "judge", "applied": "revise", "seconds": 0}
    finally:
        await tg.close()


async def test_ignore_sends_the_held_parts_and_the_new_message_gets_no_answer_of_its_own(
        fast: FastModel) -> None:
    fast.server.replies(rules("ignore", "just a reaction"))
    tg = await judged_scene(fast)
    try:
        await interrupted(tg, "lmaooo")
        assert await until_seen(tg, 3) == PARTS
        assert len(tg.scripted.requests) == 1, "nothing more was generated for the reaction"
        stored = await tg.store.load(dm_key())
        assert stored.pending == [], "the reaction counts as answered"
        assert [line.text for line in stored.history][-4:] == ["omg yes", "lmaooo", "that last goal", "insane"]
    finally:
        await tg.close()


async def test_continue_sends_the_held_parts_then_answers_the_new_message(fast: FastModel) -> None:
    fast.server.replies(rules("continue", "a separate question"))
    tg = await judged_scene(fast)
    try:
        await interrupted(tg, "also r u free saturday?")
        assert await until_seen(tg, 4) == [*PARTS, "re: also r u free saturday?"]
        assert [unanswered_texts(r) for r in tg.scripted.requests] == [[ASKED], ["also r u free saturday?"]]
    finally:
        await tg.close()


async def test_defer_holds_until_the_burst_ends_then_the_model_decides_again(fast: FastModel) -> None:
    fast.server.replies(rules("defer", "they are mid-thought"), rules("restart", "now it is a new question"))
    tg = await judged_scene(fast)
    try:
        await interrupted(tg, "but")
        await tg.clock.advance(1.0)
        await tg.says(DM, "like")
        await tg.clock.advance(1.0)
        await tg.says(DM, "who even won??")
        assert await until_seen(tg, 2) == ["omg yes", "re: but / like / who even won??"]
        first, second = judge_requests(fast.server)
        assert "You chose defer" not in question(first) and "Alice: but" in question(first)
        assert "You chose defer a moment ago" in question(second) and "who even won??" in question(second)
        offered = [tool_of(r)["function"]["parameters"]["properties"]["choice"]["enum"] for r in (first, second)]
        assert offered == [["restart", "ignore", "continue", "defer"], ["restart", "ignore", "continue"]]
        decisions = [(v["decision"], v["applied"]) for v in await traced(tg.store, dm_key(), "interrupt")]
        assert decisions == [("defer", "defer"), ("restart", "revise")]
    finally:
        await tg.close()


@dataclass
class ListeningResponder(ScriptedResponder):
    """A reply session that takes new messages in as it goes (an action session's way)."""

    listens = True


async def test_relay_hands_the_new_message_to_a_session_that_listens(fast: FastModel) -> None:
    fast.server.replies(rules("relay", "the session can take it in"))
    tg = TelegramScene(admins=f"telegram:{DM}", judge=fast.judge)
    tg.responder = ListeningResponder(tg.clock, script=script)
    await tg.start()
    try:
        assert await tg.command(DM, "/policy interrupt judge") == ["interrupt policy set to judge"]
        await interrupted(tg, "the ref was awful tho")
        assert await until_seen(tg, 3) == PARTS
        [session] = tg.responder.feeds
        heard = [item for item in session.take() if isinstance(item, NewMessages)]
        assert [line.text for item in heard for line in item.lines] == ["the ref was awful tho"]
        assert (await tg.store.load(dm_key())).pending == [], "the session covers the relayed message"
    finally:
        await tg.close()


async def test_relay_is_not_offered_to_a_session_that_does_not_listen_and_if_chosen_the_defer_rule_decides(
        fast: FastModel) -> None:
    fast.server.replies(rules("relay", "hand it over"))
    tg = await judged_scene(fast)
    try:
        await interrupted(tg, "the ref was awful tho")
        assert await until_seen(tg, 2) == ["omg yes", "re: the ref was awful tho"]
        verdicts = await traced(tg.store, dm_key(), "interrupt")
        assert [(v["decision"], v["by"]) for v in verdicts] == [("defer", "defer rule"), ("revise", "defer rule")]
        assert verdicts[0]["reason"].startswith("malformed answer: choice 'relay' is not one of")
        [asked] = judge_requests(fast.server)
        assert "relay" not in tool_of(asked)["function"]["parameters"]["properties"]["choice"]["enum"]
    finally:
        await tg.close()


async def test_no_answer_within_judge_timeout_means_the_defer_rule_and_the_late_answer_is_dropped(
        fast: FastModel) -> None:
    fast.server.reply_with(late(rules("restart"), real_seconds=1.0))
    tg = await judged_scene(fast)
    try:
        assert await tg.command(DM, "/timing set judge_timeout 0.2") == ["judge_timeout set to 0.2"]
        await interrupted(tg, "lol")
        assert await until_seen(tg, 4) == [*PARTS, "re: lol"], "a reaction: the rule finishes the reply"
        verdicts = await traced(tg.store, dm_key(), "interrupt")
        assert verdicts[0]["by"] == "defer rule" and verdicts[0]["reason"] == "no answer within 0.2 s"
        assert {v["by"] for v in verdicts} == {"defer rule"}, "the model's late restart changed nothing"
    finally:
        await tg.close()


@pytest.mark.parametrize("answer", MALFORMED.values(), ids=MALFORMED.keys())
async def test_a_malformed_answer_means_the_defer_rule(fast: FastModel, answer: Answer) -> None:
    fast.server.replies(answer)
    tg = await judged_scene(fast)
    try:
        await interrupted(tg, "wait who scored")
        assert await until_seen(tg, 2) == ["omg yes", "re: wait who scored"], "the rule revises for words"
        [verdict, *_] = await traced(tg.store, dm_key(), "interrupt")
        assert verdict["by"] == "defer rule" and verdict["reason"].startswith("malformed answer")
    finally:
        await tg.close()


async def test_in_a_group_the_fast_model_decides_whether_to_join_in_and_another_bot_is_only_context(
        fast: FastModel) -> None:
    fast.server.replies(joins("ignore", "two friends making plans"), joins("respond", "a question to everyone"))
    tg = TelegramScene(script=lambda r: [f"ooh {unanswered_texts(r)[-1]}"], judge=fast.judge)
    await tg.store.save_overrides(GROUP_KEY, {"group": "judge"})
    await tg.start()
    try:
        await tg.says(GROUP, "did u book the table", user_id=ALICE, first_name="Alice")
        await tg.clock.advance(60)
        tg.server.users[99] = {"id": 99, "is_bot": True, "first_name": "Quizbot"}
        tg.server.push_update({"message": {
            "message_id": 500, "date": 0, "text": "@textbot_bot question 3: capital of peru?",
            "chat": {"id": GROUP, "type": "group", "title": "G"}, "from": tg.server.users[99],
            "entities": [{"type": "mention", "offset": 0, "length": 12}]}})
        await tg.handled()
        await tg.clock.advance(60)
        assert tg.server.sent_texts(GROUP) == [] and len(judge_requests(fast.server, "decide_group")) == 1
        await tg.says(GROUP, "anyone know a good ramen place?", user_id=BOB, first_name="Bob")
        assert await tg.until_sent(GROUP, 1) == ["ooh anyone know a good ramen place?"]
        _, second = judge_requests(fast.server, "decide_group")
        assert "Quizbot: @textbot_bot question 3: capital of peru?" in question(second), "context for the model"
        assert [unanswered_texts(r) for r in tg.scripted.requests] == [["anyone know a good ramen place?"]]
    finally:
        await tg.close()
