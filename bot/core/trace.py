"""Collects what each conversation did (the trace) for live listeners and, in batches, for the store."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from bot.core.events import ConversationKey
from bot.core.ports import Store, TraceEvent

log = logging.getLogger(__name__)
Listener = Callable[[ConversationKey, TraceEvent], None]


class TraceRecorder:
    """A Tracer: hands each event to live listeners at once and saves them to the store in batches."""

    def __init__(self, store: Store | None = None, persist: bool = True) -> None:
        self.store = store
        self.persist = persist and store is not None
        self.listeners: list[Listener] = []
        self._buffer: dict[ConversationKey, list[TraceEvent]] = {}
        self._flushing: asyncio.Task[None] | None = None

    def __call__(self, key: ConversationKey, kind: str, at: float, **data: Any) -> None:
        """Note one event."""
        event = TraceEvent(kind, at, data)
        for listener in list(self.listeners):
            listener(key, event)
        if self.persist:
            self._buffer.setdefault(key, []).append(event)
            if self._flushing is None or self._flushing.done():
                self._flushing = asyncio.get_running_loop().create_task(self.flush(), name="trace-flush")

    async def flush(self) -> None:
        """Write buffered events to the store."""
        assert self.store is not None
        while self._buffer:
            batch, self._buffer = self._buffer, {}
            for key, events in batch.items():
                try:
                    await self.store.record_trace(key, events)
                except Exception as exc:  # the timeline is a diagnostic: never let it break a chat
                    log.warning("could not store %d trace events: %s", len(events), type(exc).__name__)
