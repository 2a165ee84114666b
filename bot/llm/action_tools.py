"""The action protocol's tools (seed 001): their schema, the draft they edit, how a call is read and answered."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.core.ports import Line
from bot.llm.prompt import bounded
from bot.llm.tool_kit import SessionTool

TOOL_NAMES = ("append", "undo", "reset", "push", "check", "stay_silent", "done")
_NO_SPACE_BEFORE = ".,!?;:…)]}'\"’”"


def _tool(name: str, description: str, properties: dict[str, Any] | None = None) -> dict[str, Any]:
    parameters = {"type": "object", "properties": properties or {}, "required": list(properties or {}),
                  "additionalProperties": False}
    return {"type": "function", "function": {"name": name, "description": description, "parameters": parameters}}


TOOLS: list[dict[str, Any]] = [
    _tool("append", "Add text to your draft. Nobody sees the draft until you push it.",
          {"text": {"type": "string", "description": "the words to add"}}),
    _tool("undo", "Take back your last append; with an empty draft, unsend the last text you pushed."),
    _tool("reset", "Throw the whole draft away."),
    _tool("push", "Send the draft as one text message. Refused if they wrote something you have not read yet."),
    _tool("check", "Wait for them to write more, up to this many seconds.",
          {"seconds": {"type": "number", "description": "how long to wait at most"}}),
    _tool("stay_silent", "Say nothing: nothing they wrote needs an answer."),
    _tool("done", "You have said all you wanted to; end your turn."),
]

ACTION_RULES = (
    "You are texting in a chat app and you write your texts with tools, like a person on a phone. "
    "append(text) adds to your draft (they see you typing while it is not empty); push() sends the draft as "
    "one text. To send several short texts, append and push each one. undo() takes back your last append, or "
    "with an empty draft unsends your last text; reset() throws the draft away; check(seconds) waits for them "
    "to write more (at most {max_wait:g} s). stay_silent() when nothing needs an answer; done() when you have "
    "said all you wanted. Every tool answers with your draft and new_messages, what they wrote since your last "
    "step: if that changes what you want to say, undo or reset and write again. push is refused while you have "
    "not read what they wrote. Send at most {max_parts} texts, each under {max_chars} characters, only the "
    "words themselves: no names, no quotes. Without tools, write each text on its own line."
)


def joined(draft: str, text: str) -> str:
    """`text` as it continues `draft`: a space between words, none before punctuation or after a space."""
    if not draft or not text or draft[-1].isspace() or text[0].isspace() or text[0] in _NO_SPACE_BEFORE:
        return text
    return " " + text


@dataclass
class Draft:
    """The message being composed: a stack of appends, capped at the platform's message limit."""

    limit: int
    appends: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The draft as it would be sent."""
        return "".join(self.appends)

    def append(self, text: str) -> bool:
        """Add `text` (what fits under the limit); True if some of it was cut off."""
        piece = joined(self.text, text)
        room = max(0, self.limit - len(self.text))
        if piece[:room]:
            self.appends.append(piece[:room])
        return len(piece) > room

    def undo(self) -> str | None:
        """Take back the last append; None when the draft is empty."""
        return self.appends.pop() if self.appends else None

    def reset(self) -> str:
        """Discard the draft; return what it said."""
        text, self.appends = self.text, []
        return text


@dataclass(frozen=True, slots=True)
class Action:
    """One tool call as the session reads it: its id, name and checked arguments, or why it cannot be done."""

    call_id: str
    name: str
    args: dict[str, Any]
    error: str = ""


def read_call(call_id: str, name: str, arguments: str, extra: Mapping[str, SessionTool] | None = None) -> Action:
    """Check a tool call's name and arguments; an unknown tool or bad arguments give an Action with an error."""
    extra = extra or {}
    if name not in TOOL_NAMES and name not in extra:
        names = ", ".join([*TOOL_NAMES, *extra])
        return Action(call_id, name, {}, f"there is no tool {name!r}; the tools are {names}")
    try:
        args = json.loads(arguments or "{}")
    except json.JSONDecodeError as exc:
        return Action(call_id, name, {}, f"the arguments are not valid JSON ({exc.msg} at character {exc.pos})")
    if not isinstance(args, dict):
        return Action(call_id, name, {}, "the arguments must be a JSON object")
    error = extra[name].argument_error(args) if name in extra else _argument_error(name, args)
    return Action(call_id, name, args, error)


def _argument_error(name: str, args: dict[str, Any]) -> str:
    if name == "append" and not isinstance(args.get("text"), str):
        return "append needs text, a string"
    seconds = args.get("seconds")
    if name == "check" and (isinstance(seconds, bool) or not isinstance(seconds, int | float)
                            or not math.isfinite(seconds) or seconds < 0):
        return "check needs seconds, a number of seconds (0 or more)"
    return ""


def said(lines: list[Line]) -> list[dict[str, str]]:
    """New messages as a tool result lists them."""
    return [{"from": line.author or "them", "text": bounded(line.text)} for line in lines]


def result(draft: str, new: list[Line], **fields: Any) -> str:
    """A tool result: always the draft and the new messages, then the action's own fields."""
    return json.dumps({"draft": draft, "new_messages": said(new), **fields}, ensure_ascii=False)
