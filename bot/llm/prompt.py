"""Builds the chat-completion messages for a reply from a persona, history and unanswered lines."""

from __future__ import annotations

from bot.core.ports import Line, ReplyRequest

PROMPT_CHARS_PER_MESSAGE = 2_000
HISTORY_LINES = 60
# A human who pastes or floods thousands of lines is answered on the newest ones; the rest are counted.
UNANSWERED_LINES = 30

FORMAT_RULES = (
    "You are texting in a chat app. Put each text message you send on its own line; "
    "send at most {max_parts} messages, each short (under {max_chars} characters). "
    "Write only the messages themselves: no names, no quotes, no timestamps. "
    "The other person may have sent several messages in a row; answer them together, naturally."
)


def bounded(text: str, limit: int = PROMPT_CHARS_PER_MESSAGE) -> str:
    """Keep a very long message from flooding the prompt."""
    if len(text) <= limit:
        return text
    return text[:limit] + f" […{len(text) - limit} more characters]"


def _as_message(line: Line, is_group: bool) -> dict[str, str]:
    if line.role == "bot":
        return {"role": "assistant", "content": line.text}
    text = bounded(line.text)
    if is_group and line.author:
        text = f"{line.author}: {text}"
    return {"role": "user", "content": text}


def build_messages(request: ReplyRequest) -> list[dict[str, str]]:
    """System prompt with the format rules, then history, then the (newest) unanswered messages."""
    rules = FORMAT_RULES.format(max_parts=request.max_parts, max_chars=request.max_part_chars)
    messages = [{"role": "system", "content": f"{request.system}\n\n{rules}"}]
    for line in request.history[-HISTORY_LINES:]:
        messages.append(_as_message(line, request.is_group))
    messages.extend(_unanswered(request))
    return messages


def _unanswered(request: ReplyRequest) -> list[dict[str, str]]:
    """The newest unanswered lines, after a note of how many earlier ones were left out."""
    kept = request.unanswered[-UNANSWERED_LINES:]
    left_out = len(request.unanswered) - len(kept)
    note = [{"role": "user", "content": f"(…and {left_out} earlier message{'s' if left_out > 1 else ''})"}]
    return (note if left_out else []) + [_as_message(line, request.is_group) for line in kept]
