"""SYNTHETIC two-person chats from a documented generative process (`--data synthetic`): not real people.

No public two-party chat corpus with real timestamps ships inside a PyPI package besides Chit-Chat, so
this corpus checks what Chit-Chat cannot: people whose pace differs a lot from Chit-Chat's and from each
other's, and texts whose punctuation says nothing about whether more is coming. It is generated at load
time from a fixed seed (nothing is downloaded or stored); the parameters below were fixed before the
turn policy was ever measured on it and are never changed to suit the model.

The process, for each of `CONVERSATIONS` conversations between two people:

- each person draws a pace multiplier `m = exp(N(0, PACE_SIGMA))` (90% of people lie between 0.23x and
  4.4x), a chance `c ~ Beta(2, 3)` (mean 0.4) that a turn goes on after each message, and a typing speed
  of `N(3.0, 0.6)` characters per second (at least 1);
- the conversation has `U(16, 40)` turns, alternating, the first by a random one of the two;
- a turn has 1 + Geometric messages (each further one with chance `c`, at most `MAX_MESSAGES`);
- a message has `1 + Poisson(4)` words drawn uniformly from `WORDS` and ends with one of `ENDINGS`, drawn
  with fixed chances whatever its place in the turn (so text cues carry no signal here, by construction);
- the pause before a message inside a turn is `m * LogNormal(ln BURST_GAP, GAP_SIGMA)` of thinking plus the
  message's typing time; the pause before a turn's first message is `m * LogNormal(ln REPLY_GAP,
  REPLY_SIGMA)` plus its typing time.
"""

from __future__ import annotations

import math
import random

from bot.bench.log import LogConversation, LogMessage

SEED = 20261129
CONVERSATIONS = 1000
PACE_SIGMA = 0.9
BURST_GAP = 6.0  # seconds of thinking between messages of one turn, for a person of pace 1
GAP_SIGMA = 0.8
REPLY_GAP = 15.0  # seconds of reading and thinking before answering the other person
REPLY_SIGMA = 1.0
MAX_MESSAGES = 8
WORDS = (
    "i", "you", "we", "it", "that", "the", "a", "so", "and", "but", "like", "just", "really", "think", "know",
    "going", "work", "today", "tomorrow", "weekend", "movie", "class", "food", "friends", "time", "home",
    "fun", "good", "bad", "cool", "yeah", "maybe", "what", "how", "why", "when", "there", "here", "now",
    "later", "last", "night", "game", "music", "trip", "busy", "tired", "love", "want", "need",
)  # fmt: skip
ENDINGS = (("", 0.4), ("?", 0.2), (".", 0.15), ("!", 0.1), (",", 0.05), (" lol", 0.05), ("...", 0.05))


def _poisson(rng: random.Random, lam: float) -> int:
    """Knuth's method (small lambda)."""
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


class _Person:
    """One synthetic person's habits."""

    def __init__(self, name: str, rng: random.Random) -> None:
        self.name = name
        self.pace = math.exp(rng.gauss(0.0, PACE_SIGMA))
        self.goes_on = rng.betavariate(2.0, 3.0)
        self.chars_per_s = max(1.0, rng.gauss(3.0, 0.6))

    def text(self, rng: random.Random) -> str:
        """A message: random words, an ending drawn whatever its place in the turn."""
        words = " ".join(rng.choice(WORDS) for _ in range(1 + _poisson(rng, 4.0)))
        ending = rng.choices([e for e, _ in ENDINGS], [w for _, w in ENDINGS])[0]
        return words + ending

    def pause(self, rng: random.Random, text: str, opens_turn: bool) -> float:
        """Seconds from this person's previous message (or the other's last) to this one."""
        median, sigma = (REPLY_GAP, REPLY_SIGMA) if opens_turn else (BURST_GAP, GAP_SIGMA)
        return self.pace * math.exp(rng.gauss(math.log(median), sigma)) + len(text) / self.chars_per_s


def conversation(index: int, rng: random.Random) -> LogConversation:
    """One synthetic conversation between two people."""
    cid = f"syn{index:04d}"
    people = [_Person(f"{cid}a", rng), _Person(f"{cid}b", rng)]
    rng.shuffle(people)
    t = 0.0
    msgs: list[LogMessage] = []
    for turn in range(rng.randint(16, 40)):
        person = people[turn % 2]
        n = 1
        while n < MAX_MESSAGES and rng.random() < person.goes_on:
            n += 1
        for i in range(n):
            text = person.text(rng)
            t += person.pause(rng, text, opens_turn=i == 0) if msgs else 0.0
            msgs.append(LogMessage(cid, person.name, round(t, 1), text))
    return LogConversation(cid, msgs)


def generate(count: int = CONVERSATIONS, seed: int = SEED) -> list[LogConversation]:
    """The synthetic corpus (the same every time for a given seed)."""
    rng = random.Random(seed)
    return [conversation(i, rng) for i in range(count)]


def load_synthetic(split: str = "test") -> list[LogConversation]:
    """The synthetic corpus' split (`test`, `train` or `all`), cut like Chit-Chat's."""
    from bot.bench.chitchat import split_conversations

    convs = generate()
    train, test = split_conversations(convs)
    return {"test": test, "train": train, "all": convs}[split]
