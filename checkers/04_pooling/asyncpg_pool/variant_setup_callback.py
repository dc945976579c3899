# passes: SETs in a setup= callback run at every acquire (not server_settings), codec via a module-level init
"""The settings are applied at every acquire by `setup`, after RESET ALL; the codec once per connection."""

from __future__ import annotations

import json

import asyncpg


async def make_pool(dsn: str, *, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    """An open pool of `min_size`..`max_size` connections, each in UTC with a 30 s statement timeout."""
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        max_inactive_connection_lifetime=5 * 60,
        init=_register_codecs,
        setup=_apply_settings,
    )


async def _register_codecs(conn: asyncpg.Connection) -> None:
    """Once per connection: codecs are client-side and survive RESET ALL."""
    await conn.set_type_codec(
        "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog", format="text"
    )


async def _apply_settings(conn: asyncpg.Connection) -> None:
    """Every acquire: server settings made with SET are reset when the connection is released."""
    await conn.execute("SET TIME ZONE 'UTC'; SET statement_timeout = 30000")
