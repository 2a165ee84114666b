"""Gateway events in: discord.py messages, edits, deletes and typing starts → the core's events."""

from __future__ import annotations

import mimetypes
import re
from typing import Protocol

import discord

from bot.core.events import Author, ConversationKey, Event, HumanDelete, HumanEdit, HumanMessage, HumanTyping

PLATFORM = "discord"
TYPING_TTL = 10.0  # Discord shows a typing start for about ten seconds
_CHAT_TYPES = (discord.MessageType.default, discord.MessageType.reply)


class Receiver(Protocol):
    """Where translated events go: the engine, or anything that forwards to it."""

    async def receive(self, event: Event) -> bool | None:
        """Take one event; return once the conversation has it (False: another worker's conversation has it)."""
        ...


def channel_id(key: ConversationKey) -> int:
    """The Discord channel a conversation lives in: its thread, else its channel."""
    return int(key.thread or key.chat)


def attachment_kind(attachment: discord.Attachment) -> str:
    """A word for what was attached: photo, video, voice message, audio or file."""
    if attachment.is_voice_message():
        return "voice message"
    kind = attachment.content_type or mimetypes.guess_type(attachment.filename)[0] or ""
    for prefix, word in (("image/", "photo"), ("video/", "video"), ("audio/", "audio")):
        if kind.startswith(prefix):
            return word
    return "file"


def from_human(message: discord.Message) -> bool:
    """True for a person's own chat message (not a bot, webhook or system notice)."""
    return not message.author.bot and message.webhook_id is None and message.type in _CHAT_TYPES


class Translator:
    """Turns discord.py's gateway objects into the core's events; None for what is not a human's."""

    def __init__(self, client: discord.Client, persona_name: str) -> None:
        self._client = client
        self._persona = persona_name
        self._name = re.compile(rf"\b{re.escape(persona_name)}\b", re.IGNORECASE)

    def key(self, channel: int) -> ConversationKey:
        """The conversation of a channel; a thread is its own conversation under its parent."""
        found = self._client.get_channel(channel)
        if isinstance(found, discord.Thread):
            return ConversationKey(PLATFORM, str(found.parent_id), str(found.id))
        return ConversationKey(PLATFORM, str(channel))

    def _me(self) -> int | None:
        return self._client.user.id if self._client.user is not None else None

    def message(self, message: discord.Message) -> HumanMessage | None:
        """A human's message: DMs always reach the bot; in servers `addressed` says if it was for it.

        Another bot's chat message in a server comes as context (`from_bot`): the engine never answers it.
        """
        from_bot = message.author.bot and message.guild is not None and message.author.id != self._me()
        if not (from_human(message) or (from_bot and message.webhook_id is None and message.type in _CHAT_TYPES)):
            return None
        kinds = tuple(attachment_kind(a) for a in message.attachments) + ("sticker",) * len(message.stickers)
        is_group = message.guild is not None
        return HumanMessage(
            key=self.key(message.channel.id), message_id=str(message.id),
            author=Author(str(message.author.id), message.author.display_name),
            text=self.text(message), attachments=kinds, is_group=is_group,
            addressed=not is_group or self.addressed(message), from_bot=from_bot,
        )

    def text(self, message: discord.Message) -> str:
        """The message's words, with user mentions as @names (the bot's as its persona's name)."""
        text = message.content
        for user in message.mentions:
            name = self._persona if user.id == self._me() else user.display_name
            text = re.sub(rf"<@!?{user.id}>", f"@{name}", text)
        return text.strip()

    def addressed(self, message: discord.Message) -> bool:
        """Mentioned, replied to, or called by the persona's name."""
        me = self._me()
        if any(user.id == me for user in message.mentions):
            return True
        replied = message.reference.resolved if message.reference is not None else None
        if isinstance(replied, discord.Message) and replied.author.id == me:
            return True
        return bool(self._name.search(message.content))

    def edit(self, payload: discord.RawMessageUpdateEvent) -> HumanEdit | None:
        """A human changed the words of a message (embed-only updates are not edits)."""
        if "content" not in payload.data or not from_human(payload.message):
            return None
        return HumanEdit(self.key(payload.channel_id), str(payload.message_id), self.text(payload.message))

    def deletes(self, channel: int, message_ids: set[int], cached: list[discord.Message]) -> list[HumanDelete]:
        """Deletions of messages not known to be a bot's."""
        bots = {m.id for m in cached if m.author.bot}
        key = self.key(channel)
        return [HumanDelete(key, str(mid)) for mid in sorted(message_ids - bots)]

    def typing(self, payload: discord.RawTypingEvent) -> HumanTyping | None:
        """A human started typing (DMs carry no user object without the members intent)."""
        user = payload.user
        if payload.user_id == self._me() or (user is not None and user.bot):
            return None
        name = user.display_name if user is not None else ""
        return HumanTyping(self.key(payload.channel_id), Author(str(payload.user_id), name), TYPING_TTL)
