# must fail: test_every_connection_keeps_its_settings_also_after_check_in
"""Everything right but pool_recycle: connections live forever (the contract asks for 30 minutes).
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
    if min(rps, hold_seconds, minimum, max_connections, reserved) < 0:
        raise ValueError("inputs must not be negative")
    if safety < 1:
        raise ValueError("safety must be at least 1")
    if instances < 1:
        raise ValueError("instances must be at least 1")
    cap = (max_connections - reserved) // instances
    if cap < 1:
        raise ValueError("no connection left per instance")
    # 0.1 * 3 is 0.30000000000000004: without the tolerance, ceil() would add a whole connection.
    needed = math.ceil(rps * hold_seconds * safety - 1e-9)
    return min(max(needed, minimum), cap)


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
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_pre_ping=True,
        connect_args={
            "server_settings": {
                "statement_timeout": str(statement_timeout_ms),
                "application_name": application_name,
            }
        },
    )
