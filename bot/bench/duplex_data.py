"""`textbot bench duplex-data`: the seed-002 training states from real chat logs, in OpenAI's fine-tuning format.

Each person's turn is cut after each of its messages and, at each cut, at several lengths of silence
(`--silences`, in ticks of the persona's `silence_tick`; a cut before a message that came after a shorter
pause is left out: that silence never happened). The model is shown exactly what the `duplex` policy
sends (bot/llm/duplex.py: the persona's prompt with the tag rules, the newest history, the burst and its
silence tokens); the target is the hidden rest of the turn (empty after its last message) and the
partner's real reply. One JSON line per state: `{"messages": [system, ..., user, assistant]}`. The split
is the turn benchmark's (`--split train` by default; `textbot bench duplex` asks on `test`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.bench.log import LogConversation, LogMessage
from bot.core.duplex_port import DuplexQuestion
from bot.core.ports import Line, ReplyRequest
from bot.llm.duplex import HISTORY_LINES, duplex_messages, target
from persona import Persona, load_persona
from policies.rhythm import PersonRhythm

SILENCES = (0, 1, 2, 4, 8, 16)
LIMIT = 2000  # the platform limit a reply is cut to (Discord's)


@dataclass(frozen=True)
class PersonTurn:
    """One turn of one person in a logged conversation, with what came before and the partner's answer."""

    conv: str
    person: str
    messages: list[LogMessage]
    history: tuple[Line, ...]
    reply: list[str]  # the partner's next turn ([] when the log ends first)
    rhythm: PersonRhythm  # what the bot knew of the person's pace before this turn


@dataclass(frozen=True)
class DuplexState:
    """One training or test state: the burst so far, the silence after it, and what really followed."""

    turn: PersonTurn
    cut: int  # messages of the turn shown (1..len)
    ticks: int

    @property
    def burst(self) -> list[LogMessage]:
        """The messages shown."""
        return self.turn.messages[: self.cut]

    @property
    def rest(self) -> list[str]:
        """The hidden rest of the turn (empty: the turn is over)."""
        return [m.text for m in self.turn.messages[self.cut:]]

    @property
    def next_gap(self) -> float | None:
        """Seconds from the last shown message to the next of the turn (None after its last)."""
        shown = self.turn.messages
        return None if self.cut == len(shown) else shown[self.cut].ts - shown[self.cut - 1].ts


def person_turns(conv: LogConversation) -> Iterator[PersonTurn]:
    """Every turn of every person that the partner answered, in order."""
    turns = conv.turns()
    rhythms: dict[str, PersonRhythm] = {}
    for k, turn in enumerate(turns):
        person = turn[0].author
        earlier = [m for t in turns[:k] for m in t][-HISTORY_LINES:]
        history = tuple(Line("human" if m.author == person else "bot", m.text, m.ts, m.author) for m in earlier)
        reply = [m.text for m in turns[k + 1]] if k + 1 < len(turns) else []
        rhythm = rhythms.get(person, PersonRhythm())
        if reply:
            yield PersonTurn(conv.conv_id, person, turn, history, reply, rhythm)
        rhythms[person] = rhythm.observe_turn([m.ts for m in turn])


def states(turn: PersonTurn, silences: Sequence[int], tick: float) -> Iterator[DuplexState]:
    """The turn cut after each message, at each silence that really passed before the next message."""
    for cut in range(1, len(turn.messages) + 1):
        state = DuplexState(turn, cut, 0)
        gap = state.next_gap
        for ticks in silences:
            if gap is None or ticks * tick < gap:
                yield DuplexState(turn, cut, ticks)


def question(state: DuplexState, persona: Persona) -> DuplexQuestion:
    """What the `duplex` policy would send the fast model in this state."""
    burst = tuple(Line("human", m.text, m.ts, m.author) for m in state.burst)
    request = ReplyRequest(system=persona.style, history=state.turn.history, unanswered=burst,
                           max_parts=persona.timing.max_parts, max_part_chars=persona.typing.max_part_chars,
                           limit=LIMIT)
    return DuplexQuestion(request, state.ticks, persona.timing.silence_tick)


def example(state: DuplexState, persona: Persona) -> dict[str, list[dict[str, str]]]:
    """One chat fine-tuning example: the question's messages and the target answer."""
    answer = target("\n".join(state.rest), "\n".join(state.turn.reply))
    return {"messages": [*duplex_messages(question(state, persona)), {"role": "assistant", "content": answer}]}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `textbot bench duplex-data`."""
    parser.add_argument("--data", default="chitchat", help="chitchat, synthetic, or a JSONL file of messages")
    parser.add_argument("--split", default="train", choices=["train", "test", "all"])
    parser.add_argument("--out", type=Path, required=True, help="the JSONL file to write")
    parser.add_argument("--limit", type=int, help="only the first N conversations")
    parser.add_argument("--silences", default=",".join(map(str, SILENCES)),
                        help="silence lengths in ticks, comma-separated")
    parser.add_argument("--persona", default="sunny", help="whose prompt the examples carry")


def parse_silences(text: str) -> tuple[int, ...]:
    """`0,1,2` → (0, 1, 2); ValueError for anything but whole numbers from 0 to 200."""
    problem = "--silences takes whole numbers of ticks from 0 to 200, comma-separated"
    try:
        values = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise ValueError(problem) from None
    if not values or any(v < 0 or v > 200 for v in values):
        raise ValueError(problem)
    return values


def main(args: argparse.Namespace) -> int:
    """Write the states as fine-tuning examples and say how many of them end the turn."""
    from bot.bench.turns import load_source, two_person_only

    try:
        silences = parse_silences(args.silences)
        convs = two_person_only(load_source(args.data, args.split)[: args.limit], args.data)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    persona = load_persona(args.persona)
    written = over = 0
    with args.out.open("w", encoding="utf-8") as out:
        for conv in convs:
            for turn in person_turns(conv):
                for state in states(turn, silences, persona.timing.silence_tick):
                    out.write(json.dumps(example(state, persona), ensure_ascii=False) + "\n")
                    written += 1
                    over += not state.rest
    print(f"{written} states from {len(convs)} conversations ({args.data}, {args.split} split) written to "
          f"{args.out}: {over} end the turn ({over / max(1, written):.1%}), {written - over} wait for more; "
          f"silences {','.join(map(str, silences))} ticks of {persona.timing.silence_tick:g} s")
    return 0
