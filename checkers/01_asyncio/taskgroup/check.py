"""Checks for asyncio/taskgroup: `fetch_all(pool, queries)`.

Every query carries a unique SQL comment, so the checks count on the server (pg_stat_activity) which of
them are running. Where a query must wait, it waits on a "gate": an advisory lock the checker holds and
releases when it decides, so "how many at once" and "who finishes first" are decided by events, not timed.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from course.checking import (
    Database,
    describe,
    expect,
    fail,
    flatten,
    marker,
    pool_checked_out,
    raises,
    wait_until,
)
from course.probes import other_tasks

REQUIRES = {"fetch_all": "async def fetch_all(pool, queries)"}
LESSON = "See notebook 01_asyncio/02, 'Why gather leaves orphans'."
# The failing query of the failure checks: random() keeps Postgres from folding 1/0 at plan time, so the
# error comes while the query runs.
DIVIDE_BY_ZERO = "1 / floor(random() * 0)::int"
SIBLING_SLEEP = 6  # seconds: far longer than the 1 s the checks give a failure to stop the siblings


class Tags:
    """One SQL comment per query, all sharing a prefix, to find them in pg_stat_activity."""

    def __init__(self, n: int) -> None:
        self.base = marker()[3:-3]  # "chk-1a2b3c4d"
        self.comments = [f"/* {self.base} q{i} */" for i in range(n)]


class Gates:
    """Advisory locks the checker holds; a query behind gate i waits on the server until `open(i)`."""

    def __init__(self, conn: asyncpg.Connection, n: int) -> None:
        self.conn = conn
        # Fresh keys: an orphaned query of an earlier check may still hold or wait for older ones.
        self.keys = [secrets.randbits(31) for _ in range(n)]

    @classmethod
    async def closed(cls, db: Database, n: int = 1) -> Gates:
        gates = cls(await db.connect(), n)
        for key in gates.keys:
            await gates.conn.execute("SELECT pg_advisory_lock($1)", key)
        return gates

    def query(self, value_sql: str, comment: str, i: int = 0) -> str:
        return f"SELECT {value_sql} FROM pg_advisory_xact_lock_shared({self.keys[i]}) AS gate {comment}"

    async def open(self, i: int = 0) -> None:
        await self.conn.execute("SELECT pg_advisory_unlock($1)", self.keys[i])


async def _running(db: Database, tag: str) -> int:
    return len(await db.active_queries(tag))


async def _none_running(db: Database, tag: str) -> bool:
    return await _running(db, tag) == 0


async def _until(task: asyncio.Task, predicate: Callable[[], Awaitable[bool]], within: float) -> bool:
    """Poll `predicate` until it holds or the submission's task ends (then re-raise a stub's error)."""

    async def ready() -> bool:
        return task.done() or await predicate()

    await wait_until(ready, within, interval=0.02)
    if task.done() and not task.cancelled() and isinstance(task.exception(), NotImplementedError):
        task.result()
    return await predicate()


async def _all_started(task: asyncio.Task, db: Database, tag: str, n: int) -> int:
    """Wait until all `n` queries run on the server, or no new one has started for 0.5 s (a version that runs
    them one by one never gets there), or 3 s pass. Returns how many ran at once."""
    loop = asyncio.get_running_loop()
    seen, changed = 0, loop.time()

    async def settled() -> bool:
        nonlocal seen, changed
        count = await _running(db, tag)
        if count != seen:
            seen, changed = count, loop.time()
        return count >= n or (count > 0 and loop.time() - changed > 0.5)

    await _until(task, settled, 3)
    return seen


async def _result(task: asyncio.Task, within: float, called: str) -> Any:
    """The task's value; its own exception (with its traceback) if it raised; a failure if it hangs."""
    done, _ = await asyncio.wait({task}, timeout=within)
    if not done:
        task.cancel()
        fail(f"Called {called}: it had not returned {within:g} s later. {LESSON}")
    return task.result()


async def test_an_empty_list_gives_an_empty_list(sub, db):
    pool = await db.pool(max_size=2)
    result = await _result(asyncio.create_task(sub.fetch_all(pool, [])), 5, "fetch_all(pool, [])")
    expect(result == [], f"Called fetch_all(pool, []): got {result!r}, expected [].")


async def test_values_come_back_in_input_order(sub, db):
    n = 5
    pool = await db.pool(max_size=n + 1)
    tags = Tags(n)
    gates = await Gates.closed(db, n)
    queries = [gates.query(f"'value {i}'", tags.comments[i], i) for i in range(n)]
    expected = [f"value {i}" for i in range(n)]
    task = asyncio.create_task(sub.fetch_all(pool, queries))
    await _all_started(task, db, tags.base, n)
    # Let the queries finish last-to-first, each only once the previous one has left the server.
    for i in reversed(range(n)):
        await gates.open(i)
        await _until(task, lambda i=i: _none_running(db, tags.comments[i]), 2)
    result = await _result(task, 3, f"fetch_all(pool, {n} queries)")
    expect(result == expected,
           f"Called fetch_all(pool, {n} queries) and let them finish last-to-first: got {result!r}, expected "
           f"{expected!r} (input order, not the order they finished). {LESSON}")
    expect(await wait_until(lambda: pool_checked_out(pool) == 0, 1.0),
           f"Called fetch_all(pool, {n} queries): it returned, but 1 s later {pool_checked_out(pool)} of the pool's "
           f"connections were still checked out, expected 0. Every connection must go back to the pool. {LESSON}")


async def test_queries_run_concurrently(sub, db):
    n = 4
    pool = await db.pool(max_size=n + 2)
    tags = Tags(n)
    gate = await Gates.closed(db)
    queries = [gate.query(str(i), tags.comments[i]) for i in range(n)]
    peak = 0

    async def all_running() -> bool:
        nonlocal peak
        peak = max(peak, await _running(db, tags.base))
        return peak >= n

    task = asyncio.create_task(sub.fetch_all(pool, queries))
    # Each query waits on the server until the gate opens: a version that awaits one query before starting
    # the next never has more than 1 running, however long we watch. 3 s is ample to open 4 connections.
    await _until(task, all_running, 3)
    await gate.open()
    result = await _result(task, 3, f"fetch_all(pool, {n} queries)")
    expect(peak == n,
           f"Called fetch_all(pool, {n} queries) whose queries wait on the server until the check lets them go: "
           f"at most {peak} of them were running on the server at once (watched for 3 s), expected all {n}. "
           f"Are you awaiting each query before starting the next? {LESSON}")
    expect(result == list(range(n)), f"Called fetch_all(pool, {n} queries): got {result!r}, expected {list(range(n))!r}.")


async def test_a_failing_query_propagates(sub, db):
    pool = await db.pool(max_size=6)
    tags = Tags(4)
    queries = [f"SELECT {i} FROM pg_sleep(0.3) {tags.comments[i]}" for i in range(4)]
    queries[2] = f"SELECT {DIVIDE_BY_ZERO} FROM pg_sleep(0.1) {tags.comments[2]}"
    task = asyncio.create_task(sub.fetch_all(pool, queries))
    done, _ = await asyncio.wait({task}, timeout=5)
    if not done:
        task.cancel()
        fail("Called fetch_all(pool, 4 queries) where query 2 fails after 0.1 s and the others take 0.3 s: it "
             f"had not returned or raised 5 s later. {LESSON}")
    exc = await raises(task)
    if exc is None:
        fail(f"Called fetch_all(pool, 4 queries) where query 2 fails with DivisionByZeroError: it returned "
             f"{task.result()!r}. A failure must propagate (alone or in an ExceptionGroup), not come back as a "
             f"value in the list. {LESSON}")
    expect(any(isinstance(e, asyncpg.DivisionByZeroError) for e in flatten(exc)),
           f"Called fetch_all(pool, 4 queries) where query 2 fails with DivisionByZeroError: it raised "
           f"{describe(exc)}, expected the DivisionByZeroError (alone or in an ExceptionGroup). {LESSON}")


class Failure:
    """fetch_all on 5 queries where query 2 fails once the 4 others are sleeping on the server."""

    def __init__(self, pool: asyncpg.Pool, tags: Tags) -> None:
        self.pool, self.tags = pool, tags

    @classmethod
    async def run(cls, sub, db: Database, mine: set[asyncio.Task]) -> Failure:
        n, failing = 5, 2
        pool = await db.pool(max_size=n + 3)
        tags = Tags(n)
        gate = await Gates.closed(db)
        queries = [f"SELECT {i} FROM pg_sleep({SIBLING_SLEEP}) {tags.comments[i]}" for i in range(n)]
        queries[failing] = gate.query(DIVIDE_BY_ZERO, tags.comments[failing])
        task = asyncio.create_task(sub.fetch_all(pool, queries))
        mine.add(task)
        # Fail only once the siblings run on the server, so that there is something to cancel.
        started = await _all_started(task, db, tags.base, n)
        await gate.open()
        # The siblings sleep 6 s: 3 s tells "cancelled them at once" from "waited for them" with a wide margin.
        done, _ = await asyncio.wait({task}, timeout=3)
        if not done:
            task.cancel()
            alone = f" (only {started} of the {n} queries ran on the server at once)" if started < n else ""
            fail(f"Called fetch_all(pool, {n} queries) where query {failing} fails while the others sleep "
                 f"{SIBLING_SLEEP} s on the server: 3 s after query {failing} was allowed to fail, fetch_all had "
                 f"still not raised{alone}. A failure must cancel the other queries at once, not wait for them to "
                 f"finish. {LESSON}")
        exc = await raises(task)
        expect(any(isinstance(e, asyncpg.DivisionByZeroError) for e in flatten(exc)),
               f"Called fetch_all(pool, {n} queries) where query {failing} fails with DivisionByZeroError: it "
               f"{'raised ' + describe(exc) if exc else 'returned ' + repr(task.result())}, expected the "
               f"DivisionByZeroError to propagate (alone or in an ExceptionGroup). {LESSON}")
        return cls(pool, tags)


async def test_a_failure_stops_the_sibling_queries_on_the_server(sub, db):
    failure = await Failure.run(sub, db, {asyncio.current_task()})
    if not await wait_until(lambda: _none_running(db, failure.tags.base), 1.0, interval=0.05):
        still = await _running(db, failure.tags.base)
        fail(f"{still} sibling queries were still running on the server 1 s after fetch_all raised: did the failure "
             f"cancel them? Cancelling the task that awaits a query is what stops it on the server. {LESSON}")


async def test_a_failure_gives_every_connection_back_to_the_pool(sub, db):
    failure = await Failure.run(sub, db, {asyncio.current_task()})
    pool = failure.pool
    if not await wait_until(lambda: pool_checked_out(pool) == 0, 1.0):
        fail(f"{pool_checked_out(pool)} of the pool's connections were still checked out 1 s after fetch_all "
             "raised, expected 0: every query must give its connection back however it ends, failure and "
             f"cancellation included. {LESSON}")


async def test_no_task_outlives_fetch_all(sub, db):
    mine = {asyncio.current_task()}
    await Failure.run(sub, db, mine)
    # asyncpg finishes its own cancel-request tasks a moment after; a forgotten query task lives for seconds.
    if not await wait_until(lambda: not other_tasks(mine), 1.0):
        left = other_tasks(mine)
        fail(f"{len(left)} task(s) were still pending 1 s after fetch_all raised: the tasks a call starts must be "
             f"finished (or cancelled and awaited) before it returns or raises. {LESSON}")
