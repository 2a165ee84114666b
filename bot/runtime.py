"""Process-level tuning for a long-running bot: keep the garbage collector from pausing the loop."""

from __future__ import annotations

import asyncio
import gc
import time

# Collections of the young generation happen every this many new container objects.
GC_THRESHOLDS = (10_000, 50, 100)
FREEZE_EVERY = 1.0
FULL_COLLECT_EVERY = 600.0


def tune_gc() -> None:
    """Freeze what start-up created (modules, personas, the turn model) and collect less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


async def keep_gc_young(freeze_every: float = FREEZE_EVERY, full_every: float = FULL_COLLECT_EVERY) -> None:
    """Every second, move what survived into the permanent generation; every ten minutes, collect it all.

    With thousands of live conversations CPython's older generations grow to hundreds of thousands of
    objects and one collection of them stalls the event loop for 100-400 ms: late typing, late sends.
    Frozen objects are still freed by reference counting; only garbage *cycles* among them wait for
    the periodic full collection, which is the one long pause left (measured by `textbot bench engine`).
    """
    last_full = time.monotonic()
    while True:
        await asyncio.sleep(freeze_every)
        if time.monotonic() - last_full >= full_every:
            gc.unfreeze()
            gc.collect()
            last_full = time.monotonic()
        gc.freeze()
