# must fail: test_hundred_concurrent_fetchval_never_use_more_than_max_size
"""A pool per query: every call opens (and closes) its own pool, so 100 concurrent calls open 100 backends.
"""

from __future__ import annotations

import json

import asyncpg


class LazyPool:
    """Looks like a pool; opens a small pool for every query and closes it afterwards."""

    def __init__(self, dsn: str, max_size: int) -> None:
        self.dsn, self.max_size = dsn, max_size

    async def _pool(self) -> asyncpg.Pool:
        async def init(conn: asyncpg.Connection) -> None:
            await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")

        return await asyncpg.create_pool(
            self.dsn, min_size=1, max_size=1, max_inactive_connection_lifetime=300.0, init=init,
            server_settings={"timezone": "UTC", "statement_timeout": "30s"},
        )

    async def fetchval(self, query, *args):
        async with await self._pool() as pool:
            return await pool.fetchval(query, *args)

    async def fetchrow(self, query, *args):
        async with await self._pool() as pool:
            return await pool.fetchrow(query, *args)

    async def fetch(self, query, *args):
        async with await self._pool() as pool:
            return await pool.fetch(query, *args)

    async def close(self) -> None:
        pass


async def make_pool(dsn: str, *, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    """An open pool of `min_size`..`max_size` connections, each in UTC with a 30 s statement timeout."""
    return LazyPool(dsn, max_size)
