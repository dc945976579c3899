"""Checks for asyncio/cancellation: `with_advisory_lock(conn, key, work)`.

The lock is observed from outside: another session's pg_try_advisory_lock tells whether it is free, and
pg_locks (read by the observer connection) shows which advisory locks the submission's connection holds.
`work` is the checker's own coroutine: it records when it starts, and whether it was cancelled, and waits on
events the check controls, so the order of things is decided by events, not timed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from course.checking import Database, describe, expect, fail, marker, raises, wait_until

REQUIRES = {"with_advisory_lock": "async def with_advisory_lock(conn, key, work)"}
LESSON = "See notebook 01_asyncio/04, 'Cleanup in finally'."
KEY = 4242  # each check has a database of its own, and advisory locks belong to one database
OTHER_KEY = 9001


class WorkResult:
    """What `work` returns: a fresh object, so that only work's own value can be mistaken for it."""

    def __repr__(self) -> str:
        return "<the value work() returned>"


class Work:
    """The `work` handed to the submission: counts its calls, tells when it runs, ends as the check says."""

    def __init__(self, result: Any = None, *, hold: bool = False, error: BaseException | None = None,
                 body: Callable[[], Awaitable[Any]] | None = None) -> None:
        self.result = result if result is not None else WorkResult()
        self.hold, self.error, self.body = hold, error, body
        self.calls = 0
        self.started = asyncio.Event()
        self.finish = asyncio.Event()
        self.cancelled = False
        self.finished = False

    async def __call__(self) -> Any:
        self.calls += 1
        self.started.set()
        try:
            if self.body is not None:
                await self.body()
            if self.hold:
                await self.finish.wait()
            if self.error is not None:
                raise self.error
            return self.result
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        finally:
            self.finished = True


async def _lock_is_free(db: Database, key: int = KEY) -> bool:
    """Whether another session can take the lock right now (it gives it back at once)."""
    other = await db.connect()
    try:
        got = await other.fetchval("SELECT pg_try_advisory_lock($1)", key)
        if got:
            await other.fetchval("SELECT pg_advisory_unlock($1)", key)
        return bool(got)
    finally:
        await other.close()


async def _advisory_locks(db: Database, conn: asyncpg.Connection) -> list[int]:
    """The advisory lock keys the session of `conn` holds or waits for (pg_locks, seen by the observer)."""
    observer = await db.observer()
    rows = await observer.fetch(
        "SELECT (classid::bigint << 32) | objid::bigint AS key FROM pg_locks "
        "WHERE locktype = 'advisory' AND pid = $1 ORDER BY key",
        conn.get_server_pid(),
    )
    return [r["key"] for r in rows]


async def _start(sub, conn: asyncpg.Connection, work: Work, shown: str, within: float = 3) -> asyncio.Task:
    """Run the submission in a task until `work` has started (re-raising its own error if it ends first)."""
    task = asyncio.create_task(sub.with_advisory_lock(conn, KEY, work))
    await wait_until(lambda: task.done() or work.started.is_set(), within)
    if not work.started.is_set():
        if task.done():
            exc = await raises(task)  # re-raises a stub's NotImplementedError
            if exc is not None:
                task.result()
            fail(f"Called {shown}: it returned {task.result()!r} without ever calling work(). {LESSON}")
        task.cancel()
        fail(f"Called {shown} with the lock free: work() had not started {within:g} s later. {LESSON}")
    return task


async def _ended(task: asyncio.Task, within: float, shown: str, why: str = "") -> None:
    done, _ = await asyncio.wait({task}, timeout=within)
    if not done:
        task.cancel()
        fail(f"Called {shown}: it had not ended {within:g} s after {why or 'work() ended'}. {LESSON}")


async def _released(db: Database, conn: asyncpg.Connection, shown: str, after: str) -> None:
    """The lock is free for other sessions and the connection holds no advisory lock any more."""
    expect(await _lock_is_free(db),
           f"Called {shown}; {after}. Afterwards another session could not take lock {KEY}, so it was still "
           f"held. The lock must be released however work ends. {LESSON}")
    held = await _advisory_locks(db, conn)
    expect(not held,
           f"Called {shown}; {after}. Afterwards the connection still held advisory lock(s) {held}. Is the "
           f"lock taken twice (it is counted: one unlock only undoes one lock)? {LESSON}")


async def _usable(conn: asyncpg.Connection, shown: str, after: str) -> None:
    try:
        value = await asyncio.wait_for(conn.fetchval("SELECT 1"), 2)
    except Exception as exc:
        fail(f"Called {shown}; {after}. Afterwards the connection could not run SELECT 1 ({describe(exc)}). "
             f"The caller's connection must stay usable. {LESSON}")
    expect(value == 1, f"Called {shown}; {after}. Afterwards SELECT 1 on the connection gave {value!r}.")


def _shown(work: str) -> str:
    return f"with_advisory_lock(conn, {KEY}, work) where work {work}"


async def test_returns_the_result_of_work_and_releases_the_lock(sub, db):
    conn = await db.connect()
    work = Work()
    shown = _shown("returns a value")
    task = await _start(sub, conn, work, shown)
    await _ended(task, 3, shown)
    result = task.result()
    expect(result is work.result, f"Called {shown}: it returned {result!r}, expected the value work() returned.")
    expect(work.calls == 1, f"Called {shown}: work() was called {work.calls} times, expected once.")
    await _released(db, conn, shown, "it returned")


async def test_the_lock_is_held_while_work_runs(sub, db):
    conn = await db.connect()
    seen: dict[str, Any] = {}

    async def look() -> None:
        seen["free"] = await _lock_is_free(db)
        seen["held"] = await _advisory_locks(db, conn)

    shown = _shown("looks at the lock from another session")
    task = await _start(sub, conn, Work(body=look), shown)
    await _ended(task, 3, shown)
    task.result()
    expect(not seen["free"],
           f"Called {shown}: while work ran, another session could take lock {KEY}, so nothing held it. Take "
           f"the lock with pg_advisory_lock before calling work(). {LESSON}")
    expect(KEY in seen["held"],
           f"Called {shown}: while work ran, the connection passed in held advisory locks {seen['held']}, expected "
           f"lock {KEY}. Take the lock on `conn` itself. {LESSON}")


async def test_work_waits_while_another_session_holds_the_lock(sub, db):
    conn, holder = await db.connect(), await db.connect()
    await holder.execute("SELECT pg_advisory_lock($1)", KEY)
    work = Work()
    shown = _shown("returns a value")
    task = asyncio.create_task(sub.with_advisory_lock(conn, KEY, work))
    # A waiting version does not start work() at all while the lock is held: 0.3 s is ample to see a version
    # that goes ahead anyway (it calls work() within milliseconds).
    await wait_until(lambda: task.done() or work.started.is_set(), 0.3)
    early, done_early = work.started.is_set(), task.done()
    await holder.execute("SELECT pg_advisory_unlock($1)", KEY)
    if done_early and not work.started.is_set():
        fail(f"While another session held lock {KEY}, called {shown}: it {await _how_it_ended(task)} without "
             f"calling work(). It must wait for the lock (pg_advisory_lock waits; pg_try_advisory_lock does not). "
             f"{LESSON}")
    expect(not early,
           f"While another session held lock {KEY}, called {shown}: work() started anyway. It must wait until the "
           f"lock is free (pg_advisory_lock waits; pg_try_advisory_lock only tells whether it got the lock). "
           f"{LESSON}")
    await _ended(task, 3, shown, "the other session released the lock")
    expect(task.result() is work.result,
           f"Called {shown} and released the other session's lock: it returned {task.result()!r}, expected the "
           "value work() returned.")
    await _released(db, conn, shown, "it returned")


async def test_an_exception_from_work_propagates_and_the_lock_is_released(sub, db):
    conn = await db.connect()
    boom = ValueError("work failed")
    work = Work(error=boom)
    shown = _shown("raises ValueError")
    task = await _start(sub, conn, work, shown)
    await _ended(task, 3, shown)
    exc = await raises(task)  # re-raises a stub's NotImplementedError
    expect(exc is boom,
           f"Called {shown}: it {await _how_it_ended(task)}, expected the very ValueError work() raised to "
           f"propagate. {LESSON}")
    await _released(db, conn, shown, "work raised")
    await _usable(conn, shown, "work raised")


async def _how_it_ended(task: asyncio.Task) -> str:
    """'raised ...' or 'returned ...' for a finished task (a stub's NotImplementedError is raised again)."""
    exc = await raises(task)
    return f"raised {describe(exc)}" if exc is not None else f"returned {task.result()!r}"


async def _cancelled_as_cancelled(task: asyncio.Task, shown: str, during: str) -> None:
    await _ended(task, 3, shown, f"the task was cancelled {during}")
    if task.cancelled():
        return
    exc = task.exception()
    if exc is None:
        fail(f"Called {shown}; the check cancelled the task {during}. It returned {task.result()!r}, so the task did not "
             f"end cancelled. The caller asked it to stop: let CancelledError go on after cleaning up, never "
             f"return instead. {LESSON}")
    fail(f"Called {shown}; the check cancelled the task {during}. It raised {describe(exc)}, so the task did not end "
         f"cancelled. Let CancelledError go on as it is after cleaning up, never turn it into another error. "
         f"{LESSON}")


async def test_cancelling_during_work_ends_cancelled_and_releases_the_lock(sub, db):
    conn = await db.connect()
    work = Work(hold=True)
    shown = _shown("waits until cancelled")
    task = await _start(sub, conn, work, shown)
    task.cancel()
    await _cancelled_as_cancelled(task, shown, "while work ran")
    expect(work.cancelled, f"Called {shown}; the check cancelled the task, but work() never saw the cancellation. {LESSON}")
    await _released(db, conn, shown, "the check cancelled the task while work ran")
    await _usable(conn, shown, "the check cancelled the task while work ran")


async def test_cancelling_during_a_query_of_work_on_the_connection(sub, db):
    conn = await db.connect()
    tag = marker()

    async def query() -> None:
        await conn.execute(f"SELECT pg_sleep(10) {tag}")

    work = Work(body=query)
    shown = _shown("runs SELECT pg_sleep(10) on the same connection")
    task = await _start(sub, conn, work, shown)
    await wait_until(lambda: task.done() or db.active_queries(tag), 3)
    task.cancel()
    await _cancelled_as_cancelled(task, shown, "during work's query")
    if not await wait_until(lambda: _none(db, tag), 1.0, interval=0.05):
        fail(f"Called {shown}; the check cancelled the task. 1 s later work's query still ran on the server. {LESSON}")
    await _released(db, conn, shown, "the check cancelled the task during work's query")
    await _usable(conn, shown, "the check cancelled the task during work's query")


async def _none(db: Database, tag: str) -> bool:
    return not await db.active_queries(tag)


async def _not(value: Awaitable[bool]) -> bool:
    return not await value


async def test_cancelling_while_waiting_for_the_lock_ends_cancelled(sub, db):
    conn, holder = await db.connect(), await db.connect()
    await holder.execute("SELECT pg_advisory_lock($1)", KEY)
    work = Work()
    shown = _shown("returns a value")
    task = asyncio.create_task(sub.with_advisory_lock(conn, KEY, work))
    observer = await db.observer()

    async def waiting() -> bool:  # the submission's session is blocked on the lock, not yet granted
        return bool(await observer.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND pid = $1",
            conn.get_server_pid()))

    # A version that waits on the server shows up in pg_locks within milliseconds; one that polls never does,
    # and is cancelled after 1 s all the same.
    await wait_until(lambda: task.done() or work.started.is_set() or waiting(), 1)
    if task.done() and not work.started.is_set():
        fail(f"While another session held lock {KEY}, called {shown}: it {await _how_it_ended(task)} without "
             f"calling work(). It must wait for the lock. {LESSON}")
    if work.started.is_set():
        fail(f"While another session held lock {KEY}, called {shown}: work() ran anyway. It must wait until the "
             f"lock is free. {LESSON}")
    task.cancel()
    await _cancelled_as_cancelled(task, f"{shown} while another session held the lock", "while it waited for the lock")
    # asyncpg cancels a query on the server a moment after the task has ended: only once the lock request is
    # gone from the server does releasing the other session's lock tell anything (before, the request would be
    # granted in the meantime whatever the submission does).
    if not await wait_until(lambda: _not(waiting()), 2, interval=0.02):
        fail(f"Called {shown} while another session held the lock; the check cancelled the task while it waited. "
             f"2 s later the connection was still waiting for the lock on the server. Cancelling the call must stop "
             f"the wait (do not shield it). {LESSON}")
    await holder.execute("SELECT pg_advisory_unlock($1)", KEY)
    expect(work.calls == 0,
           f"Called {shown} while another session held the lock; the check cancelled the task while it waited, "
           f"yet work() ran. {LESSON}")
    # Once the other session lets go, a lock request left behind on the server would be granted now.
    await asyncio.sleep(0.1)
    held = await _advisory_locks(db, conn)
    expect(not held,
           f"Called {shown} while another session held the lock; the check cancelled the task while it waited. "
           f"Once the other session released it, the connection held advisory lock(s) {held}. A cancelled call must not "
           f"take the lock later. {LESSON}")
    await _usable(conn, shown, "the check cancelled the task while it waited for the lock")


async def test_no_advisory_lock_is_left_after_any_ending(sub, db):
    conn = await db.connect()
    endings = [("returned", Work()), ("raised", Work(error=ValueError("work failed"))), ("was cancelled", Work(hold=True))]
    for how, work in endings:
        shown = _shown(how.replace("was cancelled", "waits until cancelled").replace("returned", "returns a value")
                       .replace("raised", "raises ValueError"))
        task = await _start(sub, conn, work, shown)
        if work.hold:
            task.cancel()
        await _ended(task, 3, shown)
        await raises(task)  # how it ended is judged by the checks above; here only the locks left behind
        held = await _advisory_locks(db, conn)
        expect(not held,
               f"Called with_advisory_lock(conn, {KEY}, work) three times in a row on one connection (work returns, "
               f"raises, is cancelled): after the call where work {how}, the connection still held advisory lock(s) {held}. Every lock taken must be undone, once. {LESSON}")


async def test_other_locks_on_the_connection_are_left_alone(sub, db):
    conn = await db.connect()
    await conn.execute("SELECT pg_advisory_lock($1)", OTHER_KEY)
    shown = _shown("returns a value") + f", on a connection that already holds lock {OTHER_KEY}"
    work = Work()
    task = await _start(sub, conn, work, shown)
    await _ended(task, 3, shown)
    task.result()
    held = await _advisory_locks(db, conn)
    expect(held == [OTHER_KEY],
           f"Called {shown}: afterwards the connection held advisory locks {held}, expected only {OTHER_KEY}, the "
           f"caller's own. Release lock {KEY} only (pg_advisory_unlock_all releases the caller's locks too). "
           f"{LESSON}")
