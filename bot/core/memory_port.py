"""Memories (seed 004): facts the bot keeps per person and per conversation, found again by full-text search.

A memory's scope is the conversation it was learned in (its ConversationKey): what a person said in a DM
is only ever searched in that DM, never in a group, and a group's facts never leave the group. Within a
scope each fact is filed under the person (author id) it was learned from. A fact that a newer one
contradicts is superseded: kept (with what replaced it), but no longer recalled or listed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.core.events import ConversationKey

FACT_CHARS = 500  # a fact is a sentence, not a transcript
# Words so common that an OR search on them would find every fact; the databases rank by the rest.
_STOPWORD_TEXT = (
    "a an and are as at be but by did do does for from had has have he her him his how i i'm im in is it its "
    "just me my no not of on or our she so that the their them they this to too was we were what when where "
    "which who why will with you your yours u ur s t d m ll re ve"  # the tails of contractions: what's, don't
)
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


@dataclass(frozen=True, slots=True)
class Memory:
    """One remembered fact: its id, whom it was learned from, the words, and when."""

    id: int
    person: str
    fact: str
    at: float


class Memories(Protocol):
    """Where facts are kept and searched; `scope` is the conversation, `person` an author id."""

    async def remember(self, scope: ConversationKey, person: str, fact: str, at: float) -> tuple[Memory, bool]:
        """Keep a fact; True when it is new (an identical current fact of this person here is returned instead)."""
        ...

    async def supersede(self, scope: ConversationKey, old_ids: Sequence[int], by: int, at: float) -> list[int]:
        """Mark these facts of `scope` replaced by fact `by`; return the ids that were (only current ones are)."""
        ...

    async def recall(self, scope: ConversationKey, query: str, limit: int = 5) -> list[Memory]:
        """The current facts of `scope` that best match `query` (the database's full-text search), best first."""
        ...

    async def similar(self, scope: ConversationKey, person: str, fact: str, limit: int = 5) -> list[Memory]:
        """This person's current facts in `scope` that share words with `fact`, best first."""
        ...

    async def recent(self, scope: ConversationKey, limit: int = 5) -> list[Memory]:
        """The newest current facts of `scope`, newest first."""
        ...

    async def listed(self, scope: ConversationKey, person: str) -> list[Memory]:
        """This person's current facts in `scope`, oldest first (the numbered list /forget shows)."""
        ...

    async def forget(self, scope: ConversationKey, memory_id: int) -> int:
        """Delete a fact of `scope` and the older facts it superseded; return how many were deleted."""
        ...

    async def forget_all(self, scope: ConversationKey, person: str | None = None) -> int:
        """Delete every fact of `scope` (or only this person's), superseded ones too; return how many."""
        ...


def search_terms(text: str, limit: int = 24) -> list[str]:
    """The words of `text` a full-text OR search should look for: lowercased, no stopwords, each once."""
    words = re.findall(r"\w+", text.lower())
    return list(dict.fromkeys(w for w in words if w not in STOPWORDS))[:limit]


def clean_fact(fact: str) -> str:
    """One line, trimmed, at most FACT_CHARS characters."""
    return " ".join(fact.split())[:FACT_CHARS]
