"""`textbot timeline`: write a stored conversation's timeline as an SVG file."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.core.events import ConversationKey
from bot.core.ports import Store
from bot.settings import ConfigError, Settings
from bot.timeline.svg import render_timeline_svg


async def write_timeline(store: Store, key: ConversationKey, out_path: Path) -> int:
    """Render `key`'s stored trace to `out_path`; return how many events it holds (0: nothing stored)."""
    events = await store.load_trace(key)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(render_timeline_svg(events), encoding="utf-8")
    return len(events)


async def _from_database(settings: Settings, key: ConversationKey, out_path: Path) -> int:
    # Imported here: the SQL stack is only needed when reading DATABASE_URL.
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from bot.storage.sql_store import SqlStore

    url = make_url(settings.database_url)
    file = url.database if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") else None
    if file is not None and not Path(file).exists():  # do not leave an empty database file behind
        raise ConfigError(f"no database at {file} (DATABASE_URL): nothing has been stored yet")
    store = SqlStore.open(settings.database_url)
    try:
        return await write_timeline(store, key, out_path)
    except SQLAlchemyError as exc:
        raise ConfigError(f"could not read timelines from DATABASE_URL ({type(exc).__name__}); "
                          "is it the bot's database, migrated with `textbot db upgrade`?") from None
    finally:
        await store.close()


def timeline_command(
    platform: str, chat: str, thread: str, out_path: str | Path, settings: Settings, store: Store | None = None
) -> int:
    """Load the conversation's trace through the store's load_trace (DATABASE_URL's unless given) and write its SVG.

    Returns the exit code: 0 when events were drawn, 1 when the store holds none for that conversation.
    """
    key = ConversationKey(platform, chat, thread or "")
    out = Path(out_path)
    count = asyncio.run(write_timeline(store, key, out) if store is not None else _from_database(settings, key, out))
    if count == 0:
        print(f"textbot: no timeline stored for {key}; wrote an empty chart to {out}")
        return 1
    print(f"wrote {count} events of {key} to {out}")
    return 0
