"""Shared fixtures: a chat scene in virtual time, closed after each test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tests.kit import ChatScene


@pytest.fixture
async def scene_factory() -> AsyncIterator[Callable[..., Any]]:
    """Build chat scenes; every one is closed when the test ends."""
    scenes: list[ChatScene] = []

    async def make(**kwargs: Any) -> ChatScene:
        scene = ChatScene(**kwargs)
        await scene.setup()
        scenes.append(scene)
        return scene

    yield make
    for scene in scenes:
        await scene.close()
