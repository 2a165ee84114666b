"""Engine intents out: the bot's parts as Discord messages (posted, edited, deleted), "typing…" through REST."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot.adapters.discord.translate import PLATFORM, channel_id
from bot.core.clock import Clock
from bot.core.events import ConversationKey
from bot.core.ports import CannotChange, PartWithdrawn, always_wanted

log = logging.getLogger(__name__)
LIMIT = 2000
WITHDRAW_CHECK = 0.5  # seconds between asking a part waiting out a rate limit whether it is still wanted
INTERACTION = "interaction:"  # a reply_to naming a slash command waiting for its answer
# The bot may ping the person it answers, never a whole server or role.
MENTIONS = discord.AllowedMentions(everyone=False, roles=False, users=True, replied_user=True)


def fit(text: str, limit: int = LIMIT) -> list[str]:
    """The text as messages of at most `limit` characters, cut at a space where there is one."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind(" ", 1, limit + 1)
        cut = cut if cut > 0 else limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return [*pieces, text] if text or not pieces else pieces


async def _post(
    channel: discord.PartialMessageable, text: str, reference: discord.MessageReference | None
) -> discord.Message:
    # discord.py retries a 429 or 5xx itself, resending the same nonce with enforce_nonce set, so
    # Discord drops a repeat: a part is never posted twice, and the channel lock keeps the order.
    # A 429 asking for more than the client's max_ratelimit_timeout raises RateLimited instead.
    if reference is None:
        return await channel.send(text, allowed_mentions=MENTIONS)
    return await channel.send(text, reference=reference, allowed_mentions=MENTIONS)


class DiscordOutlet:
    """Sends parts and typing to Discord; one channel's sends go out strictly in order."""

    platform = PLATFORM
    limit = LIMIT
    typing_ttl = 10.0
    has_typing_signal = True

    def __init__(self, client: discord.Client, clock: Clock) -> None:
        self._client = client
        self._clock = clock
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
        self._interactions: dict[str, discord.Interaction[Any]] = {}
        self._limited_until: dict[int, float] = {}  # channel -> clock time its rate limit ends

    async def send(
        self, key: ConversationKey, text: str, reply_to: str | None, still_wanted: Callable[[], bool] = always_wanted
    ) -> str:
        """Post `text` (as a reply to `reply_to` when that is not the channel's newest message)."""
        if reply_to is not None and reply_to.startswith(INTERACTION):
            return await self._answer(reply_to, text)
        channel = self._client.get_partial_messageable(channel_id(key))
        reference = self._reference(channel, reply_to)
        async with self._lock(channel.id):
            for number, piece in enumerate(fit(text, self.limit)):
                # Once a piece of the part is out, the rest of it goes too, whatever the wait.
                wanted = still_wanted if number == 0 else always_wanted
                sent = await self._post_when_allowed(channel, piece, reference, wanted)
                reference = None
        return str(sent.id)

    async def _post_when_allowed(
        self, channel: discord.PartialMessageable, text: str, reference: discord.MessageReference | None,
        still_wanted: Callable[[], bool],
    ) -> discord.Message:
        """Post; a rate limit too long for discord.py to sit out is waited here, on the clock, where
        the part is withdrawn as soon as it is no longer wanted, and asked again right before it goes."""
        while True:
            await self._sit_out(self._limited_until.get(channel.id, 0.0), still_wanted, text)
            self._limited_until.pop(channel.id, None)
            if not still_wanted():
                raise PartWithdrawn(text)
            try:
                async with self._clock.hold():
                    return await _post(channel, text, reference)
            except discord.RateLimited as limited:  # nothing was posted
                log.warning("discord: channel %s is rate limited for %.1f s; its parts wait", channel.id,
                            limited.retry_after)
                self._limited_until[channel.id] = self._clock.now() + limited.retry_after

    async def _sit_out(self, until: float, still_wanted: Callable[[], bool], text: str) -> None:
        # The reply waits for a send in progress before it revises; a part waiting here is not on
        # the wire yet, so it must let go within a moment of the human writing, not after the limit.
        while (left := until - self._clock.now()) > 0:
            if not still_wanted():
                raise PartWithdrawn(text)
            await self._clock.sleep(min(WITHDRAW_CHECK, left))

    async def typing(self, key: ConversationKey) -> None:
        """Show "typing…" for about ten seconds."""
        async with self._clock.hold():
            await self._client.get_partial_messageable(channel_id(key)).typing()

    async def stop_typing(self, key: ConversationKey) -> None:
        """Discord cannot hide "typing…": it lapses by itself, or when the message arrives."""

    async def edit(self, key: ConversationKey, platform_id: str, text: str) -> None:
        """Change a sent message's text (PATCH), in order with the channel's sends."""
        if len(text) > self.limit:
            raise CannotChange(f"an edit must fit one Discord message ({self.limit} characters)")
        message = self._client.get_partial_messageable(channel_id(key)).get_partial_message(int(platform_id))
        await self._change(message.channel.id, lambda: message.edit(content=text, allowed_mentions=MENTIONS))

    async def delete(self, key: ConversationKey, platform_id: str) -> None:
        """Take a sent message back (DELETE), in order with the channel's sends."""
        message = self._client.get_partial_messageable(channel_id(key)).get_partial_message(int(platform_id))
        await self._change(message.channel.id, message.delete)

    async def _change(self, channel: int, call: Callable[[], Awaitable[object]]) -> None:
        """Run an edit or delete after the channel's earlier sends; Discord's refusals become CannotChange."""
        async with self._lock(channel):
            try:
                async with self._clock.hold():
                    await call()
            except discord.HTTPException as exc:
                if exc.status >= 500:  # discord.py retried it already; not a refusal, a failure
                    raise
                raise CannotChange(exc.text or f"Discord answered {exc.status}") from exc

    def await_answer(self, interaction: discord.Interaction[Any]) -> str:
        """Register a deferred slash command; its answer is sent with the returned reply_to."""
        # The interaction's own token rides along, so a worker that owns the chat can answer it from afar.
        token = f"{INTERACTION}{interaction.id}:{interaction.application_id}:{interaction.token}"
        self._interactions[token] = interaction
        return token

    def unanswered(self, token: str) -> discord.Interaction[Any] | None:
        """Forget a registered slash command; returns it if no answer was sent."""
        return self._interactions.pop(token, None)

    async def _answer(self, token: str, text: str) -> str:
        interaction = self._interactions.pop(token, None)
        async with self._clock.hold():
            if interaction is not None:
                message = await interaction.edit_original_response(content=fit(text, self.limit)[0])
            else:  # received by another worker: its response is edited through the interaction's webhook
                _, app_id, interaction_token = token.removeprefix(INTERACTION).split(":", 2)
                webhook = discord.Webhook.partial(int(app_id), interaction_token, client=self._client)
                message = await webhook.edit_message("@original", content=fit(text, self.limit)[0])  # type: ignore[call-overload]
        return str(message.id)

    def _reference(self, channel: discord.PartialMessageable, reply_to: str | None) -> discord.MessageReference | None:
        # Quoting the newest message in a channel is noise; quote only when others spoke since.
        if reply_to is None:
            return None
        cached = self._client.get_channel(channel.id)
        if str(getattr(cached, "last_message_id", None)) == reply_to:
            return None
        return channel.get_partial_message(int(reply_to)).to_reference(fail_if_not_exists=False)

    def _lock(self, channel: int) -> asyncio.Lock:
        lock = self._locks.get(channel)
        if lock is None:
            lock = self._locks[channel] = asyncio.Lock()
        return lock
