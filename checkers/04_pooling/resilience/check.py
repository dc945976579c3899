"""Checks for pooling/resilience: `with_retry(engine, operation, *, attempts, base_delay)`.

The checker hands `with_retry` an engine on the check's database and operations of its own that count
their calls, record when each attempt started and on which backend, and fail in chosen ways with real
server errors (a `DO` block raising a given SQLSTATE, a deferred constraint trigger failing at COMMIT,
`statement_timeout`, a unique violation, a backend terminated from a separate observer connection).
What was committed is read back from that observer connection.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from course.checking import Database, describe, expect, fail, marker, raises, wait_until

REQUIRES = {"with_retry": "async def with_retry(engine, operation, *, attempts, base_delay)"}
LESSON = "See notebook 04_pooling/04, '{}'."
RETRY = "Retrying only what is safe"


def _raise_sql(code: str, message: str) -> sa.TextClause:
    """A statement the server fails with SQLSTATE `code` (a real server error, as asyncpg reports it)."""
    return sa.text(f"DO $$ BEGIN RAISE EXCEPTION '{message}' USING ERRCODE = '{code}'; END $$")


class Op:
    """An operation for with_retry that records its attempts: start times, backend pids, what it ran."""

    def __init__(self, body: Any, *, first: str | None = None) -> None:
        self.body, self.first = body, first  # `first`: a statement that must open the transaction
        self.calls = 0
        self.started: list[float] = []
        self.pids: list[int] = []
        self.in_transaction: list[bool] = []

    async def __call__(self, conn: Any) -> Any:
        self.calls += 1
        self.started.append(time.monotonic())
        self.in_transaction.append(bool(conn.in_transaction()))
        if self.first:
            await conn.execute(sa.text(self.first))
        self.pids.append(await conn.scalar(sa.text("SELECT pg_backend_pid()")))
        return await self.body(conn, self.calls)


def _is_sqlstate(exc: BaseException | None, code: str) -> bool:
    if not isinstance(exc, DBAPIError):
        return False
    return any(getattr(e, "sqlstate", None) == code for e in (exc.orig, getattr(exc.orig, "__cause__", None)))


async def test_the_result_is_returned_and_the_transaction_committed(sub, db: Database):
    engine = db.engine()

    async def body(conn: Any, attempt: int) -> str:
        await conn.execute(sa.text("INSERT INTO accounts (owner, balance_cents) VALUES ('ada', 100)"))
        return "done"

    op = Op(body)
    got = await sub.with_retry(engine, op)
    observer = await db.observer()
    rows = await observer.fetchval("SELECT count(*) FROM accounts WHERE owner = 'ada'")
    expect(got == "done", f"with_retry returned {got!r}; expected what the operation returned, 'done'.")
    expect(op.calls == 1, f"An operation that succeeds was called {op.calls} times; expected once.")
    expect(
        op.in_transaction == [True],
        "The operation was handed a connection that was not in a transaction; run it inside engine.begin() "
        "(a transaction of its own, committed when it returns).",
    )
    expect(
        rows == 1,
        f"After with_retry returned, another connection sees {rows} row(s) the operation inserted; expected 1: "
        "the transaction must be committed.",
    )


async def test_a_transient_error_is_retried_until_attempts_run_out(sub, db: Database):
    engine = db.engine()

    async def deadlock_once(conn: Any, attempt: int) -> int:
        if attempt == 1:
            await conn.execute(_raise_sql("40P01", "deadlock detected (checker)"))
        return attempt

    op = Op(deadlock_once)
    got = await sub.with_retry(engine, op, attempts=3, base_delay=0.01)
    expect(
        got == 2 and op.calls == 2,
        f"An operation failing once with a deadlock (SQLSTATE 40P01), then succeeding: with_retry returned "
        f"{got!r} after {op.calls} call(s); expected 2 after 2 calls. " + LESSON.format(RETRY),
    )

    async def always_serialization(conn: Any, attempt: int) -> None:
        await conn.execute(_raise_sql("40001", f"could not serialize (checker attempt {attempt})"))

    for attempts in (4, 1):
        op = Op(always_serialization)
        exc = await raises(sub.with_retry(engine, op, attempts=attempts, base_delay=0.01))
        expect(
            op.calls == attempts,
            f"with_retry(..., attempts={attempts}) with an operation that always fails with a serialization "
            f"failure (40001) called it {op.calls} time(s); expected {attempts}: `attempts` is the total number "
            "of tries, the first included. " + LESSON.format(RETRY),
        )
        expect(
            _is_sqlstate(exc, "40001") and f"checker attempt {attempts})" in str(exc),
            f"After {attempts} failed attempt(s) with_retry raised {describe(exc)}; expected the last attempt's "
            "error exactly as SQLAlchemy raised it (a sqlalchemy.exc.DBAPIError whose .orig carries SQLSTATE "
            "40001), not tenacity.RetryError nor an exception of your own. " + LESSON.format(RETRY),
        )


async def test_a_serialization_failure_at_commit_is_retried(sub, db: Database):
    engine = db.engine()
    observer = await db.observer()
    # A deferred constraint trigger runs at COMMIT: the first commit fails with 40001, later ones pass.
    await observer.execute(
        """
        CREATE SEQUENCE commit_failures;
        CREATE TABLE commit_probe (id int);
        CREATE FUNCTION fail_first_commit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF nextval('commit_failures') = 1 THEN
            RAISE EXCEPTION 'could not serialize access (checker, at commit)' USING ERRCODE = '40001';
          END IF;
          RETURN NULL;
        END $$;
        CREATE CONSTRAINT TRIGGER at_commit AFTER INSERT ON commit_probe
          DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fail_first_commit();
        """
    )

    async def insert(conn: Any, attempt: int) -> int:
        await conn.execute(sa.text("INSERT INTO commit_probe VALUES (:a)"), {"a": attempt})
        return attempt

    op = Op(insert)
    exc = await raises(sub.with_retry(engine, op, attempts=3, base_delay=0.01))
    rows = [r[0] for r in await observer.fetch("SELECT id FROM commit_probe")]
    expect(
        exc is None and op.calls == 2 and rows == [2],
        f"The first COMMIT of the operation fails with a serialization failure (40001, raised by a deferred "
        f"trigger), the second succeeds. with_retry raised {describe(exc)} after {op.calls} call(s), and the "
        f"table holds {rows}; expected a second attempt that commits [2]. The commit belongs inside the retried "
        "block: `async with engine.begin()` commits on exit. " + LESSON.format(RETRY),
    )


async def test_conflicting_serializable_transactions_both_complete(sub, db: Database):
    engine = db.engine(pool_size=4)
    observer = await db.observer()
    await observer.execute(  # the database lives for the whole run: start from a known state
        "TRUNCATE accounts; INSERT INTO accounts (id, owner, balance_cents) VALUES (1, 'a', 100), (2, 'b', 100)"
    )
    both_read = asyncio.Event()
    readers = 0

    def write_skew(account: int) -> Any:
        async def body(conn: Any, attempt: int) -> int:
            nonlocal readers
            total = await conn.scalar(sa.text("SELECT sum(balance_cents) FROM accounts"))
            if attempt == 1:  # both first attempts read before either writes: a guaranteed conflict
                readers += 1
                if readers == 2:
                    both_read.set()
                await asyncio.wait_for(both_read.wait(), 3.0)
            await conn.execute(
                sa.text("UPDATE accounts SET balance_cents = :t WHERE id = :id"), {"t": total, "id": account}
            )
            return int(total)

        return body

    serializable = "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"
    first, second = Op(write_skew(1), first=serializable), Op(write_skew(2), first=serializable)
    results = await asyncio.gather(
        raises(sub.with_retry(engine, first, attempts=5, base_delay=0.02)),
        raises(sub.with_retry(engine, second, attempts=5, base_delay=0.02)),
    )
    balances = sorted(r[0] for r in await observer.fetch("SELECT balance_cents FROM accounts ORDER BY id"))
    expect(
        results == [None, None],
        f"Two SERIALIZABLE transactions that each read both balances and write one (a write skew) were run "
        f"with with_retry at the same time: they raised {describe(results[0])} and {describe(results[1])}; "
        "expected both to complete: one fails with a serialization failure (40001, at its UPDATE or at "
        "COMMIT) and must be retried. " + LESSON.format(RETRY),
    )
    expect(
        balances == [200, 300],
        f"After two conflicting SERIALIZABLE transactions the balances are {balances}; expected [200, 300], "
        f"the result of running them one after the other (calls: {first.calls} and {second.calls}).",
    )


async def test_a_terminated_backend_is_retried_on_a_new_connection(sub, db: Database):
    engine = db.engine()
    tag = marker()

    async def slow_first(conn: Any, attempt: int) -> int:
        if attempt == 1:
            await conn.execute(sa.text(f"SELECT pg_sleep(5) {tag}"))
        return attempt

    op = Op(slow_first)
    task = asyncio.ensure_future(sub.with_retry(engine, op, attempts=3, base_delay=0.02))
    running = await wait_until(lambda: task.done() or _active(db, tag), 3.0)
    if task.done():
        task.result()  # what the submission raised (a stub's NotImplementedError)
    expect(running, "The operation's first attempt (a 5 s pg_sleep) never showed in pg_stat_activity.")
    observer = await db.observer()
    killed = await observer.fetchval("SELECT pg_terminate_backend($1)", op.pids[0])
    exc = await raises(asyncio.wait_for(task, 5.0))
    expect(killed, "The checker could not terminate the operation's backend.")
    expect(
        exc is None and op.calls == 2 and len(set(op.pids)) == 2,
        f"The checker terminated the backend of the first attempt (pg_terminate_backend, as in a failover). "
        f"with_retry raised {describe(exc)} after {op.calls} call(s) on backends {op.pids}; expected a second "
        "attempt on a new connection that succeeds: a lost connection is transient (SQLAlchemy marks the error "
        "connection_invalidated). " + LESSON.format("Surviving a failover"),
    )


async def _active(db: Database, tag: str) -> bool:
    return bool(await db.active_queries(tag))


async def test_an_integrity_error_runs_exactly_once(sub, db: Database):
    engine = db.engine()
    observer = await db.observer()
    await observer.execute(
        "TRUNCATE audit_events; INSERT INTO products (sku, name, price_cents) VALUES ('SKU-DUP', 'one', 100)"
    )

    async def duplicate(conn: Any, attempt: int) -> None:
        await conn.execute(
            sa.text("INSERT INTO audit_events (entity, entity_id, action) VALUES ('p', '1', 'x')")
        )
        await conn.execute(
            sa.text("INSERT INTO products (sku, name, price_cents) VALUES ('SKU-DUP', 'dup', 1)")
        )

    op = Op(duplicate)
    exc = await raises(sub.with_retry(engine, op, attempts=3, base_delay=0.01))
    audits = await observer.fetchval("SELECT count(*) FROM audit_events")
    expect(
        op.calls == 1,
        f"An operation that violates a unique constraint was called {op.calls} times; expected exactly once: "
        "a constraint violation fails the same way every time, retrying it only repeats the damage. "
        + LESSON.format(RETRY),
    )
    expect(
        isinstance(exc, IntegrityError),
        f"with_retry raised {describe(exc)}; expected SQLAlchemy's IntegrityError, as it was raised.",
    )
    expect(
        audits == 0,
        f"Another connection sees {audits} audit row(s) the failed operation inserted; expected 0: the failed "
        "transaction must be rolled back.",
    )


async def test_a_statement_timeout_is_not_retried(sub, db: Database):
    engine = db.engine()

    async def too_slow(conn: Any, attempt: int) -> None:
        await conn.execute(sa.text("SET LOCAL statement_timeout = '50ms'"))
        await conn.execute(sa.text("SELECT pg_sleep(2)"))

    op = Op(too_slow)
    exc = await raises(sub.with_retry(engine, op, attempts=3, base_delay=0.01))
    expect(
        op.calls == 1 and _is_sqlstate(exc, "57014"),
        f"An operation cancelled by statement_timeout (SQLSTATE 57014) was called {op.calls} time(s) and "
        f"with_retry raised {describe(exc)}; expected one call and the server's error (57014): a query that "
        "ran out of time will run out of time again, and retrying it multiplies the load on a database "
        "that is already slow. " + LESSON.format(RETRY),
    )


async def test_a_cancelled_call_stops_at_once(sub, db: Database):
    engine = db.engine()
    tag = marker()

    async def slow(conn: Any, attempt: int) -> None:
        await conn.execute(sa.text(f"SELECT pg_sleep(5) {tag}"))

    op = Op(slow)
    task = asyncio.ensure_future(sub.with_retry(engine, op, attempts=3, base_delay=0.01))
    running = await wait_until(lambda: task.done() or _active(db, tag), 3.0)
    if task.done():
        task.result()
    expect(running, "The operation (a 5 s pg_sleep) never showed in pg_stat_activity.")
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=2.0)
    if not done:
        fail(
            f"with_retry was cancelled while its operation ran; 2 s later it had not stopped ({op.calls} "
            "call(s) so far). A cancellation must propagate at once. " + LESSON.format(RETRY)
        )
    await asyncio.sleep(0.2)  # twenty times base_delay: a retry would have started by now
    expect(
        task.cancelled() and op.calls == 1,
        f"with_retry was cancelled during the first attempt: the call ended "
        f"{'cancelled' if task.cancelled() else 'with ' + describe(task.exception())} after {op.calls} "
        "call(s) of the operation; expected CancelledError after exactly one call: CancelledError is not a "
        "database error, never catch it to retry. " + LESSON.format(RETRY),
    )


async def test_attempts_are_spread_out_in_time(sub, db: Database):
    engine = db.engine()

    async def always_serialization(conn: Any, attempt: int) -> None:
        await conn.execute(_raise_sql("40001", f"could not serialize (checker attempt {attempt})"))

    op = Op(always_serialization)
    await raises(sub.with_retry(engine, op, attempts=5, base_delay=0.1))
    expect(op.calls == 5, f"with_retry(..., attempts=5) called the operation {op.calls} times; expected 5.")
    gaps = [b - a for a, b in zip(op.started, op.started[1:], strict=False)]
    span = op.started[-1] - op.started[0]
    # Exponential backoff from 0.1 s waits about 0.1 + 0.2 + 0.4 + 0.8 s; even "full jitter" (a random
    # wait between 0 and the backoff) stays above 0.05 s in total except with odds of about 1 in 25,000.
    # Retries without a delay take a few ms each on loopback: the bar is five times above that.
    expect(
        span >= 0.05,
        f"with_retry(..., attempts=5, base_delay=0.1) on an operation that always fails with 40001 made its 5 "
        f"attempts within {span * 1000:.0f} ms (gaps: {', '.join(f'{g * 1000:.0f} ms' for g in gaps)}); "
        "expected waits between them growing from about base_delay (exponential backoff, with jitter): "
        "retries in a tight loop are a retry storm that hammers a database already in trouble. "
        + LESSON.format("Backoff and jitter"),
    )
