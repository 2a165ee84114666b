"""One tab flooding its socket: what it is told, what the bot takes in, and that the socket stays usable."""

from __future__ import annotations

import asyncio
import json

from bot.web.limits import BURST, MAX_FRAME_CHARS
from tests.web_kit import Tab, web_chat


async def send_all(tab: Tab, count: int, prefix: str = "m") -> list[dict[str, object]]:
    """Send `count` messages without waiting, reading the answers meanwhile as a page does; the answers."""
    async def writer() -> None:
        for n in range(1, count + 1):
            await tab.send({"type": "message", "id": f"{prefix}{n}", "text": f"spam {n}"})

    sending = asyncio.create_task(writer())
    answers = [await tab.next("ack", "not_sent") for _ in range(count)]
    await sending
    return answers


async def test_a_tab_sending_faster_than_its_rate_is_told_which_messages_were_not_taken_and_can_retry() -> None:
    async with web_chat() as site, site.tab("eager-tab") as tab:
        answers = await send_all(tab, BURST + 5)
        assert [a["type"] for a in answers] == ["ack"] * BURST + ["not_sent"] * 5
        refused = answers[BURST:]
        assert [a["id"] for a in refused] == [f"m{n}" for n in range(BURST + 1, BURST + 6)]
        assert all(str(a["text"]).startswith("slow down: at most 5 messages a second") for a in refused)
        assert site.transcript("eager-tab") == [f"spam {n}" for n in range(1, BURST + 1)], "refused means not shown"
        await site.clock.advance(1.0)  # five more may go now: the page's retry button sends them again
        for n in range(BURST + 1, BURST + 6):
            assert await tab.says(f"m{n}", f"spam {n}") == {"type": "ack", "id": f"m{n}"}
        assert [t for t in site.transcript("eager-tab") if t.startswith("spam")][-5:] == [
            f"spam {n}" for n in range(BURST + 1, BURST + 6)]


async def test_typing_notices_do_not_use_up_the_rate() -> None:
    async with web_chat() as site, site.tab("typist-tab") as tab:
        for _ in range(100):
            await tab.send({"type": "typing"})
        answers = await send_all(tab, BURST)
        assert {a["type"] for a in answers} == {"ack"}


async def test_a_burst_of_two_thousand_messages_is_answered_one_by_one_and_the_socket_stays_open() -> None:
    async with web_chat() as site, site.tab("flood-tab") as tab:
        answers = await send_all(tab, 2000)
        assert sum(a["type"] == "ack" for a in answers) == BURST
        assert sum(a["type"] == "not_sent" for a in answers) == 2000 - BURST, "nothing silently dropped"
        pong = await tab.ws.ping()
        await asyncio.wait_for(pong, 5)
        assert await tab.says("after", "still there?") == {"type": "not_sent", "id": "after",
                                                           "text": "slow down: at most 5 messages a second; "
                                                                   "this one was not sent"}
        actor = site.chat.engine.actors[next(iter(site.chat.engine.actors))]
        assert len(actor.state.pending) == BURST, "the bot took in only what the tab was told it took"


async def test_unreadable_frames_get_a_clear_answer_and_the_socket_stays_open() -> None:
    async with web_chat() as site, site.tab("broken-page") as tab:
        for raw in ("[" * 50_000, '{"a":' * 12_000, "null", "not json", json.dumps(["message"])):
            await tab.send(raw)
            notice = await tab.next("notice")
            assert notice == {"type": "notice", "ok": False, "field": "", "text": "the page sent something unreadable"}
        big = json.dumps({"type": "message", "id": "big", "text": "x" * MAX_FRAME_CHARS})
        await tab.send(big)
        too_long = await tab.next("notice")
        assert too_long["text"] == f"the page sent {len(big):,} characters at once; the most is 65,536"
        await tab.send({"type": "message", "id": "huge", "text": "y" * 5000})
        assert await tab.next("not_sent") == {"type": "not_sent", "id": "huge", "text": "not sent: empty or too long"}
        assert await tab.says("ok1", "hi") == {"type": "ack", "id": "ok1"}
        assert site.transcript("broken-page") == ["hi"]
