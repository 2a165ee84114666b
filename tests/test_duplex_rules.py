"""The duplex policy's pure rules and the strict reading of the fast model's tags."""

from __future__ import annotations

import asyncio

import openai
import pytest

from bot.core.clock import VirtualClock
from bot.core.duplex_port import DuplexQuestion, NoPrediction, Prediction
from bot.core.ports import Line, ReplyRequest, Say
from bot.core.session import Feed
from bot.llm.duplex import DraftedReply, OpenAIDuplex, parse_prediction, target
from policies.duplex import Ask, Duplex, asking_ticks, silence_ticks, with_silence
from policies.timing import Timing
from policies.turn import Adaptive, turn_policy
from policies.view import ConversationView, Respond, Said, WaitUntil
from tests.fakes.openai_server import FakeOpenAIServer

T0 = 100.0


def view(*texts: str, typing_until: float | None = None, **timing: float) -> ConversationView:
    pending = tuple(Said(text, T0 + i, "u1") for i, text in enumerate(texts))
    return ConversationView(pending=pending, timing=Timing(**timing), typing_until=typing_until)  # type: ignore[arg-type]


def test_a_turn_over_prediction_is_an_empty_user_tag_and_its_draft() -> None:
    assert parse_prediction(target("", "omg yes\nwhen?")) == Prediction("", "omg yes\nwhen?")
    assert parse_prediction(target("", "ok")).turn_over
    assert not parse_prediction(" " + target("and the lake", "hm?") + "\n").turn_over


def test_predicted_silence_alone_is_no_more_text() -> None:
    assert parse_prediction(target("<|silence|> <|silence|>", "ok")).turn_over


@pytest.mark.parametrize("answer", [
    "", "ok", target("", "a") + " and more", "<user_preemptive><user_preemptive></user_preemptive>"
    "<assistant_preemptive>x</assistant_preemptive>", target("", "<|silence|>"),
])
def test_anything_but_exactly_the_two_tags_is_no_prediction(answer: str) -> None:
    with pytest.raises(NoPrediction, match="malformed answer"):
        parse_prediction(answer)


def test_silence_tokens_follow_the_text_one_per_tick() -> None:
    assert with_silence("i think we should", 2) == "i think we should <|silence|> <|silence|>"
    assert with_silence("hey", 0) == "hey"
    assert silence_ticks(view("hey"), T0 + 1.49) == 2
    assert silence_ticks(view("hey", silence_tick=0.25), T0 + 1.0) == 4


def test_no_request_while_the_turn_model_is_confident_more_is_coming() -> None:
    going = view("and")  # a dangling "and": the turn-end model is sure more is coming
    step = Duplex().step(going, T0, calls=0, asked=())
    due = asking_ticks(going, ())
    assert due is not None and due > 0
    assert step == WaitUntil(T0 + due * 0.5)
    assert Duplex().step(going, T0 + due * 0.5, calls=0, asked=()) == Ask(due)


def test_typing_holds_max_wait_caps_and_spent_calls_fall_back_to_adaptive() -> None:
    hey = view("hey")
    assert Duplex().step(view("hey", typing_until=T0 + 8), T0 + 1, 0, ()) == WaitUntil(T0 + 8)
    assert Duplex().step(hey, T0 + 45, 0, ()) == Respond()
    assert Duplex().step(hey, T0 + 1, calls=4, asked=(0,)) == Adaptive().decide(hey, T0 + 1)
    assert Duplex().step(view("hey", duplex_max_calls=0), T0, 0, ()) == Adaptive().decide(hey, T0)


def test_duplex_is_a_turn_policy_by_name_and_takes_no_value() -> None:
    assert turn_policy("duplex").name == "duplex"
    with pytest.raises(ValueError, match="duplex takes no value"):
        turn_policy("duplex:2")


async def test_a_draft_is_cut_into_parts_like_a_reply_and_never_shows_a_silence_token() -> None:
    request = ReplyRequest(system="You are Sunny.", history=(), unanswered=(), max_parts=2, max_part_chars=160,
                           limit=2000)
    session = DraftedReply("sunny: omg congrats <|silence|>\n\nwhen do u start\nand where\nlol")
    said = [i async for i in session.reply(request, Feed(VirtualClock()))]
    assert said == [Say("omg congrats"), Say("when do u start\nand where\nlol")]


async def test_a_rambling_answer_is_cut_off_at_its_first_wrong_words_not_read_to_the_end() -> None:
    async with FakeOpenAIServer(chunk_delay=0.002) as server:
        server.replies("sure! here is what i think about that. " * 40)
        client = openai.AsyncOpenAI(base_url=server.url, api_key="sk-test", max_retries=0)
        model = OpenAIDuplex(client, "duplex-model", VirtualClock())
        request = ReplyRequest(system="You are Sunny.", history=(), unanswered=(Line("human", "hey", 0.0),),
                               max_parts=2, max_part_chars=160, limit=2000)
        try:
            with pytest.raises(NoPrediction, match="malformed answer"):
                await model.predict(DuplexQuestion(request, 2, 0.5), timeout=5.0)
            assert server.requests[0]["stream"] is True
            assert server.requests[0]["messages"][-1]["content"] == "hey <|silence|> <|silence|>"
            async with asyncio.timeout(5):
                while not server.streams_cut_short:
                    await asyncio.sleep(0.01)
        finally:
            await client.close()
