# must fail: test_jsonb_comes_back_as_python_objects
"""Registers the codec for `json`, not `jsonb`: a jsonb column still comes back as text.
"""

from __future__ import annotations

import json

import asyncpg


async def make_pool(dsn: str, *, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    """An open pool of `min_size`..`max_size` connections, each in UTC with a 30 s statement timeout."""

    async def init(conn: asyncpg.Connection) -> None:
        await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")

    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        max_inactive_connection_lifetime=300.0,
        init=init,
        server_settings={"timezone": "UTC", "statement_timeout": "30s"},
    )
