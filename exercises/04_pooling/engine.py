"""Sizing a pool, then building the engine that uses it.

`recommend_pool_size(rps, hold_seconds, ...)` applies Little's law: `ceil(rps x hold_seconds x safety)`
(ignore floating-point noise below 1e-9), at least `minimum`, at most `(max_connections - reserved) //
instances`; when that cap is below `minimum`, the cap wins. `ValueError` for any negative input,
`safety < 1`, `instances < 1`, or no connection left per instance.

`make_engine(url, ...)` returns an `AsyncEngine` whose pool holds at most `pool_size + max_overflow`
connections, waits at most `pool_timeout` seconds for one, checks connections before use
(`pool_pre_ping`), recycles them after 30 minutes, and sets `statement_timeout` and `application_name`
on the server for EVERY connection, for as long as it lives (also after it went back to the pool).

Read: notebooks/04_pooling/02_sizing_lab.ipynb, "Little's law" and "An engine you can trust".
Check: course check pooling/engine
"""

from __future__ import annotations

import math

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def recommend_pool_size(
    rps: float,
    hold_seconds: float,
    *,
    safety: float = 2.0,
    minimum: int = 5,
    instances: int = 1,
    max_connections: int = 100,
    reserved: int = 10,
) -> int:
    """Connections one instance's pool should hold for `rps` requests/s each holding one `hold_seconds`."""
    # TODO: your code here
    raise NotImplementedError


def make_engine(
    url: str,
    *,
    pool_size: int,
    max_overflow: int,
    pool_timeout: float = 30.0,
    statement_timeout_ms: int = 30_000,
    application_name: str = "course",
) -> AsyncEngine:
    """An engine with a bounded pool whose every connection carries the server settings."""
    # TODO: your code here
    raise NotImplementedError
