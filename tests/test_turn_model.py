"""Turn-end model, chat-log loaders and the Chit-Chat split."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.bench.chitchat import load_chitchat, split_conversations
from bot.bench.log import LogConversation, LogMessage, load_jsonl
from policies.turn_model import WEIGHTS_FILE, PersonRhythm, TurnEndModel

THRESHOLDS = [0.05, 0.1, 0.2, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.95]


@pytest.fixture(scope="module")
def model() -> TurnEndModel:
    """The shipped model."""
    return TurnEndModel.load()


@pytest.fixture(scope="module")
def chitchat() -> list[LogConversation]:
    """The whole two-party corpus (loads in a couple of seconds)."""
    return load_chitchat()


def rhythm(turns: list[list[float]], every: float = 100.0) -> PersonRhythm:
    """A rhythm after the given finished turns (message times within each turn), one turn every `every` s."""
    person = PersonRhythm()
    for k, times in enumerate(turns):
        person = person.observe_turn([k * every + t for t in times])
    return person


def test_trailing_conjunction_waits_longer_than_a_question(model: TurnEndModel) -> None:
    new = PersonRhythm()
    for th in (None, 0.3, 0.4, 0.5):
        hanging = model.wait_seconds(["so i was thinking and"], [0.0], new, th)
        question = model.wait_seconds(["what do you think?"], [0.0], new, th)
        assert hanging > question, th
    assert model.wait_seconds(["so i was thinking and"], [0.0], new) >= 10.0
    assert model.wait_seconds(["what do you think?"], [0.0], new) <= 3.0


def test_later_messages_of_a_turn_are_scored_too(model: TurnEndModel) -> None:
    person = rhythm([[0.0, 5.0]] * 3)
    hanging = model.wait_seconds(["hey", "so i was thinking and"], [0.0, 4.0], person)
    question = model.wait_seconds(["hey", "what do you think?"], [0.0, 4.0], person)
    assert hanging > question


@pytest.mark.parametrize(
    "texts",
    [["so i was thinking and"], ["what do you think?"], ["lol"], ["hey", "I went."], ["ok", "but"]],
)
def test_wait_is_monotone_in_threshold(model: TurnEndModel, texts: list[str]) -> None:
    times = [float(3 * i) for i in range(len(texts))]
    for person in (PersonRhythm(), rhythm([[0.0]] * 8), rhythm([[0.0, 20.0, 45.0]] * 8)):
        waits = [model.wait_seconds(texts, times, person, th) for th in THRESHOLDS]
        assert all(a >= b for a, b in itertools.pairwise(waits)), waits
        assert all(model.rule.min_wait <= w <= model.rule.max_wait for w in waits)


def test_first_below_matches_p_more(model: TurnEndModel) -> None:
    pred = model.predict(["so i was thinking and"], [0.0], PersonRhythm())
    for th in (0.1, 0.2, 0.3):
        t = pred.first_below(th)
        assert 0 < t < float("inf")
        assert pred.p_more(t) == pytest.approx(th, abs=1e-6)
        assert pred.p_more(t * 0.9) > th


def test_person_rhythm_shifts_the_wait(model: TurnEndModel) -> None:
    text = ["I went to the store yesterday"]
    fast = rhythm([[0.0, 2.0, 4.0]] * 10)
    slow = rhythm([[0.0, 30.0, 60.0]] * 10)
    single = rhythm([[0.0]] * 10)
    w_fast = model.wait_seconds(text, [0.0], fast)
    w_slow = model.wait_seconds(text, [0.0], slow)
    w_single = model.wait_seconds(text, [0.0], single)
    assert w_slow > w_fast > w_single
    assert w_slow >= 2 * w_fast


def test_person_rhythm_is_incremental_and_storable() -> None:
    person = rhythm([[0.0, 10.0, 12.0], [100.0]])
    assert person.turns == 2
    assert person.length_counts[:3] == (1, 0, 1)
    assert person.messages == 4 and person.gaps == 2 and person.last_turn_len == 1
    stored = json.loads(json.dumps(person.to_dict()))
    assert PersonRhythm.from_dict(stored) == person
    assert PersonRhythm.from_dict({}) == PersonRhythm()
    assert person.observe_turn([]) == person


def test_weights_json_loads_and_is_small(model: TurnEndModel) -> None:
    path = Path(__file__).resolve().parents[1] / "policies" / WEIGHTS_FILE
    assert path.stat().st_size < 50_000
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert {"end", "gap", "sigma", "prior", "rule", "default_threshold"} <= raw.keys()
    assert 0.0 < model.default_threshold < 1.0
    assert model.sigma > 0 and len(model.end_weights) > 20


def test_model_module_is_pure_python() -> None:
    code = (
        "import sys, policies.turn_model as m; m.TurnEndModel.load(); "
        "bad = [n for n in sys.modules if n.split('.')[0] in ('bot', 'numpy')]; "
        "assert not bad, bad"
    )
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)


def _synthetic(n: int) -> list[LogConversation]:
    def msgs(cid: str) -> list[LogMessage]:
        return [LogMessage(cid, a, float(t), "hi") for t, a in enumerate("abab")]

    return [LogConversation(f"c{i}", msgs(f"c{i}")) for i in range(n)]


def test_split_is_deterministic_and_conversation_level() -> None:
    convs = _synthetic(100)
    train, test = split_conversations(convs, seed=7)
    again = split_conversations(list(reversed(convs)), seed=7)
    assert {c.conv_id for c in train} == {c.conv_id for c in again[0]}
    assert {c.conv_id for c in test} == {c.conv_id for c in again[1]}
    assert len(test) == 20 and not {c.conv_id for c in train} & {c.conv_id for c in test}
    other = split_conversations(convs, seed=8)[1]
    assert {c.conv_id for c in other} != {c.conv_id for c in test}


def test_chitchat_corpus_and_split(chitchat: list[LogConversation]) -> None:
    assert len(chitchat) > 4000
    for conv in chitchat[:200]:
        assert len(conv.authors) == 2
        assert all(m.text.strip() for m in conv.messages)
        assert all(a.ts <= b.ts for a, b in itertools.pairwise(conv.messages))
    train, test = split_conversations(chitchat)
    train2, test2 = split_conversations(chitchat)
    assert [c.conv_id for c in test] == [c.conv_id for c in test2]
    assert [c.conv_id for c in train] == [c.conv_id for c in train2]
    ids_train, ids_test = {c.conv_id for c in train}, {c.conv_id for c in test}
    assert not ids_train & ids_test and len(ids_train) + len(ids_test) == len(chitchat)
    assert abs(len(test) / len(chitchat) - 0.2) < 0.01


def test_jsonl_loader(tmp_path: Path) -> None:
    rows = [
        {"conv": "x", "author": "ann", "ts": 10.0, "text": "hey"},
        {"conv": "x", "author": "bob", "ts": 20.0, "text": "yo"},
        {"conv": "x", "author": "ann", "ts": 5.0, "text": "first"},
        {"conv": "x", "author": "ann", "ts": 12.0, "text": "  "},
        {"conv": 7, "author": "cat", "ts": 1, "text": "other conversation"},
    ]
    path = tmp_path / "log.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    convs = load_jsonl(path)
    assert [c.conv_id for c in convs] == ["x", "7"]
    x = convs[0]
    assert [m.text for m in x.messages] == ["first", "hey", "yo"]
    assert x.authors == ["ann", "bob"]
    assert [[m.text for m in t] for t in x.turns()] == [["first", "hey"], ["yo"]]
    assert convs[1].messages[0] == LogMessage("7", "cat", 1.0, "other conversation")
    path.write_text('{"conv": "x"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"log\.jsonl:1"):
        load_jsonl(path)


def test_train_and_evaluate_smoke(chitchat: list[LogConversation]) -> None:
    pytest.importorskip("numpy")
    from bot.bench.train_turns import evaluate, train

    weights = train(chitchat[:150], seed=1)
    model = TurnEndModel(json.loads(json.dumps(weights)))
    metrics = evaluate(model, chitchat[150:200], thresholds=(0.3, 0.5))
    assert metrics["log_loss"] < metrics["base_rate_log_loss"] + 0.05
    assert metrics["model"][0.3]["talk_over"] <= metrics["model"][0.5]["talk_over"]
    assert 0.0 < metrics["fixed"][3.0]["talk_over"] < 1.0
