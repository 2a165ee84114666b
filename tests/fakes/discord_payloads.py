"""Builders for the Discord API objects the fake server sends (users, members, channels, guilds)."""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterable, Sequence
from typing import Any

JSON = dict[str, Any]
UserLike = JSON | int

DISCORD_EPOCH_MS = 1_420_070_400_000
ADMINISTRATOR = str(1 << 3)  # the permissions string of a server admin
# Discord's default @everyone permissions (view channel, send messages, read history, ...).
EVERYONE_PERMISSIONS = "104324673"
_THREAD_TYPES = (10, 11, 12)


def iso_now() -> str:
    """Return the current UTC time the way Discord formats timestamps."""
    return datetime.datetime.now(datetime.UTC).isoformat()


class Snowflakes:
    """Strictly increasing snowflake ids whose embedded time is the wall clock."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        """Return a fresh id, greater than every id returned before."""
        stamp = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last = max(self._last + 1, stamp)
        return self._last


def make_user(user_id: int, username: str | None = None, *, bot: bool = False) -> JSON:
    """Build a Discord user object."""
    name = username or f"user{user_id}"
    return {
        "id": str(user_id), "username": name, "global_name": name, "discriminator": "0",
        "avatar": None, "bot": bot, "public_flags": 0,
    }


def make_member(user: JSON, roles: Iterable[int] = (), *, permissions: str | None = None) -> JSON:
    """Build a guild member object wrapping ``user`` (``permissions`` only in interactions)."""
    member: JSON = {
        "user": user, "roles": [str(r) for r in roles], "nick": None, "joined_at": iso_now(),
        "deaf": False, "mute": False, "flags": 0, "pending": False,
    }
    if permissions is not None:
        member["permissions"] = permissions
    return member


def make_channel(spec: int | JSON, position: int, guild_id: int) -> JSON:
    """Build a guild channel (text by default; types 10-12 become threads) from an id or a dict."""
    given = {"id": spec} if isinstance(spec, int) else dict(spec)
    cid = int(given["id"])
    channel: JSON = {
        "type": 0, "name": f"channel-{cid}", "position": position, "permission_overwrites": [],
        "nsfw": False, "rate_limit_per_user": 0, "last_message_id": None, "parent_id": None,
        "topic": None, "guild_id": str(guild_id), "flags": 0,
    }
    if given.get("type") in _THREAD_TYPES:
        channel |= {
            "owner_id": "0", "message_count": 0, "member_count": 0, "total_message_sent": 0,
            "thread_metadata": {
                "archived": False, "auto_archive_duration": 1440, "locked": False,
                "archive_timestamp": iso_now(),
            },
        }
    channel |= given
    for key in ("id", "parent_id", "owner_id"):
        if channel.get(key) is not None:
            channel[key] = str(channel[key])
    return channel


def is_thread(channel: JSON) -> bool:
    """Whether a channel object is a thread."""
    return channel.get("type") in _THREAD_TYPES


def make_guild(
    guild_id: int, name: str, channels: Sequence[JSON], members: Sequence[JSON],
    owner_id: int, roles: Sequence[JSON] = (),
) -> JSON:
    """Build the GUILD_CREATE payload of an available guild."""
    everyone = {
        "id": str(guild_id), "name": "@everyone", "permissions": EVERYONE_PERMISSIONS,
        "position": 0, "color": 0, "hoist": False, "managed": False, "mentionable": False,
        "flags": 0,
    }
    return {
        "id": str(guild_id), "name": name, "owner_id": str(owner_id), "unavailable": False,
        "icon": None, "splash": None, "features": [], "emojis": [], "stickers": [],
        "roles": [everyone, *({"position": 1, "permissions": "0", **r} for r in roles)],
        "channels": [c for c in channels if not is_thread(c)],
        "threads": [c for c in channels if is_thread(c)],
        "members": list(members), "member_count": len(members), "large": False,
        "voice_states": [], "presences": [], "stage_instances": [],
        "guild_scheduled_events": [], "soundboard_sounds": [], "joined_at": iso_now(),
        "preferred_locale": "en-US", "verification_level": 0, "mfa_level": 0,
        "default_message_notifications": 0, "explicit_content_filter": 0, "nsfw_level": 0,
        "premium_tier": 0, "system_channel_flags": 0,
    }


def application(bot: JSON) -> JSON:
    """Build the application object of ``bot`` (``GET /oauth2/applications/@me``)."""
    return {
        "id": bot["id"], "name": bot["username"], "description": "", "icon": None,
        "bot_public": True, "bot_require_code_grant": False, "verify_key": "0" * 64,
        "owner": make_user(1, "owner"), "team": None, "flags": 0, "bot": bot,
        "interactions_endpoint_url": None, "redirect_uris": [], "tags": [],
    }


def rate_limit_headers(retry_after: float, global_: bool, bucket: str) -> dict[str, str]:
    """Return the headers of a Discord 429 (``Via`` is required: without it discord.py treats a
    429 as a Cloudflare ban and raises instead of retrying)."""
    headers = {
        "Retry-After": str(max(1, int(-(-retry_after // 1)))),
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
        "X-RateLimit-Reset-After": f"{retry_after:.3f}",
        "X-RateLimit-Scope": "global" if global_ else "user",
        "Via": "1.1 google",
    }
    if global_:
        headers["X-RateLimit-Global"] = "true"
    else:
        headers["X-RateLimit-Bucket"] = bucket
    return headers
