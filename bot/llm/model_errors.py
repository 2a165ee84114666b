"""How a model client reads failures: which errors are worth a retry, how long to back off, one log per streak."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import openai

log = logging.getLogger(__name__)
RETRYABLE = (openai.RateLimitError, openai.APIConnectionError, openai.InternalServerError, openai.APITimeoutError)
MAX_RETRY_AFTER = 30.0


@dataclass
class RetryPolicy:
    """Bounded retries with exponential backoff (or the server's retry-after)."""

    attempts: int = 3
    backoff: float = 1.0

    def delay(self, attempt: int, exc: Exception) -> float:
        """Seconds to wait before attempt number `attempt + 1`."""
        retry_after = _retry_after(exc)
        if retry_after is not None:
            return min(retry_after, MAX_RETRY_AFTER)
        return float(self.backoff * 2**attempt)


def _retry_after(exc: Exception) -> float | None:
    response = getattr(exc, "response", None)
    if response is None:
        return None
    try:
        return float(response.headers.get("retry-after", ""))
    except ValueError:
        return None


def describe(exc: Exception) -> str:
    """A log-safe description: the error's type and status, never a request, a reply or a key."""
    status = getattr(exc, "status_code", None)
    return f"{type(exc).__name__}" + (f" (HTTP {status})" if status else "")


class FailureStreak:
    """One log line when the model starts failing and one when it answers again, not a line per failure."""

    def __init__(self) -> None:
        self.failing = False

    def failed(self, exc: Exception) -> None:
        """Note a failure (logged only if it starts a streak)."""
        if not self.failing:
            log.warning("the model is not answering properly: %s; retrying with backoff", describe(exc))
        self.failing = True

    def recovered(self) -> None:
        """Note an answer (logged only if it ends a streak)."""
        if self.failing:
            log.info("the model is answering again")
        self.failing = False


def is_final(exc: Exception) -> bool:
    """A 4xx other than 429: the request itself is refused, so retrying will not help."""
    return isinstance(exc, openai.APIStatusError) and not isinstance(exc, RETRYABLE)
