# passes: a custom Collector that reads the pool on every scrape; counters are plain ints fed by pool events
"""A Collector registered on the given registry: gauges come straight from the pool at scrape time."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


class PoolCollector(Collector):
    """Reads checked-out, size and overflow from the pool when scraped; counts events in between."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.pool = engine.sync_engine.pool
        self.counts = {"checkouts": 0, "connections_created": 0, "invalidations": 0}
        event.listen(self.pool, "checkout", lambda *_: self._bump("checkouts"))
        event.listen(self.pool, "connect", lambda *_: self._bump("connections_created"))
        event.listen(self.pool, "invalidate", lambda *_: self._bump("invalidations"))

    def _bump(self, key: str) -> None:
        self.counts[key] += 1

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        yield GaugeMetricFamily(
            "db_pool_checked_out", "Connections checked out now", value=self.pool.checkedout()
        )
        yield GaugeMetricFamily("db_pool_size", "Connections the pool keeps", value=self.pool.size())
        yield GaugeMetricFamily(
            "db_pool_overflow", "Connections beyond pool_size", value=self.pool.overflow()
        )
        for key, value in self.counts.items():
            yield CounterMetricFamily(f"db_pool_{key}", f"Pool {key.replace('_', ' ')}", value=value)


def instrument_pool(engine: AsyncEngine, registry: CollectorRegistry) -> None:
    """Register one PoolCollector for `engine` on `registry`."""
    registry.register(PoolCollector(engine))
