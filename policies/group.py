"""Group policies: in a group chat, should the bot answer at all?"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from policies.view import ConversationView

_QUESTION = re.compile(r"\?\s*$")


class GroupPolicy(Protocol):
    """Decides whether a group's unanswered messages are for the bot."""

    @property
    def name(self) -> str:
        """The policy's name as chosen in settings and commands."""
        ...

    def should_answer(self, view: ConversationView, rng: random.Random) -> bool:
        """True when the bot should take part."""
        ...


@dataclass(frozen=True)
class MentionOnly:
    """Answer only when mentioned by name or @, or replied to."""

    name: str = "mention"

    def should_answer(self, view: ConversationView, rng: random.Random) -> bool:
        """Only when addressed."""
        return view.addressed


@dataclass(frozen=True)
class Score:
    """Answer when addressed, and otherwise now and then: more often to open questions."""

    base: float = 0.05
    question: float = 0.25
    name: str = "score"

    def should_answer(self, view: ConversationView, rng: random.Random) -> bool:
        """Addressed, or a weighted coin flip on the burst's last message."""
        if view.addressed:
            return True
        last = view.pending[-1].text if view.pending else ""
        chance = self.question if _QUESTION.search(last) else self.base
        return rng.random() < chance


@dataclass(frozen=True)
class AskTheJudgeInGroups:
    """Addressed: answer. Otherwise the fast model decides whether to join in (the engine asks it, within a
    cooldown and an hourly cap); as a pure rule, and when the model gives no usable answer, only when addressed."""

    name: str = "judge"

    def should_answer(self, view: ConversationView, rng: random.Random) -> bool:
        """Only when addressed (the rule when the fast model cannot be asked)."""
        return view.addressed


_FACTORIES: dict[str, Callable[[], GroupPolicy]] = {
    "mention": MentionOnly, "score": Score, "judge": AskTheJudgeInGroups,
}
GROUP_POLICIES = tuple(_FACTORIES)


def group_policy(name: str) -> GroupPolicy:
    """The group policy called `name`."""
    if name not in _FACTORIES:
        raise ValueError(f"unknown group policy {name!r}; choose from {', '.join(GROUP_POLICIES)}")
    return _FACTORIES[name]()
