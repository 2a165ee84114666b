"""Memories in scenes (seed 004): a fact told 300 messages ago comes back, a DM's facts never reach a group,
a newer fact supersedes the one it contradicts, /forget lists and deletes, /reset forgets the chat's facts.
Each scene runs with memories in process, on SQLite and on PostgreSQL, through the real openai client."""

from __future__ import annotations

import pytest

from bot.core.events import Command, ConversationKey
from bot.core.ports import TraceEvent
from bot.timeline.model import build_lanes
from tests.fakes.openai_answers import call, calls
from tests.kit import ChatScene
from tests.memory_kit import (
    KINDS,
    MemoryRig,
    memory_rig,
    prompt_memories,
    recalls,
    remembers,
    results_of,
    system_prompt,
)

pytest_plugins = ("tests.storage_kit",)
rig = pytest.fixture(params=KINDS)(memory_rig)

DOG = "Alex's dog is called Rex"


async def a_fact_then_300_messages(rig: MemoryRig) -> ChatScene:
    """Alex tells the actions bot about the dog; then 300 messages of small talk go by under the stream bot."""
    rig.model.replies(*remembers(DOG))
    chat = await rig.scene("actions")
    await chat.says("omg we got a puppy, his name is rex")
    await chat.until_quiet()
    await chat.command("policy", "responder", "stream")
    for burst in range(30):
        for n in range(10):
            await chat.says(f"random thought {burst * 10 + n}: the weather is nice")
        await chat.until_quiet()
    return chat


async def test_a_fact_told_300_messages_ago_is_in_the_stream_prompt_though_far_past_the_history(
    rig: MemoryRig,
) -> None:
    chat = await a_fact_then_300_messages(rig)
    await chat.says("wait what was my puppy's name again")
    await chat.until_quiet()

    last = rig.writer.requests[-1]["messages"]
    assert DOG in prompt_memories(rig.writer)
    said = " ".join(str(m["content"]) for m in last[1:]).lower()
    assert "rex" not in said and "puppy, his name" not in said, "the telling itself is long out of the window"
    assert "puppy's name" in said


async def test_a_fact_told_300_messages_ago_is_found_by_recall(rig: MemoryRig) -> None:
    chat = await a_fact_then_300_messages(rig)
    await chat.command("policy", "responder", "actions")
    rig.model.replies(*recalls("dog name", "rex!! how is he"))
    await chat.says("what was my dog's name again")
    await chat.until_quiet()

    [found] = [r["memories"] for r in results_of(rig.model, "recall")]
    assert [m["fact"] for m in found] == [DOG]
    assert chat.bot_texts()[-1] == "rex!! how is he"
    assert DOG in prompt_memories(rig.model), "the actions prompt carries the relevant facts as well"


GROUP = ConversationKey("test", "group9")


async def in_group(chat: ChatScene, text: str) -> None:
    await chat.says(text, key=GROUP, is_group=True, addressed=True)
    await chat.until_quiet()


async def test_a_fact_learned_in_a_dm_never_reaches_a_groups_prompt_or_its_recall(rig: MemoryRig) -> None:
    rig.model.replies(*remembers(DOG))
    chat = await rig.scene("actions")
    await chat.says("my puppy is called rex")
    await chat.until_quiet()

    await in_group(chat, "@sunny guess my dog's name")  # the group's responder is stream
    assert prompt_memories(rig.writer) == [] and "Rex" not in system_prompt(rig.writer.last_messages())
    await chat.delivers(Command(GROUP, chat.human_author, "policy", ("responder", "actions"), is_admin=True,
                                is_group=True))
    rig.model.replies(*recalls("dog name", "no clue"))
    await in_group(chat, "@sunny do you remember my dog's name?")
    [found] = results_of(rig.model, "recall")
    assert found == {"draft": "", "new_messages": [], "memories": [], "newest": []}
    assert prompt_memories(rig.model) == [] and "Rex" not in system_prompt(rig.model.last_messages())


async def test_a_fact_learned_in_a_group_stays_in_that_group(rig: MemoryRig) -> None:
    chat = await rig.scene("stream")
    await chat.delivers(Command(GROUP, chat.human_author, "policy", ("responder", "actions"), is_admin=True,
                                is_group=True))
    rig.model.replies(*remembers("Alex is vegetarian"))
    await in_group(chat, "@sunny fyi i'm vegetarian now")
    assert [r["remembered"] for r in results_of(rig.model, "remember")] == ["Alex is vegetarian"]

    await chat.says("what should we cook tonight? something vegetarian?")
    await chat.until_quiet()
    assert prompt_memories(rig.writer) == [], "the DM's prompt never shows what was said in the group"
    await in_group(chat, "@sunny dinner ideas for me?")
    rig.model.replies(*recalls("vegetarian", "veggie lasagna!"))
    await in_group(chat, "@sunny what do I eat again")
    assert [m["fact"] for m in results_of(rig.model, "recall")[-1]["memories"]] == ["Alex is vegetarian"]


async def test_a_new_fact_that_contradicts_an_old_one_supersedes_it_as_the_fast_model_decides(
    rig: MemoryRig,
) -> None:
    rig.model.replies(*remembers("Alex works at the bakery"), *remembers("Alex works at the library now", "congrats!!"))
    rig.fast.replies(calls(call("replaced_facts", numbers=[1], reason="a new job replaces the old one")))
    chat = await rig.scene("actions")
    await chat.says("ugh long shift at the bakery")
    await chat.until_quiet()
    await chat.says("guess what, i quit the bakery. i work at the library now")
    await chat.until_quiet()

    first, second = results_of(rig.model, "remember")
    assert first["similar"] == [] and "replaced" not in first
    assert [m["fact"] for m in second["similar"]] == ["Alex works at the bakery"], "the model is shown similar facts"
    assert [m["fact"] for m in second["replaced"]] == ["Alex works at the bakery"]
    assert rig.fast.request_count == 1, "asked only when there were similar facts"
    question = rig.fast.requests[0]["messages"][-1]["content"]
    assert "New fact: Alex works at the library now" in question and "1. Alex works at the bakery" in question
    assert rig.fast.requests[0]["tool_choice"]["function"]["name"] == "replaced_facts"
    marks = build_lanes([TraceEvent(kind, at, data) for kind, at, data in chat.trace]).marks
    [step] = [m for m in marks if "remember \u201cAlex works at the library now\u201d" in m.label]
    assert "replaced: Alex works at the bakery" in step.detail, "the timeline shows the step and what it replaced"

    assert await chat.command("forget", admin=False) == (
        "what i remember about you here:\n1. Alex works at the library now\n"
        "/forget <number> to make me forget one, /forget all for everything")
    await chat.command("policy", "responder", "stream")
    await chat.says("long day at work again")
    await chat.until_quiet()
    assert prompt_memories(rig.writer) == ["Alex works at the library now"], "the old job is never recalled"


async def test_a_fact_about_something_else_replaces_nothing_and_the_model_may_name_what_it_replaces(
    rig: MemoryRig,
) -> None:
    rig.model.replies(*remembers(DOG), *remembers("Alex's sister is called Mia"),
                      *remembers("Alex's dog is called Max now", replaces=[1]))
    rig.fast.replies(calls(call("replaced_facts", numbers=[], reason="a sister is not a dog")))
    chat = await rig.scene("actions")
    for text in ("my dog rex is the best", "my sister mia says hi", "we renamed the dog, he's max now"):
        await chat.says(text)
        await chat.until_quiet()

    _, sister, renamed = results_of(rig.model, "remember")
    assert [m["fact"] for m in sister["similar"]] == [DOG] and "replaced" not in sister
    assert [m["fact"] for m in renamed["replaced"]] == [DOG] and renamed["why_replaced"] == "you named them"
    assert rig.fast.request_count == 1, "the model named what it replaced: no fast request"
    listing = await chat.command("forget", admin=False)
    assert listing.splitlines()[1:3] == ["1. Alex's sister is called Mia", "2. Alex's dog is called Max now"]


async def test_forget_lists_numbered_facts_deletes_one_then_all_and_a_forgotten_fact_is_not_recalled(
    rig: MemoryRig,
) -> None:
    rig.model.replies(*remembers(DOG), *remembers("Alex is allergic to cats"))
    chat = await rig.scene("actions")
    for text in ("my puppy is called rex", "also i'm allergic to cats lol"):
        await chat.says(text)
        await chat.until_quiet()

    listing = await chat.command("forget", admin=False)
    assert listing.splitlines()[:3] == ["what i remember about you here:", f"1. {DOG}", "2. Alex is allergic to cats"]
    assert await chat.command("forget", "1", admin=False) == f"ok, forgot: {DOG}"
    assert (await chat.command("forget", admin=False)).splitlines()[1:2] == ["1. Alex is allergic to cats"]
    assert await chat.command("forget", "7", admin=False) == (
        "there is no 7: i remember 1 thing about you here (/forget to see the list)")
    assert (await chat.command("forget", "rex", admin=False)).startswith("usage: /forget [which]")

    rig.model.replies(*recalls("dog", "hmm, remind me?"))
    await chat.says("do you remember my dog?")
    await chat.until_quiet()
    assert results_of(rig.model, "recall")[-1]["memories"] == []
    assert await chat.command("forget", "all", admin=False) == "ok, i forgot everything you told me here (1 fact)"
    assert await chat.command("forget", admin=False) == "i don't remember anything you told me here"


async def test_reset_deletes_this_chats_memories_and_no_other_chats(rig: MemoryRig) -> None:
    other = ConversationKey("test", "chat2")
    rig.model.replies(*remembers(DOG), *remembers("Alex is allergic to cats"))
    chat = await rig.scene("actions")
    await chat.says("my puppy is called rex")
    await chat.until_quiet()
    await chat.delivers(Command(other, chat.human_author, "policy", ("responder", "actions"), is_admin=True))
    await chat.says("i'm allergic to cats", key=other)
    await chat.until_quiet()

    await chat.command("reset")
    assert await chat.command("forget", admin=False) == "i don't remember anything you told me here"
    await chat.delivers(Command(other, chat.human_author, "forget"))
    assert chat.bot_texts()[-1].splitlines()[1] == "1. Alex is allergic to cats"
    await chat.command("policy", "responder", "stream")
    await chat.says("hey what's up")
    await chat.until_quiet()
    assert prompt_memories(rig.writer) == []
