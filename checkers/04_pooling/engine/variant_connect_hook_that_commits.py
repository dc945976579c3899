# passes: SET in a sync connect event hook, committed on the DBAPI connection; sizing without a tolerance constant
"""Settings applied by a connect hook that commits, so no rollback at check-in can undo them."""

from __future__ import annotations

import math

from sqlalchemy import event
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
    exact = rps * hold_seconds * safety
    needed = round(exact) if abs(exact - round(exact)) < 1e-9 else math.ceil(exact)
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
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_pre_ping=True,
        pool_recycle=1800,
    )

    @event.listens_for(engine.sync_engine, "connect")
    def apply_settings(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT set_config('statement_timeout', $1, false)", (str(int(statement_timeout_ms)),))
        cursor.execute("SELECT set_config('application_name', $1, false)", (application_name,))
        cursor.close()
        dbapi_connection.commit()  # a committed SET lasts for the session

    return engine
