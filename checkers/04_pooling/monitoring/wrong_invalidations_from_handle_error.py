# must fail: test_an_invalidated_connection_is_counted
"""Counts invalidations in the engine's handle_error event (disconnect errors only): an explicit
invalidate(), and a dead connection replaced by pre-ping, go uncounted.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


def instrument_pool(engine: AsyncEngine, registry: CollectorRegistry) -> None:
    """Register the six pool metrics of `engine` on `registry`, kept up to date by pool events."""
    pool = engine.sync_engine.pool
    checked_out = Gauge("db_pool_checked_out", "Connections checked out now", registry=registry)
    size = Gauge("db_pool_size", "Connections the pool keeps (pool_size)", registry=registry)
    overflow = Gauge("db_pool_overflow", "Connections beyond pool_size", registry=registry)
    checkouts = Counter("db_pool_checkouts", "Checkouts from the pool", registry=registry)
    created = Counter("db_pool_connections_created", "New DBAPI connections", registry=registry)
    invalidations = Counter("db_pool_invalidations", "Connections invalidated", registry=registry)
    # Size and overflow are read from the pool on every scrape: nothing to keep in step.
    size.set_function(pool.size)
    overflow.set_function(lambda: max(0, pool.overflow()))

    @event.listens_for(pool, "checkout")
    def on_checkout(_dbapi_conn, _record, _proxy) -> None:
        checkouts.inc()
        checked_out.inc()

    @event.listens_for(pool, "checkin")
    def on_checkin(_dbapi_conn, _record) -> None:
        # Also fired for an invalidated connection (its DBAPI connection is None then): always decrement.
        checked_out.dec()

    @event.listens_for(pool, "connect")
    def on_connect(_dbapi_conn, _record) -> None:
        created.inc()

    @event.listens_for(engine.sync_engine, "handle_error")
    def on_error(context) -> None:
        if context.is_disconnect:
            invalidations.inc()
