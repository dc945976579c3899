# must fail: test_every_connection_uses_utc_and_the_timeout_also_after_release
"""SETs the time zone and timeout once, in init: asyncpg's RESET ALL at release undoes them.
"""

from __future__ import annotations

import json

import asyncpg


async def make_pool(dsn: str, *, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    """An open pool of `min_size`..`max_size` connections, each in UTC with a 30 s statement timeout."""

    async def init(conn: asyncpg.Connection) -> None:
        await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
        await conn.execute("SET timezone = 'UTC'")
        await conn.execute("SET statement_timeout = '30s'")

    return await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, max_inactive_connection_lifetime=300.0, init=init
    )
