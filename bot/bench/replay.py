"""Replays one side of a logged conversation against the real engine, with the bot as the partner.

The human's messages (and, with typing signals, their derived typing notifications) are submitted at
their logged instants on virtual time; a stand-in model answers after a fixed latency; the persona's
pacing types the reply. What the bot did is read back from the engine's trace.
"""

from __future__ import annotations

import asyncio
import random
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

from bot.bench.duplex_replay import replay_policy
from bot.bench.hindsight import hindsight_policy, is_hindsight
from bot.bench.log import LogConversation, LogMessage, group_turns, shift_time
from bot.bench.virtual_loop import LoopClock
from bot.core.config import ChatConfig, EngineDeps
from bot.core.engine import Engine
from bot.core.events import Author, ConversationKey, Event, HumanMessage, HumanTyping
from bot.core.memory_store import MemoryStore
from bot.core.ports import Intent, ReplyRequest, Say, SessionFeed
from bot.testing import CountingOutlet
from persona import Persona, load_persona
from policies.turn import TurnPolicy

CHARS_PER_WORD = 5.0


@dataclass(frozen=True)
class ReplayParams:
    """The stand-in model and the human typing model (defaults are the documented ones)."""

    llm_latency: float = 1.0
    reply_chars: int = 60
    reply_parts: int = 2
    signals: str = "text"
    human_wpm: float = 36.0
    typing_refresh: float = 8.0
    typing_ttl: float = 10.0
    persona: str = "sunny"
    debounce: float | None = None  # None: the persona's
    interrupt: str = "revise"
    quiet_limit: float = 600.0


@dataclass
class StandInModel:
    """Answers every request after `latency` seconds with `parts` parts totalling `chars` characters."""

    latency: float
    chars: int
    parts: int

    async def reply(self, request: ReplyRequest, feed: SessionFeed) -> AsyncIterator[Intent]:
        """Wait, then yield the parts."""
        await asyncio.sleep(self.latency)
        size = max(1, self.chars // self.parts)
        for _ in range(self.parts):
            yield Say(("word " * (size // 5 + 1))[:size].strip())


@dataclass
class Generation:
    """One generation the bot started: when, which messages it covered, when its parts went out."""

    start: float
    covers: frozenset[str]
    delivered: list[float] = field(default_factory=list)


@dataclass
class TurnOutcome:
    """How the bot did on one human turn."""

    talked_over: bool
    decision_delay: float | None
    first_part_delay: float | None


@dataclass
class ReplayResult:
    """Per-turn outcomes and the generation counts of one replay."""

    turns: list[TurnOutcome]
    generations: int
    wasted: int
    crossed: int


class _Recorder:
    """Reads generations and deliveries off the engine's trace."""

    def __init__(self) -> None:
        self.generations: list[Generation] = []

    def __call__(self, key: ConversationKey, kind: str, at: float, **data: Any) -> None:
        if kind == "generation_start":
            self.generations.append(Generation(at, frozenset(data["covers"])))
        elif kind == "part_sent":
            self.generations[-1].delivered.append(at)


def typing_events(msgs: list[LogMessage], params: ReplayParams) -> list[tuple[float, int]]:
    """Discord-like typing starts for each message: from when composing began, every `typing_refresh` s.

    Composing time is the message's length at `human_wpm`; it cannot start before the previous
    message of the same person was sent.
    """
    chars_per_s = params.human_wpm * CHARS_PER_WORD / 60.0
    out: list[tuple[float, int]] = []
    for i, m in enumerate(msgs):
        start = m.ts - len(m.text) / chars_per_s
        if i:
            start = max(start, msgs[i - 1].ts + 0.5)
        t = start
        while t < m.ts:
            out.append((t, i))
            t += params.typing_refresh
    return out


def _schedule(msgs: list[LogMessage], key: ConversationKey, params: ReplayParams) -> list[tuple[float, Event]]:
    author = Author("human", "human")
    plan: list[tuple[float, Event]] = [
        (m.ts, HumanMessage(key, str(i), author, m.text)) for i, m in enumerate(msgs)
    ]
    if params.signals == "typing":
        plan += [(t, HumanTyping(key, author, params.typing_ttl)) for t, _ in typing_events(msgs, params)]
    plan.sort(key=lambda item: (item[0], isinstance(item[1], HumanMessage)))
    return plan


@dataclass
class _OneTurnPolicy(EngineDeps):
    """Engine dependencies whose every chat decides with one turn policy object (one not named in settings)."""

    policy: TurnPolicy | None = None

    def chat_config(self, overrides: dict[str, Any]) -> ChatConfig:
        """The usual settings, with the turn policy swapped in."""
        cfg = super().chat_config(overrides)
        return cfg if self.policy is None else replace(cfg, turn_policy=self.policy)


def _persona(params: ReplayParams) -> Persona:
    persona = load_persona(params.persona)
    if params.debounce is None:
        return persona
    return replace(persona, timing=replace(persona.timing, debounce=params.debounce))


async def replay(conv: LogConversation, human: str, policy: str, params: ReplayParams) -> ReplayResult:
    """Play `human`'s side of `conv` against the bot running turn policy `policy`."""
    msgs = [m for m in conv.messages if m.author == human]
    recorder = _Recorder()
    outlet = CountingOutlet(platform="replay", has_typing_signal=params.signals == "typing")
    turn, duplex = replay_policy(policy)  # duplex-cached:FILE asks saved answers
    loop = asyncio.get_running_loop()
    offset = loop.time() + 1.0 - msgs[0].ts
    # the bound knows their log (on the loop's clock)
    told = hindsight_policy(policy, shift_time(conv, offset), human) if is_hindsight(policy) else None
    turn = "adaptive" if told is not None else turn  # its settings name; the object decides
    deps = _OneTurnPolicy(
        clock=LoopClock(), responder=StandInModel(params.llm_latency, params.reply_chars, params.reply_parts),
        outlet=outlet, store=MemoryStore(), persona=_persona(params), turn=turn, duplex=duplex,
        interrupt=params.interrupt, rng=random.Random(zlib.crc32(f"{conv.conv_id}:{human}".encode())),
        trace=recorder, policy=told,
    )
    engine = Engine(deps)
    key = ConversationKey("replay", f"{conv.conv_id}:{human}")
    try:
        for at, event in _schedule(msgs, key, params):
            await asyncio.sleep(at + offset - loop.time())
            engine.submit(event)
        await _until_quiet(engine, params.quiet_limit)
    finally:
        await engine.close()
    arrived = {str(i): m.ts + offset for i, m in enumerate(msgs)}
    return score(conv, human, recorder.generations, arrived, offset)


async def _until_quiet(engine: Engine, limit: float) -> None:
    waited = 0.0
    while waited < limit and not all(a.idle for a in engine.actors.values()):
        await asyncio.sleep(1.0)
        waited += 1.0


def score(
    conv: LogConversation, human: str, gens: list[Generation], arrived: dict[str, float], offset: float
) -> ReplayResult:
    """Turn outcomes, calls, wasted generations and crossed parts from what the bot did."""
    index = {id(m): str(i) for i, m in enumerate(m for m in conv.messages if m.author == human)}
    delivered = sorted(t for g in gens for t in g.delivered)
    outcomes: list[TurnOutcome] = []
    for turn in (t for t in group_turns(conv.messages) if t[0].author == human):
        first, last = turn[0].ts + offset, turn[-1].ts + offset
        over = any(first < t < last for t in delivered)
        answer = next((g for g in gens if index[id(turn[-1])] in g.covers and g.delivered), None)
        outcomes.append(TurnOutcome(
            over,
            None if answer is None else answer.start - last,
            None if answer is None else answer.delivered[0] - last,
        ))
    crossed = sum(
        1 for g in gens for t in g.delivered
        if any(g.start < at < t and mid not in g.covers for mid, at in arrived.items())
    )
    return ReplayResult(outcomes, len(gens), sum(1 for g in gens if not g.delivered), crossed)
