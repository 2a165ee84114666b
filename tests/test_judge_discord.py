"""Discord: the fast model judges interruptions in a DM and whether to join a server channel unasked.

The real discord.py client and engine in virtual time against the fake Discord; the judge is the real
openai client against the local Chat Completions server, which scripts each choice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from bot.core.events import ConversationKey
from bot.core.ports import ReplyRequest
from bot.testing import unanswered_texts
from tests.discord_scene import CHANNEL, DM, HUMAN, OTHER, DiscordScene, scenes
from tests.fakes.discord_payloads import make_user
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
    traced,
)

make_scene = pytest.fixture(scenes)
fast = pytest.fixture(fast_model)
Make = Callable[..., Awaitable[DiscordScene]]
ASKED = "did u see the game last night?"
PARTS = ["omg yes", "that last goal", "insane"]
DM_KEY = ConversationKey("discord", str(DM))
CHANNEL_KEY = ConversationKey("discord", str(CHANNEL))


def script(request: ReplyRequest) -> list[str]:
    said = unanswered_texts(request)
    return PARTS if said == [ASKED] else ["re: " + " / ".join(said)]


async def judged_dm(make_scene: Make, fast: FastModel) -> DiscordScene:
    return await make_scene(script=script, judge=fast.judge, settings={"interrupt_policy": "judge"})


async def interrupted(chat: DiscordScene, new: str) -> None:
    """The human asks, the first part arrives, and they text again while the second is being typed."""
    await chat.says(ASKED)
    await chat.until(lambda: PARTS[0] in chat.bot_texts())
    await chat.says(new)
    await chat.until_quiet()
    await chat.waits(30)


CHOICES = {
    "restart": ("wait no i meant the concert", ["omg yes", "re: wait no i meant the concert"], "revise"),
    "ignore": ("lmaooo", PARTS, "acknowledge"),
    "continue": ("also r u free saturday?", [*PARTS, "re: also r u free saturday?"], "finish"),
}


@pytest.mark.parametrize("choice", CHOICES)
async def test_each_choice_of_the_fast_model_is_what_the_human_sees_in_a_dm(
        make_scene: Make, fast: FastModel, choice: str) -> None:
    new, seen, applied = CHOICES[choice]
    fast.server.replies(rules(choice, f"scripted {choice}"))
    chat = await judged_dm(make_scene, fast)
    await interrupted(chat, new)
    assert chat.bot_texts() == seen
    [asked] = judge_requests(fast.server)
    assert new in question(asked) and '- "omg yes"' in question(asked)
    verdict = (await traced(chat.store, DM_KEY, "interrupt"))[0]
    assert (verdict["decision"], verdict["reason"], verdict["by"], verdict["applied"]) == (
        choice, f"scripted {choice}", "judge", applied)


async def test_relay_hands_the_new_message_to_a_reply_session_that_listens(make_scene: Make, fast: FastModel) -> None:
    fast.server.replies(rules("relay", "the session can take it in"))
    chat = await judged_dm(make_scene, fast)
    chat.scripted.listens = True  # type: ignore[attr-defined]  # as an action session does
    await interrupted(chat, "the ref was awful tho")
    assert chat.bot_texts() == PARTS and len(chat.scripted.requests) == 1
    [asked] = judge_requests(fast.server)
    assert "relay is offered" in question(asked)
    assert (await chat.store.load(DM_KEY)).pending == [], "the session covers the relayed message"


async def test_defer_waits_for_the_rest_of_the_thought_then_asks_again(make_scene: Make, fast: FastModel) -> None:
    fast.server.replies(rules("defer", "mid-thought"), rules("continue", "a new question, the reply still fits"))
    chat = await judged_dm(make_scene, fast)
    await chat.says(ASKED)
    await chat.until(lambda: PARTS[0] in chat.bot_texts())
    await chat.says("wait")
    await chat.waits(1.0)
    await chat.says("who scored the second one?")
    await chat.until_quiet()
    assert chat.bot_texts() == [*PARTS, "re: wait / who scored the second one?"]
    assert len(judge_requests(fast.server)) == 2


async def test_a_fast_model_too_slow_for_judge_timeout_leaves_it_to_the_defer_rule(
        make_scene: Make, fast: FastModel) -> None:
    fast.server.reply_with(late(rules("restart"), real_seconds=1.0))
    chat = await judged_dm(make_scene, fast)
    await chat.store.save_overrides(DM_KEY, {"timing": {"judge_timeout": 0.2}})
    await interrupted(chat, "haha")
    assert chat.bot_texts() == [*PARTS, "re: haha"], "a reaction: the rule lets the reply finish"
    verdicts = await traced(chat.store, DM_KEY, "interrupt")
    assert verdicts[0]["reason"] == "no answer within 0.2 s" and {v["by"] for v in verdicts} == {"defer rule"}


@pytest.mark.parametrize("answer", MALFORMED.values(), ids=MALFORMED.keys())
async def test_a_malformed_answer_leaves_it_to_the_defer_rule(
        make_scene: Make, fast: FastModel, answer: Answer) -> None:
    fast.server.replies(answer)
    chat = await judged_dm(make_scene, fast)
    await interrupted(chat, "who scored tho")
    assert chat.bot_texts() == ["omg yes", "re: who scored tho"], "words, not a reaction: the rule revises"
    assert (await traced(chat.store, DM_KEY, "interrupt"))[0]["reason"].startswith("malformed answer")


# ------------------------------------------------------------------ joining a server channel unasked
async def judged_channel(make_scene: Make, fast: FastModel, **timing: float) -> DiscordScene:
    chat = await make_scene(script=lambda r: [f"ooh {unanswered_texts(r)[-1]}"], judge=fast.judge,
                            settings={"group_policy": "judge"})
    if timing:
        await chat.store.save_overrides(CHANNEL_KEY, {"timing": timing})
    return chat


async def test_the_fast_model_lets_it_join_in_and_the_cooldown_keeps_it_from_doing_so_again(
        make_scene: Make, fast: FastModel) -> None:
    fast.server.replies(joins("respond", "a question to everyone"))
    chat = await judged_channel(make_scene, fast)
    await chat.says("anyone know a good ramen place?", CHANNEL)
    await chat.until_quiet()
    assert chat.bot_texts(CHANNEL) == ["ooh anyone know a good ramen place?"]
    await chat.waits(60)
    await chat.says("any other ideas?", CHANNEL, OTHER)
    await chat.until_quiet()
    await chat.waits(60)
    assert chat.bot_texts(CHANNEL) == ["ooh anyone know a good ramen place?"], "within the cooldown: silence"
    [asked] = judge_requests(fast.server, "decide_group")
    assert "anyone know a good ramen place?" in question(asked)
    verdicts = [(v["decision"], v["by"]) for v in await traced(chat.store, CHANNEL_KEY, "group")]
    assert verdicts == [("respond", "judge"), ("ignore", "rule")]
    assert (await chat.store.load(CHANNEL_KEY)).pending == []


async def test_the_hourly_cap_stops_it_joining_in_even_after_the_cooldown(make_scene: Make, fast: FastModel) -> None:
    fast.server.reply_with(lambda messages: joins("respond", "sure"))
    chat = await judged_channel(make_scene, fast, group_cooldown=0, group_max_per_hour=1)
    await chat.says("anyone know a good ramen place?", CHANNEL)
    await chat.until_quiet()
    await chat.waits(600)
    await chat.says("what about sushi?", CHANNEL, OTHER)
    await chat.until_quiet()
    assert chat.bot_texts(CHANNEL) == ["ooh anyone know a good ramen place?"]
    assert len(judge_requests(fast.server, "decide_group")) == 1, "a refusal by the cap costs no request"
    [_, capped] = await traced(chat.store, CHANNEL_KEY, "group")
    assert capped["reason"].startswith("hourly cap")
    await chat.waits(3600)
    await chat.says("or pizza?", CHANNEL)
    await chat.until_quiet()
    assert chat.bot_texts(CHANNEL)[-1] == "ooh or pizza?", "an hour later it may join in again"


async def test_when_the_fast_model_says_ignore_the_channel_gets_silence(make_scene: Make, fast: FastModel) -> None:
    fast.server.replies(joins("ignore", "two friends talking"))
    chat = await judged_channel(make_scene, fast)
    await chat.says("did you feed the cat", CHANNEL)
    await chat.until_quiet()
    await chat.waits(60)
    assert chat.bot_texts(CHANNEL) == [] and chat.scripted.requests == []
    assert [v["reason"] for v in await traced(chat.store, CHANNEL_KEY, "group")] == ["two friends talking"]


async def test_a_mention_is_answered_without_asking_the_fast_model(make_scene: Make, fast: FastModel) -> None:
    chat = await judged_channel(make_scene, fast)
    await chat.says(f"<@{chat.bot_id}> what do you think?", CHANNEL)
    await chat.until_quiet()
    assert chat.bot_texts(CHANNEL) == ["ooh @sunny what do you think?"]
    assert fast.server.requests == []


async def test_another_bots_message_is_never_answered_but_the_model_sees_it(make_scene: Make, fast: FastModel) -> None:
    fast.server.reply_with(lambda messages: joins("respond", "a question to everyone"))
    chat = await judged_channel(make_scene, fast)
    await chat.posts(f"<@{chat.bot_id}> beep: now playing lofi beats", CHANNEL, make_user(600, "musicbot", bot=True))
    await chat.until_quiet()
    await chat.waits(30)
    assert chat.bot_texts(CHANNEL) == [] and fast.server.requests == [], "no reply, no question, even addressed"
    await chat.says("is this song any good?", CHANNEL, HUMAN)
    await chat.until_quiet()
    [asked] = judge_requests(fast.server, "decide_group")
    assert "musicbot: @sunny beep: now playing lofi beats" in question(asked)
    assert chat.bot_texts(CHANNEL) == ["ooh is this song any good?"]


@pytest.mark.parametrize("trouble", ["timeout", "malformed"])
async def test_no_usable_answer_means_it_stays_out_unless_addressed(
        make_scene: Make, fast: FastModel, trouble: str) -> None:
    if trouble == "timeout":
        fast.server.reply_with(late(joins("respond"), real_seconds=1.0))
    else:
        fast.server.replies(MALFORMED["arguments that are not JSON"])
    chat = await judged_channel(make_scene, fast, judge_timeout=0.2)
    await chat.says("anyone know a good ramen place?", CHANNEL)
    await chat.until_quiet()
    await chat.waits(60)
    assert chat.bot_texts(CHANNEL) == []
    [verdict] = await traced(chat.store, CHANNEL_KEY, "group")
    assert verdict["by"] == "mention rule" and verdict["decision"] == "ignore"
