"""Sending one message exactly once at most: flood waits honoured, retries only when Telegram surely did not act.

A Bot API sendMessage has no idempotency key. If the connection drops or the read times out after
the request went out, Telegram may well have delivered the message; sending it again would show the
human the same text twice, which no person does. So the rule is at-most-once:

- 429 (RetryAfter): Telegram refused it. Wait `retry_after` on the clock, then send it again.
- The server answered with another error (5xx, an unparsable gateway page): refused, retried with backoff.
- The request never left (connect error, connect or pool timeout): retried with backoff.
- Anything ambiguous (read timeout, connection closed without an answer, write errors): not retried.
  The error is raised, so the core counts the part as not sent and ends that reply; at worst the
  human saw one part the bot does not remember saying, never a duplicate.
- Bad requests, a blocked bot, a migrated chat: raised at once.
"""

from __future__ import annotations

import datetime as dtm
import logging
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from bot.adapters.telegram.lanes import ChatLane
from bot.core.clock import Clock

log = logging.getLogger(__name__)
T = TypeVar("T")
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class SendRetry:
    """How patiently one message is retried: bounded attempts, exponential backoff, a cap on flood waits."""

    attempts: int = 4
    backoff: float = 1.0
    max_backoff: float = 16.0
    max_flood_wait: float = 120.0

    def backoff_for(self, failures: int) -> float:
        """Seconds to wait after the `failures`-th refused attempt."""
        return float(min(self.max_backoff, self.backoff * 2 ** (failures - 1)))


def retry_seconds(exc: RetryAfter) -> float:
    """How long Telegram asked us to wait, in seconds, without PTB's int-or-timedelta deprecation noise."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


def surely_unsent(exc: TelegramError) -> bool:
    """True when Telegram certainly did not act on the request, so sending it again cannot duplicate it."""
    if isinstance(exc, BadRequest) or not isinstance(exc, NetworkError):
        return False  # refused for good (or not a transport problem): retrying will not help
    cause = exc.__cause__
    if cause is None or isinstance(cause, TelegramError):
        return True  # the server answered with an error status: it did not take the message
    return isinstance(cause, _NEVER_SENT)


async def send_at_most_once(clock: Clock, lane: ChatLane, policy: SendRetry, call: Callable[[], Awaitable[T]]) -> T:
    """Run one sending Bot API call in `lane`'s turn, retrying only as the module docstring allows."""
    failures, flood_waited = 0, 0.0
    while True:
        await lane.wait_turn()
        try:
            async with clock.hold():
                result = await call()
        except RetryAfter as exc:
            wait = retry_seconds(exc)
            if flood_waited + wait > policy.max_flood_wait:
                raise
            flood_waited += wait
            lane.hold_off(wait)
            log.info("Telegram asked to wait %.0f s before the next message", wait)
            continue
        except NetworkError as exc:
            failures += 1
            if not surely_unsent(exc) or failures >= policy.attempts:
                raise
            lane.hold_off(policy.backoff_for(failures))
            log.info("sending failed before Telegram took it (%s); retrying", type(exc).__name__)
            continue
        lane.note_sent()
        return result
