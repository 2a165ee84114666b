"""Tidies a model's line of text: the wrapping quotes and assistant-speak small models add, nothing else."""

from __future__ import annotations

import re

_SPECIAL_TOKEN = re.compile(r"<\|[a-z_]+\|>")
_AS_AN_AI = re.compile(
    r"^as an? (?:ai|artificial intelligence)(?: language model| assistant| model)?\b,?\s*", re.IGNORECASE
)
_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’", "«": "»"}
ROLE_NAMES = ("assistant", "ai", "bot")
_PERSONA_NAME = re.compile(r"\bYou are (\w+)")


def speaker_names(system: str) -> tuple[str, ...]:
    """Names a model may prefix its lines with: the generic roles and the persona's own name."""
    match = _PERSONA_NAME.search(system)
    return (*ROLE_NAMES, match.group(1).lower()) if match else ROLE_NAMES


def tidy_line(line: str, names: tuple[str, ...] = ROLE_NAMES) -> str:
    """The line without special tokens, a leading "Name:" or "As an AI," and quotes around all of it."""
    text = _SPECIAL_TOKEN.sub("", line).strip()
    head, colon, rest = text.partition(":")
    if colon and head.strip().lower() in names:
        text = rest.strip()
    text = _AS_AN_AI.sub("", text)
    if len(text) >= 2 and _QUOTES.get(text[0]) == text[-1] and text[0] not in text[1:-1]:
        text = text[1:-1].strip()
    return text
