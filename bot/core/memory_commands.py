"""/forget and /reset for memories: what the actor does with a conversation's facts when a person asks.

Each person manages their own facts in a conversation: `/forget` lists what the bot remembers of them here
(numbered, oldest first), `/forget 2` deletes one (and the older facts it had replaced), `/forget all` all of
theirs here. `/reset` deletes every fact of the conversation, everyone's.
"""

from __future__ import annotations

from bot.core.events import Command, ConversationKey
from bot.core.memory_port import Memories

NONE_KEPT = "i don't keep memories here"  # as the registry's own answer


async def answer_forget(memories: Memories | None, cmd: Command, words: tuple[str, ...]) -> str:
    """Carry out `/forget [number|all]` for the command's author in its conversation; what to answer."""
    if memories is None:
        return NONE_KEPT
    person = cmd.author.id
    facts = await memories.listed(cmd.key, person)
    if not words:
        if not facts:
            return "i don't remember anything you told me here"
        lines = [f"{n}. {memory.fact}" for n, memory in enumerate(facts, 1)]
        return "\n".join(["what i remember about you here:", *lines,
                          "/forget <number> to make me forget one, /forget all for everything"])
    if words[0].lower() == "all":
        gone = await memories.forget_all(cmd.key, person)
        return f"ok, i forgot everything you told me here ({gone} fact{'s' if gone != 1 else ''})"
    number = int(words[0])
    if not 1 <= number <= len(facts):
        held = f"{len(facts)} thing{'s' if len(facts) != 1 else ''}"
        return f"there is no {number}: i remember {held} about you here (/forget to see the list)"
    memory = facts[number - 1]
    await memories.forget(cmd.key, memory.id)
    return f"ok, forgot: {memory.fact}"


async def forget_conversation(memories: Memories | None, key: ConversationKey) -> None:
    """/reset: every fact of this conversation goes, everyone's, superseded ones too."""
    if memories is not None:
        await memories.forget_all(key)
