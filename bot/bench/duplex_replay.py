"""`textbot bench turns --policy duplex-cached:FILE`: the `duplex` policy replayed on the virtual clock with
the fast model's answers saved by `textbot bench duplex --save FILE`, next to `adaptive` and the baselines.

A request is answered from the file when the same person's same burst was asked there at as many silence
ticks or fewer (the latest such answer); otherwise it gets no prediction (the policy then asks again at
a later tick, or falls back to `adaptive`). How many requests the file answered is printed after the table.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from bot.core.duplex_port import DuplexQuestion, NoPrediction, Prediction, TurnPredictor
from bot.llm.duplex import DraftedReply, parse_prediction

PREFIX = "duplex-cached:"
Key = tuple[str, str, tuple[str, ...]]  # (conversation, person, the burst's texts)


@dataclass
class SavedAnswers:
    """The saved answers by conversation, person and burst, each as (ticks, raw answer) in tick order."""

    answers: dict[Key, list[tuple[int, str]]] = field(default_factory=dict)
    hits: int = 0
    misses: int = 0

    @classmethod
    def load(cls, path: Path) -> SavedAnswers:
        """Read a `bench duplex --save` file; ValueError naming a bad line."""
        saved = cls()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                key = (str(row["conv"]), str(row["author"]), tuple(str(t) for t in row["burst"]))
                saved.answers.setdefault(key, []).append((int(row["ticks"]), str(row["answer"])))
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{path}:{number}: not a saved duplex answer ({type(exc).__name__}: {exc})") from None
        for answers in saved.answers.values():
            answers.sort(key=lambda item: item[0])
        return saved

    def answer(self, key: Key, ticks: int) -> str | None:
        """The answer saved for this burst at the most ticks not over `ticks`."""
        found = [answer for saved_ticks, answer in self.answers.get(key, []) if saved_ticks <= ticks]
        if found:
            self.hits += 1
            return found[-1]
        self.misses += 1
        return None


@dataclass
class CachedDuplex:
    """A TurnPredictor that answers from saved answers (the replay's conversation key names the log's)."""

    saved: SavedAnswers

    async def predict(self, question: DuplexQuestion, timeout: float) -> Prediction:
        """The saved prediction for this burst, or NoPrediction."""
        request = question.request
        replay_key = request.key.chat if request.key is not None else ""
        conv, _, person = replay_key.rpartition(":")
        answer = self.saved.answer((conv, person, tuple(line.text for line in request.unanswered)), question.ticks)
        if answer is None:
            raise NoPrediction("not in the saved answers")
        return parse_prediction(answer)

    def drafted(self, text: str) -> DraftedReply:
        """The session that says the saved draft."""
        return DraftedReply(text)


@cache
def saved_answers(path: str) -> SavedAnswers:
    """One file's answers, loaded once for every replay that uses them."""
    return SavedAnswers.load(Path(path))


def replay_policy(policy: str) -> tuple[str, TurnPredictor | None]:
    """The turn policy a replay runs, and the duplex model it asks: `duplex-cached:FILE` is `duplex` on FILE."""
    if not policy.startswith(PREFIX):
        return policy, None
    return "duplex", CachedDuplex(saved_answers(policy.removeprefix(PREFIX)))


def cached_report(policies: Iterable[str]) -> list[str]:
    """A line per `duplex-cached:FILE` policy: how many requests its file answered."""
    lines = []
    for policy in policies:
        if policy.startswith(PREFIX):
            saved = saved_answers(policy.removeprefix(PREFIX))
            asked = saved.hits + saved.misses
            lines.append(f"{policy}: {asked} duplex requests, {saved.hits} answered from the file, "
                         f"{saved.misses} not in it (no prediction)")
    return lines
