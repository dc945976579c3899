# must fail: test_jsonb_comes_back_as_python_objects
"""Settings right, but no jsonb codec: jsonb comes back as a str.
"""

from __future__ import annotations

import json

import asyncpg


async def make_pool(dsn: str, *, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    """An open pool of `min_size`..`max_size` connections, each in UTC with a 30 s statement timeout."""

    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        max_inactive_connection_lifetime=300.0,
        server_settings={"timezone": "UTC", "statement_timeout": "30s"},
    )
