"""With the `stream` responder (no tools) the fast model keeps a turn's facts while the reply is written: one
request per turn with words in it, plus one supersede check when similar facts exist; filed under the person
they are about, in the conversation they were told in. Memories in process, on SQLite and on PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.events import Author, Command, ConversationKey, HumanMessage
from tests.fakes.openai_answers import Answer, call, calls
from tests.kit import ChatScene
from tests.memory_kit import KINDS, MemoryRig, memory_rig, prompt_memories

pytest_plugins = ("tests.storage_kit",)
rig = pytest.fixture(params=KINDS)(memory_rig)

DOG = "Alex's dog is called Rex"


def learned(*facts: tuple[str, str]) -> Answer:
    """The fast model's list of facts: (who, fact) pairs."""
    return calls(call("facts_learned", facts=[{"who": who, "fact": fact} for who, fact in facts]))


def fast_questions(rig: MemoryRig, tool: str) -> list[str]:
    """What each request for `tool` showed the fast model."""
    return [str(body["messages"][-1]["content"]) for body in rig.fast.requests
            if body.get("tool_choice", {}).get("function", {}).get("name") == tool]


async def forget_list(chat: ChatScene, key: ConversationKey | None = None, author: Author | None = None) -> list[str]:
    """The numbered facts /forget shows this person here."""
    await chat.delivers(Command(key or chat.key, author or chat.human_author, "forget",
                                is_group=key is not None))
    return [line.split(". ", 1)[1] for line in chat.bot_texts()[-1].splitlines() if line[:1].isdigit()]


async def test_the_fast_model_keeps_a_fact_from_a_stream_turn_and_a_later_prompt_has_it(rig: MemoryRig) -> None:
    rig.fast.replies(learned(("Alex", DOG)))
    chat = await rig.scene("stream", learns=True)
    await chat.says("we got a puppy!! his name is rex")
    await chat.until_quiet()

    assert chat.bot_texts() == ["ok"], "the reply went out as usual"
    assert fast_questions(rig, "facts_learned") == ["Alex: we got a puppy!! his name is rex"]
    assert await forget_list(chat) == [DOG]
    await chat.says("lol")
    await chat.until_quiet()
    await chat.says("anyway how was your day")
    await chat.until_quiet()
    assert rig.fast.request_count == 2, "no request for 'lol'; one per turn with words in it"
    assert prompt_memories(rig.writer) == [DOG]


async def test_a_learned_fact_that_contradicts_an_older_one_supersedes_it(rig: MemoryRig) -> None:
    rig.fast.replies(learned(("Alex", DOG)), learned(("Alex", "Alex's dog is now called Max")),
                     calls(call("replaced_facts", numbers=[1], reason="renamed")))
    chat = await rig.scene("stream", learns=True)
    await chat.says("we got a puppy!! his name is rex")
    await chat.until_quiet()
    await chat.says("update: we renamed the puppy, he's max now")
    await chat.until_quiet()

    assert await forget_list(chat) == ["Alex's dog is now called Max"]
    assert rig.fast.request_count == 3, "two turns, one supersede check"
    [question] = fast_questions(rig, "replaced_facts")
    assert question == f"New fact: Alex's dog is now called Max\n\nOlder facts:\n1. {DOG}"


async def test_in_a_group_each_learned_fact_is_filed_under_the_person_it_is_about(rig: MemoryRig) -> None:
    group = ConversationKey("test", "group9")
    sam = Author("u2", "Sam")
    rig.fast.replies(learned(("Sam", "Sam lives in Lisbon"), ("Alex", "Alex plays the cello")))
    chat = await rig.scene("stream", learns=True)
    await chat.delivers(HumanMessage(group, "g1", sam, "just moved to lisbon, loving it", is_group=True))
    await chat.says("@sunny i finally started cello lessons", key=group, is_group=True, addressed=True)
    await chat.until_quiet()

    assert fast_questions(rig, "facts_learned") == [
        "Sam: just moved to lisbon, loving it\nAlex: @sunny i finally started cello lessons"]
    assert await forget_list(chat, group, sam) == ["Sam lives in Lisbon"]
    assert await forget_list(chat, group) == ["Alex plays the cello"]
    assert await forget_list(chat) == [], "nothing of the group's reaches Alex's DM"


@pytest.mark.parametrize("trouble", ["down", "no tool call"])
async def test_when_the_fast_model_fails_the_reply_still_goes_out_and_nothing_is_kept(
    rig: MemoryRig, trouble: str,
) -> None:
    if trouble == "down":
        rig.fast.fail_next(503)
    else:
        rig.fast.replies(Answer("Alex has a dog"))
    chat = await rig.scene("stream", learns=True)
    await chat.says("we got a puppy!! his name is rex")
    await chat.until_quiet()

    assert chat.bot_texts() == ["ok"]
    assert await forget_list(chat) == []
    failed: list[Any] = [d for kind, _, d in chat.trace if kind == "memories_learned"]
    assert failed == [{"facts": [], "replaced": []}]
