"""The testing kit textbot ships (as httpx ships MockTransport): a recording outlet, a counting outlet,
a scripted responder, and the virtual clock they run on. Tests, benchmarks and browser tests use these."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

from bot.core.clock import Clock, VirtualClock
from bot.core.events import ConversationKey
from bot.core.ports import CannotChange, Intent, ReplyRequest, ResponderFailed, Say, SessionFeed, always_wanted

__all__ = ["CountingOutlet", "RecordingOutlet", "ScriptedResponder", "Sent", "VirtualClock", "unanswered_texts"]


@dataclass
class Sent:
    """A message the human saw arrive (and what became of it)."""

    at: float
    text: str
    reply_to: str | None
    key: ConversationKey
    platform_id: str = ""
    edited: list[str] = field(default_factory=list)
    unsent: bool = False


@dataclass
class RecordingOutlet:
    """An outlet that records what the human would see, stamped with the clock's time."""

    clock: Clock
    platform: str = "test"
    limit: int = 2000
    typing_ttl: float = 5.0
    has_typing_signal: bool = False
    can_change: bool = True
    sent: list[Sent] = field(default_factory=list)
    typing_at: list[float] = field(default_factory=list)
    typing_stopped_at: list[float] = field(default_factory=list)

    async def send(
        self, key: ConversationKey, text: str, reply_to: str | None, still_wanted: Callable[[], bool] = always_wanted
    ) -> str:
        """Record a delivered message."""
        platform_id = f"m{len(self.sent) + 1}"
        self.sent.append(Sent(self.clock.now(), text, reply_to, key, platform_id))
        return platform_id

    async def typing(self, key: ConversationKey) -> None:
        """Record an indicator refresh."""
        self.typing_at.append(self.clock.now())

    async def stop_typing(self, key: ConversationKey) -> None:
        """Record the indicator being hidden."""
        self.typing_stopped_at.append(self.clock.now())

    async def edit(self, key: ConversationKey, platform_id: str, text: str) -> None:
        """Record a new text for a delivered message."""
        self._find(platform_id).edited.append(text)

    async def delete(self, key: ConversationKey, platform_id: str) -> None:
        """Record that a delivered message was taken back."""
        self._find(platform_id).unsent = True

    def _find(self, platform_id: str) -> Sent:
        found = next((s for s in self.sent if s.platform_id == platform_id and not s.unsent), None)
        if found is None or not self.can_change:
            raise CannotChange("no such message")
        return found

    def visible(self) -> list[str]:
        """What the human's screen shows now: each message's latest text, taken-back ones gone."""
        return [s.edited[-1] if s.edited else s.text for s in self.sent if not s.unsent]


@dataclass
class CountingOutlet:
    """An outlet that only counts what would be sent (benchmarks)."""

    platform: str = "bench"
    limit: int = 2000
    typing_ttl: float = 5.0
    has_typing_signal: bool = False
    sent: int = 0

    async def send(
        self, key: ConversationKey, text: str, reply_to: str | None, still_wanted: Callable[[], bool] = always_wanted
    ) -> str:
        """Count a message."""
        self.sent += 1
        return str(self.sent)

    async def typing(self, key: ConversationKey) -> None:
        """Nothing to show."""

    async def stop_typing(self, key: ConversationKey) -> None:
        """Nothing to hide."""

    async def edit(self, key: ConversationKey, platform_id: str, text: str) -> None:
        """Nothing to change."""

    async def delete(self, key: ConversationKey, platform_id: str) -> None:
        """Nothing to take back."""


@dataclass
class ScriptedResponder:
    """A stand-in model: thinks for `latency` seconds on its clock, then streams the scripted parts.

    `script` may return intents as well as plain strings (a string is a Say), so a test can script edits,
    unsends, holds and silence.
    """

    clock: Clock
    script: Callable[[ReplyRequest], Sequence[str | Intent]] = lambda request: ["ok"]
    latency: float = 1.0
    per_part: float = 0.2
    failures: int = 0
    requests: list[ReplyRequest] = field(default_factory=list)
    feeds: list[SessionFeed] = field(default_factory=list)

    async def reply(self, request: ReplyRequest, feed: SessionFeed) -> AsyncIterator[Intent]:
        """Yield the script's intents after the latency; fail while `failures` remain."""
        self.requests.append(request)
        self.feeds.append(feed)
        await self.clock.sleep(self.latency)
        if self.failures:
            self.failures -= 1
            raise ResponderFailed("scripted failure")
        for item in self.script(request):
            yield Say(item) if isinstance(item, str) else item
            await self.clock.sleep(self.per_part)


def unanswered_texts(request: ReplyRequest) -> list[str]:
    """What the human said that this request answers."""
    return [line.text for line in request.unanswered]
