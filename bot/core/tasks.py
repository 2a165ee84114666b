"""Small helpers for named, kept, properly cancelled tasks."""

from __future__ import annotations

import asyncio
from typing import Any


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel `task` and wait until it has really ended.

    asyncio.wait is used rather than awaiting the task so that the task's own CancelledError is
    not raised here, while a cancellation of *this* coroutine still propagates.
    """
    if task is None or task.done():
        return
    task.cancel()
    await asyncio.wait([task])
