"""An asyncpg pool whose every connection is set up the same way, every time it is acquired.

`make_pool(dsn, min_size=2, max_size=10)` returns an open `asyncpg.Pool` where:
- every connection, whenever it is acquired, uses the UTC time zone and a `statement_timeout` of 30 s
  (asyncpg runs `RESET ALL` when a connection goes back to the pool: a `SET` made once does not last);
- `jsonb` values come back as Python objects (`dict`, `list`, ...): register a codec;
- a connection idle for 300 s is closed (`max_inactive_connection_lifetime`).

Read: notebooks/04_pooling/01_what_a_connection_costs.ipynb, "A pool of your own" and "What RESET ALL undoes".
Check: course check pooling/asyncpg_pool
"""

from __future__ import annotations

import json

import asyncpg


async def make_pool(dsn: str, *, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    """An open pool of `min_size`..`max_size` connections, each in UTC with a 30 s statement timeout."""
    # TODO: your code here
    raise NotImplementedError
