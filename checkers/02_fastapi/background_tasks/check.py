"""Checks for fastapi/background_tasks: `create_app(engine)` with `POST /orders/{order_id}/cancel`.

The app runs under a real uvicorn server (`course.web.serve`) in the check's loop: over ASGITransport the
client would wait for background tasks too, so only real HTTP shows when the response leaves. The database
is made slow or failing with triggers the checker installs, and is read back from a separate connection.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import httpx

from course.checking import Database, expect, wait_until
from course.web import serve

REQUIRES = {"create_app": "def create_app(engine)"}
LESSON = "See notebook 02_fastapi/02, '{}'."

SLOW_AUDIT = """
CREATE OR REPLACE FUNCTION chk_slow_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_sleep(1); RETURN NEW; END $$;
CREATE TRIGGER chk_slow_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION chk_slow_audit();
"""
FAILING_AUDIT = """
CREATE OR REPLACE FUNCTION chk_fail_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit store unavailable (checker)'; END $$;
CREATE TRIGGER chk_fail_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION chk_fail_audit();
"""
# A COMMIT that changes an order takes 0.4 s: a commit made after the response is then still running when
# the client reads the order right after the 202, whatever the machine's speed.
SLOW_ORDER_COMMIT = """
CREATE OR REPLACE FUNCTION chk_slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_sleep(0.4); RETURN NULL; END $$;
CREATE CONSTRAINT TRIGGER chk_slow_commit AFTER UPDATE ON orders DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION chk_slow_commit();
"""


class Shop:
    """One user with a pending and a shipped order, the engine handed to the app, and captured logs."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.engine = db.engine(pool_size=5, max_overflow=0)
        self.records: list[logging.LogRecord] = []

    async def setup(self, *ddl: str) -> None:
        conn = await self.db.observer()
        await conn.execute("TRUNCATE audit_events, order_items, orders, users RESTART IDENTITY CASCADE")
        user = await conn.fetchval(
            "INSERT INTO users (id, email, name) VALUES (gen_random_uuid(), 'ada@example.com', 'Ada') RETURNING id"
        )
        self.pending = await self.new_order(user, "pending")
        self.shipped = await self.new_order(user, "shipped")
        for statement in ddl:
            await conn.execute(statement)

    async def new_order(self, user: uuid.UUID, status: str) -> uuid.UUID:
        conn = await self.db.observer()
        return await conn.fetchval(
            "INSERT INTO orders (id, user_id, total_cents, status) VALUES (gen_random_uuid(), $1, 1000, $2) "
            "RETURNING id",
            user,
            status,
        )

    async def status(self, order_id: uuid.UUID) -> str | None:
        return await (await self.db.observer()).fetchval("SELECT status FROM orders WHERE id = $1", order_id)

    async def audits(self) -> list[tuple]:
        rows = await (await self.db.observer()).fetch("SELECT entity, entity_id, action FROM audit_events")
        return [tuple(r) for r in rows]

    def app(self, sub: Any) -> Any:
        return sub.create_app(self.engine)


class Capture(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__(logging.DEBUG)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def shown(response: httpx.Response) -> str:
    return f"{response.request.method} {response.request.url.path} -> {response.status_code} {response.text[:200]}"


async def test_cancel_answers_202_for_pending_404_for_unknown_and_409_otherwise(sub, db):
    shop = Shop(db)
    await shop.setup()
    async with serve(shop.app(sub)) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
        r = await client.post(f"/orders/{shop.pending}/cancel")
        expect(
            r.status_code == 202 and r.json() == {"id": str(shop.pending), "status": "cancelled"},
            f"Cancelling a pending order: {shown(r)}; expected 202 "
            f'{{"id": "{shop.pending}", "status": "cancelled"}}. ' + LESSON.format("Work after the response"),
        )
        expect(
            await shop.status(shop.pending) == "cancelled",
            f"After {shown(r)} the order's status in the database is {await shop.status(shop.pending)!r}, "
            "expected 'cancelled'. " + LESSON.format("Work after the response"),
        )
        for order, why in ((shop.pending, "an already cancelled order"), (shop.shipped, "a shipped order")):
            r = await client.post(f"/orders/{order}/cancel")
            expect(r.status_code == 409, f"Cancelling {why}: {shown(r)}; expected 409.")
        expect(await shop.status(shop.shipped) == "shipped", "Cancelling a shipped order changed its status.")
        r = await client.post(f"/orders/{uuid.uuid4()}/cancel")
        expect(r.status_code == 404, f"Cancelling an unknown order: {shown(r)}; expected 404.")
        for hostile in ("not-a-uuid", "1' OR '1'='1"):
            r = await client.post(f"/orders/{hostile}/cancel")
            expect(
                r.status_code in (404, 422),
                f"Cancelling order id {hostile!r}: {shown(r)}; expected 404 or 422.",
            )
        ok = await wait_until(lambda: shop.engine.pool.checkedout() == 0, 3)
        expect(
            ok,
            f"{shop.engine.pool.checkedout()} connection(s) of your engine stay checked out after the requests.",
        )


async def test_the_status_change_is_committed_before_the_response(sub, db):
    shop = Shop(db)
    await shop.setup(SLOW_ORDER_COMMIT)
    async with serve(shop.app(sub)) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
        r = await client.post(f"/orders/{shop.pending}/cancel")
        expect(r.status_code == 202, f"Cancelling a pending order: {shown(r)}; expected 202.")
        seen = await shop.status(shop.pending)
        expect(
            seen == "cancelled",
            f"Right after the 202 arrived, another connection still reads status {seen!r}: the change was not "
            "committed yet (the checker made COMMIT of an order update take 0.4 s). The response must be sent "
            "only after COMMIT succeeded. "
            + LESSON.format("When does the dependency's code after yield run?"),
        )
        await wait_until(lambda: shop.engine.pool.checkedout() == 0, 3)


async def test_a_slow_audit_write_does_not_delay_the_response(sub, db):
    shop = Shop(db)
    await shop.setup(SLOW_AUDIT)
    async with serve(shop.app(sub)) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
        started = time.perf_counter()
        r = await client.post(f"/orders/{shop.pending}/cancel")
        elapsed = time.perf_counter() - started
        expect(r.status_code == 202, f"Cancelling a pending order: {shown(r)}; expected 202.")
        # The audit INSERT sleeps 1 s; a response that waited for it takes >= 1 s. 0.5 s leaves a loaded
        # machine ample room for the UPDATE and its COMMIT and still tells the two apart.
        expect(
            elapsed < 0.5,
            f"With an audit write that takes 1 s, the 202 arrived after {elapsed:.2f} s; expected well under "
            "0.5 s: the audit must be written after the response, by a background task. "
            + LESSON.format("Work after the response"),
        )
        expect(await shop.audits() == [], "The audit row was visible before its (1 s) INSERT could finish.")
        appeared = await wait_until(lambda: _has_audit(shop), 4, 0.05)
        rows = await shop.audits()
        expect(
            appeared and rows == [("order", str(shop.pending), "cancelled")],
            f"After the response, audit_events holds {rows}; expected one row ('order', '{shop.pending}', "
            "'cancelled') within a few seconds. " + LESSON.format("Work after the response"),
        )
        ok = await wait_until(lambda: shop.engine.pool.checkedout() == 0, 3)
        expect(
            ok, f"{shop.engine.pool.checkedout()} connection(s) stay checked out after the audit was written."
        )


async def _has_audit(shop: Shop) -> bool:
    return bool(await shop.audits())


async def test_a_failing_audit_write_is_logged_and_changes_nothing_for_the_client(sub, db):
    shop = Shop(db)
    await shop.setup(FAILING_AUDIT)
    capture = Capture(shop.records)
    root = logging.getLogger()
    root.addHandler(capture)
    try:
        async with serve(shop.app(sub)) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
            r = await client.post(f"/orders/{shop.pending}/cancel")
            expect(
                r.status_code == 202 and r.json() == {"id": str(shop.pending), "status": "cancelled"},
                f"With a failing audit write: {shown(r)}; expected the same 202 as usual: the audit is not the "
                "client's business. " + LESSON.format("Work after the response"),
            )

            def own_errors() -> list[logging.LogRecord]:
                # uvicorn logs an exception that escaped the app; the app must catch and log its own.
                return [
                    rec
                    for rec in shop.records
                    if rec.levelno >= logging.ERROR
                    and not rec.name.startswith(("uvicorn", "starlette", "asyncio"))
                ]

            logged = await wait_until(lambda: bool(own_errors()), 3, 0.05)
            escaped = [
                rec for rec in shop.records if rec.name.startswith("uvicorn") and rec.levelno >= logging.ERROR
            ]
            expect(
                logged,
                "The audit INSERT failed (the checker made it raise) but your code logged nothing at ERROR"
                + (" (the exception escaped to uvicorn, which logged it for you)" if escaped else "")
                + ": catch the failure in the background task and log it. "
                + LESSON.format("Work after the response"),
            )
            expect(
                await shop.status(shop.pending) == "cancelled",
                f"After a failing audit write the order's status is {await shop.status(shop.pending)!r}; "
                "expected 'cancelled': the audit has its own transaction.",
            )
            ok = await wait_until(lambda: shop.engine.pool.checkedout() == 0, 3)
            expect(
                ok,
                f"{shop.engine.pool.checkedout()} connection(s) of your engine stay checked out after the failed "
                "audit write: close the background task's session whatever happens. "
                + LESSON.format("Work after the response"),
            )
            r = await client.post(f"/orders/{shop.shipped}/cancel")
            expect(
                r.status_code == 409,
                f"After a failed audit, cancelling a shipped order: {shown(r)}; expected 409.",
            )
    finally:
        root.removeHandler(capture)
