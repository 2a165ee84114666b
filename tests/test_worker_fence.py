"""A worker that may have lost a chat (its heartbeat stalled past the fence) neither sends nor records an answer."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.core.engine import Engine
from bot.workers.fence import LeaseLost, fenced
from tests.kit import ChatScene


def fenced_scene(held: dict[str, bool]) -> ChatScene:
    scene = ChatScene(script=lambda request: ["omg hi", "wbu?"])
    outlet, store = fenced(scene.outlet, scene.store, lambda key: held["lease"])
    scene.engine = Engine(replace(scene.engine.deps, outlet=outlet, store=store))
    return scene


async def test_while_the_lease_holds_the_reply_goes_out_as_usual() -> None:
    scene = fenced_scene({"lease": True})
    await scene.says("hey")
    await scene.until_quiet()
    assert scene.bot_texts() == ["omg hi", "wbu?"]
    assert (await scene.store.load(scene.key)).pending == []
    await scene.close()


async def test_a_lease_lost_before_the_reply_sends_nothing_and_leaves_the_message_for_the_next_owner() -> None:
    held = {"lease": True}
    scene = fenced_scene(held)
    await scene.says("hey")
    held["lease"] = False  # the heartbeat stalled: another worker may be answering this chat now
    await scene.waits(60)

    assert scene.bot_texts() == [], "not a part, not the persona's 'my phone died' line"
    assert [m.text for m in (await scene.store.load(scene.key)).pending] == ["hey"], "still unanswered in the store"
    with pytest.raises(LeaseLost):
        await scene.engine.deps.store.mark_answered(scene.key, ["h1"])
    await scene.close()
