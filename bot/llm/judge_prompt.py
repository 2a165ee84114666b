"""What the fast model reads for a small decision: the tools, and the situation in plain words.

The choices are explained in the prompt itself, not only in the tool's description: some servers (the
bundled llama.cpp one among them) force the tool's arguments with a grammar but never show the model
the tool's description.
"""

from __future__ import annotations

from typing import Any

from bot.core.judge_port import GroupQuestion, InterruptionQuestion
from bot.core.ports import Line
from policies.judged import GROUP_CHOICES, INTERRUPT_CHOICES

REASON_CHARS = 100


def tool(name: str, description: str, choices: tuple[str, ...]) -> dict[str, Any]:
    """A function tool taking `choice` (one of `choices`) and a short `reason`."""
    return {"type": "function", "function": {
        "name": name, "description": description,
        "parameters": {
            "type": "object",
            "properties": {
                "choice": {"type": "string", "enum": list(choices)},
                "reason": {"type": "string", "maxLength": REASON_CHARS, "description": "one short line: why"},
            },
            "required": ["choice", "reason"],
            "additionalProperties": False,
        },
    }}


GROUP_TOOL = tool("decide_group", "Whether to join in the group's conversation unasked.", GROUP_CHOICES)


def interruption_choices(q: InterruptionQuestion) -> tuple[str, ...]:
    """The choices that can be carried out here: relay only to a session that listens, defer only once."""
    return tuple(c for c in INTERRUPT_CHOICES if (c != "relay" or q.can_relay) and (c != "defer" or not q.again))


def interruption_tool(q: InterruptionQuestion) -> dict[str, Any]:
    """decide_interruption, its `choice` limited to what can be done (an enum the model cannot step out of)."""
    return tool("decide_interruption", "What to do with the reply that was interrupted.", interruption_choices(q))

INTERRUPTION_SYSTEM = """\
You make one quick call for {persona}, who is texting a friend. {persona} was in the middle of answering \
when the friend texted again. Decide what {persona} does with the rest of the reply, as a thoughtful person \
texting would, and call decide_interruption with your choice and a short reason.
- restart: the new message changes what the reply should say (a correction, new facts, a different or \
follow-up question that the held parts now miss): drop the held parts and answer everything afresh.
- ignore: the new message needs no answer of its own (a reaction such as "lol", "ok", "haha", an emoji, \
thanks): send the held parts as they are.
- continue: the held parts still fit, and the new message deserves its own answer after them (a separate \
remark or question that does not change them).
- defer: the friend is plainly still in the middle of a thought (it trails off with "but", "and", "like", \
"wait", a comma): hold the reply and decide when they have finished.
- relay: hand the new message to the reply being written, which takes it in as it goes (only when offered)."""

GROUP_SYSTEM = """\
You make one quick call for {persona}, who is in a group chat. Nobody addressed {persona} in the newest \
messages. Call decide_group with respond only when {persona} has something the group would welcome right \
now (a question put to everyone, a topic {persona} is clearly part of, a lull that invites anyone); choose \
ignore for conversations between others, small talk that does not involve {persona}, or whenever chiming \
in would be intrusive. Give a short reason."""


def _lines(lines: tuple[Line, ...], persona: str) -> str:
    if not lines:
        return "(nothing)"
    return "\n".join(f"{persona if line.role == 'bot' else (line.author or 'friend')}: {line.text}" for line in lines)


def _parts(texts: tuple[str, ...]) -> str:
    return "\n".join(f'- "{text}"' for text in texts) if texts else "(nothing)"


def interruption_messages(q: InterruptionQuestion) -> list[dict[str, str]]:
    """The chat messages of one interruption question."""
    who = q.persona
    relay = "relay is offered: the reply being written can take new messages in." if q.can_relay else (
        "relay is not offered here.")
    again = "\nYou chose defer a moment ago and the friend has now finished: decide now." if q.again else ""
    situation = (
        f"Earlier in the chat:\n{_lines(q.history, who)}\n\n"
        f"What {who} is answering:\n{_lines(q.answering, who)}\n\n"
        f"{who} already sent:\n{_parts(q.delivered)}\n\n"
        f"{who} was about to send (held back):\n{_parts(q.unsent)}\n\n"
        f"The friend just wrote:\n{_lines(q.new, who)}\n\n{relay}{again}"
    )
    return [{"role": "system", "content": INTERRUPTION_SYSTEM.format(persona=who)},
            {"role": "user", "content": situation}]


def group_messages(q: GroupQuestion) -> list[dict[str, str]]:
    """The chat messages of one group question."""
    who = q.persona
    situation = f"Earlier in the group:\n{_lines(q.history, who)}\n\nThe newest messages:\n{_lines(q.new, who)}"
    return [{"role": "system", "content": GROUP_SYSTEM.format(persona=who)},
            {"role": "user", "content": situation}]
