"""Telegram messages and edits in the engine's words: conversation keys, authors, attachments, addressing.

There is no delete here: the Bot API sends bots no update when a human deletes a message, so a
Telegram conversation never produces a HumanDelete (a deleted message stays in the burst).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from telegram import Chat, Message, MessageEntity

from bot.core.events import Author, ConversationKey, HumanEdit, HumanMessage

PLATFORM = "telegram"
GROUP_TYPES = frozenset({Chat.GROUP, Chat.SUPERGROUP})


def conversation_key(message: Message) -> ConversationKey:
    """The chat, plus the forum topic when the message is in one (replies elsewhere share the chat)."""
    thread = message.message_thread_id if message.is_topic_message else None
    return ConversationKey(PLATFORM, str(message.chat.id), str(thread) if thread else "")


def is_group(message: Message) -> bool:
    """True in groups and supergroups (forum topics included)."""
    return message.chat.type in GROUP_TYPES


def author_of(message: Message) -> Author | None:
    """Who wrote it: the user, or the chat an anonymous admin or a channel posted as; None for bots."""
    if message.sender_chat is not None:
        return Author(f"chat{message.sender_chat.id}", message.sender_chat.title or "")
    user = message.from_user
    if user is None or user.is_bot:
        return None
    return Author(str(user.id), user.full_name)


def text_of(message: Message) -> str:
    """The message's text, or a media message's caption."""
    return message.text or message.caption or ""


def attachment_kinds(message: Message) -> tuple[str, ...]:
    """What came with the message, in words the prompt can use ("photo", "😂 sticker", "voice message")."""
    kinds = [kind for kind in (_media_kind(message), _shared_kind(message)) if kind]
    return tuple(kinds)


def _media_kind(message: Message) -> str | None:
    if message.photo:
        return "photo"
    if message.sticker:
        return f"{message.sticker.emoji} sticker" if message.sticker.emoji else "sticker"
    if message.animation:  # a GIF also carries a `document`: name it once, as what people see
        return "GIF"
    if message.voice:
        return "voice message"
    if message.video_note:
        return "video message"
    if message.video:
        return "video"
    if message.audio:
        return "music file"
    if message.document:
        return f"file ({message.document.file_name})" if message.document.file_name else "file"
    return None


def _shared_kind(message: Message) -> str | None:
    if message.venue:  # a venue also carries a `location`
        return f"place ({message.venue.title})"
    if message.location:
        return "location"
    if message.contact:
        return "contact"
    if message.poll:
        return f"poll ({message.poll.question})"
    if message.dice:
        return f"{message.dice.emoji} roll ({message.dice.value})"
    if message.story:
        return "story"
    return None


@dataclass(frozen=True)
class Addressing:
    """How the bot is called in a group: its @username, its user id (replies), its persona's names."""

    bot_id: int
    username: str
    names: tuple[str, ...] = ()

    def addressed(self, message: Message) -> bool:
        """True when the message mentions the bot, replies to it, or calls its persona by name."""
        return self._mentioned(message) or self._replied_to(message) or self._named(text_of(message))

    def _mentioned(self, message: Message) -> bool:
        kinds: list[str | None] = [MessageEntity.MENTION, MessageEntity.TEXT_MENTION]
        found = {**message.parse_entities(kinds), **message.parse_caption_entities(kinds)}
        handle = f"@{self.username}".lower()
        return any(
            (entity.user is not None and entity.user.id == self.bot_id) or text.lower() == handle
            for entity, text in found.items()
        )

    def _replied_to(self, message: Message) -> bool:
        replied = message.reply_to_message
        return replied is not None and replied.from_user is not None and replied.from_user.id == self.bot_id

    def _named(self, text: str) -> bool:
        return any(re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text, re.IGNORECASE) for name in self.names)


def human_message(message: Message, addressing: Addressing) -> HumanMessage | None:
    """The engine's HumanMessage for a new Telegram message; None for service messages and the like.

    Another bot's message in a group (Telegram shows bots few of those) comes as context (`from_bot`).
    """
    author, user, from_bot = author_of(message), message.from_user, False
    if author is None and user is not None and user.is_bot and is_group(message):
        author, from_bot = Author(str(user.id), user.full_name), True
    text, kinds = text_of(message), attachment_kinds(message)
    if author is None or message.is_automatic_forward or not (text.strip() or kinds):
        return None
    group = is_group(message)
    return HumanMessage(
        key=conversation_key(message), message_id=str(message.message_id), author=author, text=text,
        attachments=kinds, is_group=group, addressed=not group or addressing.addressed(message), from_bot=from_bot,
    )


def human_edit(message: Message) -> HumanEdit | None:
    """The engine's HumanEdit for an edited message (its new text or caption)."""
    if author_of(message) is None:
        return None
    return HumanEdit(conversation_key(message), str(message.message_id), text_of(message))
