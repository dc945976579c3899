"""Checks for asyncio/timeout: `fetch_with_deadline(pool, query, seconds)`.

Time is the subject here, so some checks measure it, always with margins of half a second or more against
noisy machines (where a margin is tight on one side, the other side cannot drift: a deadline only ever fires
late). Whether a query still runs is read from pg_stat_activity through a unique SQL comment; whether the pool
is usable, from its checked-out connections and a further call.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg

from course.checking import describe, expect, fail, marker, pool_checked_out, raises, wait_until
from course.probes import other_tasks

REQUIRES = {"fetch_with_deadline": "async def fetch_with_deadline(pool, query, seconds)"}
LESSON = "See notebook 01_asyncio/02, 'Deadlines with asyncio.timeout()'."
SLOW = "SELECT 1 FROM pg_sleep(10)"


class Call:
    """One call of the submission in its own task, timed from start to end."""

    def __init__(self, sub, pool: asyncpg.Pool, shown: str, seconds: float) -> None:
        self.tag = marker()
        self.shown = f"fetch_with_deadline(pool, {shown!r}, seconds={seconds:g})"
        self.seconds = seconds
        self.started = time.monotonic()
        self.ended: float | None = None
        self.task = asyncio.create_task(sub.fetch_with_deadline(pool, f"{shown} {self.tag}", seconds))
        self.task.add_done_callback(self._end)

    def _end(self, _: asyncio.Task) -> None:
        self.ended = time.monotonic()

    def __str__(self) -> str:
        return self.shown

    @property
    def elapsed(self) -> float:
        return (self.ended or time.monotonic()) - self.started

    async def outcome(self, within: float, hang: str = "") -> tuple[Any, BaseException | None]:
        """(value, None) or (None, exception); a failure with `hang` if it does neither in `within` s."""
        done, _ = await asyncio.wait({self.task}, timeout=within)
        if not done:
            self.task.cancel()
            fail(f"Called {self}: it had neither returned nor raised {within:g} s later. {hang}{LESSON}")
        exc = await raises(self.task)  # re-raises a stub's NotImplementedError
        return (None, exc) if exc is not None else (self.task.result(), None)

    def said(self, value: Any, exc: BaseException | None) -> str:
        what = f"raised {describe(exc)}" if exc is not None else f"returned {value!r}"
        return f"{what} after {self.elapsed:.2f} s"

    async def running(self, db) -> bool:
        return bool(await db.active_queries(self.tag))


def _unexpected(call: Call, exc: BaseException | None) -> None:
    """Show an error other than a timeout as the submission's own, with its traceback."""
    if exc is not None and not isinstance(exc, TimeoutError):
        call.task.result()


async def test_returns_the_value_of_a_fast_query(sub, db):
    pool = await db.pool(max_size=2)
    call = Call(sub, pool, "SELECT 42", 3)
    value, exc = await call.outcome(5)
    _unexpected(call, exc)
    expect(exc is None and value == 42, f"Called {call}: it {call.said(value, exc)}, expected 42.")
    # A fast query takes milliseconds; half the deadline is a wide margin for a loaded machine.
    expect(call.elapsed < 1.5,
           f"Called {call}: it returned 42 only after {call.elapsed:.1f} s. A deadline is an upper bound: the value "
           f"must come back as soon as it is there, not when the deadline is over. {LESSON}")


async def test_a_value_ready_just_before_the_deadline_is_returned(sub, db):
    pool = await db.pool(min_size=1, max_size=2)
    call = Call(sub, pool, "SELECT 'made it' FROM pg_sleep(0.4)", 1.2)
    value, exc = await call.outcome(4)
    _unexpected(call, exc)
    # 0.8 s of slack between the value and the deadline: enough for a loaded machine.
    expect(exc is None and value == "made it",
           f"Called {call}, a query that returns after about 0.4 s: it {call.said(value, exc)}, expected 'made it'. "
           f"A value that is ready before the deadline must be returned. {LESSON}")


async def test_a_slow_query_raises_timeout_error_at_the_deadline(sub, db):
    pool = await db.pool(max_size=2)
    call = Call(sub, pool, SLOW, 0.5)
    # A deadline fires late on a busy machine, never early: 2.5 s of slack above it, 20% below it.
    value, exc = await call.outcome(3, "A deadline of 0.5 s must end the call soon after 0.5 s. ")
    if exc is None:
        fail(f"Called {call}: it {call.said(value, exc)}, expected TimeoutError. The caller must learn that the "
             f"deadline passed: do not swallow the timeout. {LESSON}")
    expect(isinstance(exc, TimeoutError),
           f"Called {call}: it {call.said(value, exc)}, expected TimeoutError (the builtin; asyncio.TimeoutError is "
           f"the same class). {LESSON}")
    expect(call.elapsed >= 0.4,
           f"Called {call}: it raised TimeoutError after only {call.elapsed:.2f} s, before the deadline of 0.5 s. "
           f"{LESSON}")


async def test_the_slow_query_stops_on_the_server(sub, db):
    pool = await db.pool(max_size=2)
    mine = {asyncio.current_task()}
    call = Call(sub, pool, SLOW, 0.5)
    mine.add(call.task)
    await wait_until(lambda: call.task.done() or call.running(db), 2)
    value, exc = await call.outcome(3, "A deadline of 0.5 s must end the call soon after 0.5 s. ")
    _unexpected(call, exc)
    if not await wait_until(lambda: _stopped(call, db), 1.0, interval=0.05):
        fail(f"Called {call}: it {call.said(value, exc)}, yet 1 s later the query was still running on the "
             f"server. Giving up on the client side must also stop the query in Postgres: it still holds a "
             f"connection and a backend. {LESSON}")
    if not await wait_until(lambda: not other_tasks(mine), 1.0):
        fail(f"Called {call}: {len(other_tasks(mine))} task(s) it started were still pending 1 s after it "
             f"{call.said(value, exc).split(' after')[0]}. Work a call starts must not outlive it. {LESSON}")


async def _stopped(call: Call, db) -> bool:
    return not await call.running(db)


async def test_the_pool_stays_usable_after_a_timeout(sub, db):
    pool = await db.pool(min_size=1, max_size=1)
    call = Call(sub, pool, SLOW, 0.3)
    value, exc = await call.outcome(3, "A deadline of 0.3 s must end the call soon after 0.3 s. ")
    _unexpected(call, exc)
    if not await wait_until(lambda: pool_checked_out(pool) == 0, 1.0):
        fail(f"Called {call} on a pool of one connection: it {call.said(value, exc)}, and 1 s later that "
             f"connection was still checked out. A connection must go back to the pool however the call ends, "
             f"a timeout included. {LESSON}")
    again = Call(sub, pool, "SELECT 7", 3)
    value, exc = await again.outcome(5)
    expect(exc is None and value == 7,
           f"After a timed-out call, called {again} on the same pool of one connection: it "
           f"{again.said(value, exc)}, expected 7. The pool must stay usable after a timeout. {LESSON}")


async def test_the_deadline_covers_waiting_for_a_connection(sub, db):
    pool = await db.pool(min_size=2, max_size=2)
    held = [await pool.acquire() for _ in range(2)]
    call = Call(sub, pool, "SELECT 1", 0.5)
    try:
        value, exc = await call.outcome(
            3, "Every connection of the pool was in use the whole time: the deadline must also cover waiting for "
               "a free connection, else a busy pool makes the caller wait forever. ")
    finally:
        for conn in held:
            await pool.release(conn)
    _unexpected(call, exc)
    expect(isinstance(exc, TimeoutError),
           f"With every connection of the pool in use, called {call}: it {call.said(value, exc)}, expected "
           f"TimeoutError. {LESSON}")
    expect(call.elapsed >= 0.4,
           f"With every connection of the pool in use, called {call}: it raised TimeoutError after only "
           f"{call.elapsed:.2f} s, before the deadline of 0.5 s. {LESSON}")
    if not await wait_until(lambda: pool_checked_out(pool) == 0, 1.0):
        fail(f"After {call} timed out waiting for a connection and the check gave its own connections back, "
             f"{pool_checked_out(pool)} connection(s) were still checked out, expected 0. {LESSON}")


async def test_one_deadline_covers_the_wait_and_the_query_together(sub, db):
    pool = await db.pool(min_size=1, max_size=1)
    held = await pool.acquire()
    call = Call(sub, pool, SLOW, 1.6)
    try:
        await asyncio.wait({call.task}, timeout=1.2)  # the connection is busy for 1.2 s (unless the call ended)
    finally:
        await pool.release(held)
    value, exc = await call.outcome(5)
    _unexpected(call, exc)
    expect(isinstance(exc, TimeoutError),
           f"Called {call} while the pool's only connection was busy for the first 1.2 s: it "
           f"{call.said(value, exc)}, expected TimeoutError. {LESSON}")
    # One deadline ends the call at about 1.6 s. A fresh deadline for the query, started once the connection
    # came at 1.2 s, cannot end it before 2.8 s. 2.5 s leaves 0.9 s of slack for a loaded machine.
    expect(call.elapsed < 2.5,
           f"Called {call} while the pool's only connection was busy for the first 1.2 s: it raised TimeoutError "
           f"after {call.elapsed:.1f} s, expected about 1.6 s. Waiting for a connection and running the query "
           f"share one deadline of 1.6 s: the query may only use what the wait left of it. {LESSON}")
