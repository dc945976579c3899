# passes: connect hook running SET on the raw asyncpg connection (outside any transaction) via run_async
"""Settings applied on the driver connection itself, where no SQLAlchemy transaction can undo them."""

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
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_pre_ping=True,
        pool_recycle=1800,
    )

    @event.listens_for(engine.sync_engine, "connect")
    def set_session_defaults(dbapi_connection, _record) -> None:
        # The raw asyncpg connection runs outside any transaction: nothing can roll these back.
        async def apply(raw) -> None:
            await raw.execute(f"SET statement_timeout = {int(statement_timeout_ms)}")
            await raw.execute("SELECT set_config('application_name', $1, false)", application_name)

        dbapi_connection.run_async(apply)

    return engine
