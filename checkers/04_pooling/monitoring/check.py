"""Checks for pooling/monitoring: `instrument_pool(engine, registry)`.

The checker makes the engines and the registries, and reads the metrics the way Prometheus would, from
the registry it handed over (`registry.get_sample_value`). The truth they are compared with comes from
the pool itself (`checkedout()`, `size()`, `overflow()`) and from the checker's own listeners on the
pool's "checkout" and "connect" events. The global default registry is compared before and after.
"""

from __future__ import annotations

import asyncio
from typing import Any

import prometheus_client
import sqlalchemy as sa
from prometheus_client import CollectorRegistry
from sqlalchemy import event

from course.checking import Database, expect, fail, wait_until

REQUIRES = {"instrument_pool": "def instrument_pool(engine, registry)"}
LESSON = "See notebook 04_pooling/04, '{}'."
GAUGES = ("db_pool_checked_out", "db_pool_size", "db_pool_overflow")
COUNTERS = ("db_pool_checkouts_total", "db_pool_connections_created_total", "db_pool_invalidations_total")


def _global_samples() -> set[str]:
    return {s.name for metric in prometheus_client.REGISTRY.collect() for s in metric.samples}


class Watched:
    """An engine made by the checker, instrumented by the submission, with the checker's own counts."""

    def __init__(self, db: Database, **kwargs: Any) -> None:
        self.engine = db.engine(**kwargs)
        self.pool = self.engine.sync_engine.pool
        self.registry = CollectorRegistry()
        self.checkouts = 0
        self.connects = 0
        event.listen(self.pool, "checkout", self._on_checkout)
        event.listen(self.pool, "connect", self._on_connect)

    def _on_checkout(self, *_: Any) -> None:
        self.checkouts += 1

    def _on_connect(self, *_: Any) -> None:
        self.connects += 1

    def instrument(self, sub: Any) -> None:
        sub.instrument_pool(self.engine, self.registry)
        self.checkouts = self.connects = 0  # counters count from now on

    def value(self, name: str) -> float | None:
        return self.registry.get_sample_value(name)

    def snapshot(self) -> str:
        return ", ".join(f"{n}={self.value(n)}" for n in (*GAUGES, *COUNTERS))


async def _hold(engine: Any, n: int, release: asyncio.Event, ready: list[int]) -> list[Any]:
    """`n` tasks that each check a connection out, run a query, and hold it until `release` is set."""

    async def one() -> None:
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
            ready.append(1)
            await release.wait()

    return [asyncio.create_task(one()) for _ in range(n)]


async def test_metrics_live_on_the_given_registry_only(sub, db):
    before = _global_samples()
    watched = Watched(db, pool_size=2, max_overflow=2)
    watched.instrument(sub)
    added = sorted(_global_samples() - before)
    expect(
        not added,
        f"instrument_pool(engine, registry) added {added} to prometheus_client's global REGISTRY; expected every "
        "metric on the registry passed in (registry=...), and nothing global: a second engine, or a test, would "
        "collide with them. " + LESSON.format("Pool events into metrics"),
    )
    missing = [name for name in (*GAUGES, *COUNTERS) if watched.value(name) is None]
    expect(
        not missing,
        f"After instrument_pool(engine, registry), registry.get_sample_value(...) finds nothing for {missing}; "
        f"expected all of {[*GAUGES, *COUNTERS]} on that registry (a Counter named 'x' is exposed as 'x_total'). "
        + LESSON.format("Pool events into metrics"),
    )
    async with watched.engine.connect() as conn:
        await conn.execute(sa.text("SELECT 1"))
    expect(
        _global_samples() - before == set(),
        "After a checkout, prometheus_client's global REGISTRY holds new metrics; expected none there.",
    )


async def test_gauges_follow_the_pool_under_twenty_held_connections(sub, db):
    watched = Watched(db, pool_size=10, max_overflow=15, pool_timeout=5)
    watched.instrument(sub)
    release, ready = asyncio.Event(), []
    tasks = await _hold(watched.engine, 20, release, ready)
    try:
        held = await wait_until(lambda: len(ready) == 20 or any(t.done() for t in tasks), 5.0)
        for t in tasks:
            if t.done():
                t.result()  # a checkout failed: show why
        expect(held, f"20 tasks could not all check out a connection within 5 s ({len(ready)} did).")
        pool = watched.pool
        truth = {
            "db_pool_checked_out": {float(pool.checkedout())},
            "db_pool_size": {float(pool.size())},
            "db_pool_overflow": {float(pool.overflow()), float(max(0, pool.overflow()))},
        }
        for name, allowed in truth.items():
            got = watched.value(name)
            expect(
                got in allowed,
                f"With 20 tasks each holding a connection (pool_size=10, max_overflow=15), {name} reads {got}; the "
                f"pool reports {sorted(allowed)}. Metrics: {watched.snapshot()}. "
                + LESSON.format("Pool events into metrics"),
            )
    finally:
        release.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    back = await wait_until(lambda: watched.pool.checkedout() == 0, 2.0)
    expect(back, f"The pool still reports {watched.pool.checkedout()} checked out after every task finished.")
    for name, allowed in {
        "db_pool_checked_out": {0.0},
        "db_pool_size": {float(watched.pool.size())},
        "db_pool_overflow": {float(watched.pool.overflow()), float(max(0, watched.pool.overflow()))},
    }.items():
        got = watched.value(name)
        expect(
            got in allowed,
            f"After the 20 tasks gave their connections back, {name} reads {got}; the pool reports "
            f"{sorted(allowed)}. A gauge goes down as well as up: decrement it on check-in. Metrics: "
            f"{watched.snapshot()}. " + LESSON.format("Pool events into metrics"),
        )


async def test_counters_match_the_checkouts_and_connects_made(sub, db):
    watched = Watched(db, pool_size=3, max_overflow=2, pool_timeout=5)
    watched.instrument(sub)
    for _ in range(7):  # sequential: the same pooled connection, checked out again and again
        async with watched.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def one() -> None:
        async with watched.engine.connect() as conn:
            await conn.execute(sa.text("SELECT pg_sleep(0.02)"))

    await asyncio.gather(*(one() for _ in range(15)))  # concurrent: the pool grows to its bound
    expected = {
        "db_pool_checkouts_total": float(watched.checkouts),
        "db_pool_connections_created_total": float(watched.connects),
    }
    for name, want in expected.items():
        got = watched.value(name)
        expect(
            got == want,
            f"After 7 sequential and 15 concurrent sessions (pool_size=3, max_overflow=2), {name} reads {got}; "
            f"the pool made {watched.checkouts} checkouts and {watched.connects} new connections. A checkout is "
            "not a connect: a pooled connection is checked out many times. Metrics: "
            f"{watched.snapshot()}. " + LESSON.format("Pool events into metrics"),
        )
    expect(
        watched.value("db_pool_invalidations_total") == 0,
        f"No connection was invalidated, yet db_pool_invalidations_total reads "
        f"{watched.value('db_pool_invalidations_total')}.",
    )


async def test_an_invalidated_connection_is_counted(sub, db):
    watched = Watched(db, pool_size=2, max_overflow=0, pool_pre_ping=True)
    watched.instrument(sub)
    async with watched.engine.connect() as conn:
        await conn.execute(sa.text("SELECT 1"))
        await conn.invalidate()  # as SQLAlchemy does when the driver reports a lost connection
    got = watched.value("db_pool_invalidations_total")
    expect(
        got == 1,
        f"After one session called `await conn.invalidate()`, db_pool_invalidations_total reads {got}; expected 1. "
        f"Metrics: {watched.snapshot()}. " + LESSON.format("Pool events into metrics"),
    )
    expect(
        watched.value("db_pool_checked_out") == 0,
        f"After the invalidated connection's session ended, db_pool_checked_out reads "
        f"{watched.value('db_pool_checked_out')}; expected 0: an invalidated connection is checked in too.",
    )
    # A failover: the server ends the pooled backend; pool_pre_ping finds it dead at the next checkout.
    async with watched.engine.connect() as conn:
        pid = (await conn.execute(sa.text("SELECT pg_backend_pid()"))).scalar()
    observer = await db.observer()
    await observer.execute("SELECT pg_terminate_backend($1)", pid)
    await wait_until(lambda: _ended(observer, pid), 2.0)
    async with watched.engine.connect() as conn:
        await conn.execute(sa.text("SELECT 1"))
    got = watched.value("db_pool_invalidations_total")
    expect(
        got is not None and got >= 2,
        f"The checker terminated a pooled backend; pool_pre_ping replaced it at the next checkout; "
        f"db_pool_invalidations_total then reads {got}; expected 2 (one more). Metrics: {watched.snapshot()}. "
        + LESSON.format("Surviving a failover"),
    )


async def _ended(observer: Any, pid: int) -> bool:
    return not await observer.fetchval("SELECT 1 FROM pg_stat_activity WHERE pid = $1", pid)


async def test_two_engines_on_two_registries_do_not_mix(sub, db):
    a = Watched(db, pool_size=4, max_overflow=0)
    b = Watched(db, pool_size=2, max_overflow=0)
    a.instrument(sub)
    b.instrument(sub)
    release, ready_a, ready_b = asyncio.Event(), [], []
    tasks = await _hold(a.engine, 3, release, ready_a) + await _hold(b.engine, 1, release, ready_b)
    try:
        if not await wait_until(lambda: len(ready_a) == 3 and len(ready_b) == 1, 5.0):
            for t in tasks:
                if t.done():
                    t.result()
            fail("3 + 1 connections could not be checked out within 5 s.")
        seen = {
            "A": (
                a.value("db_pool_checked_out"),
                a.value("db_pool_size"),
                a.value("db_pool_checkouts_total"),
            ),
            "B": (
                b.value("db_pool_checked_out"),
                b.value("db_pool_size"),
                b.value("db_pool_checkouts_total"),
            ),
        }
        want = {"A": (3.0, float(a.pool.size()), 3.0), "B": (1.0, float(b.pool.size()), 1.0)}
        expect(
            seen == want,
            "Engine A (pool_size=4) and engine B (pool_size=2) were instrumented on registries A and B; with 3 "
            "connections held on A and 1 on B, (checked_out, size, checkouts_total) read "
            f"{seen}; expected {want}. Each call to instrument_pool creates its own metrics on its own registry, "
            "bound to its own engine. " + LESSON.format("Pool events into metrics"),
        )
    finally:
        release.set()
        await asyncio.gather(*tasks, return_exceptions=True)
