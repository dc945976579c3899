"""Checks for fastapi/dependencies: `create_app(engine)`, `get_db`, `DbSession`, `UserService`, `get_user_service`.

The app runs under a real uvicorn server on a loopback port (in this process), because the lesson is about
what the client receives before or after the dependency's teardown: httpx's ASGITransport waits for the whole
ASGI call and would hide a commit that runs after the response. Rows are read from a separate connection,
connections are counted with the engine's pool events ("checkout"/"checkin") on the engine handed to the app,
and backends are counted in pg_stat_activity. The checker changes the users table of its own database for
single checks (a deferred unique constraint, a failing trigger) and restores it afterwards.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.ext.asyncio import async_sessionmaker

from course.checking import Database, expect, fail, wait_until
from course.web import serve

REQUIRES = {
    "create_app": "def create_app(engine)",
    "get_db": "async def get_db(request)",
    "UserService": "class UserService",
    "get_user_service": "def get_user_service(...)",
}
LESSON = "See notebook 02_fastapi/02, '{}'."
COMMIT = "Commit before the response"
POOL = "One session per request"
OVERRIDES = "Overriding dependencies"
USER_KEYS = {"id", "email", "name", "created_at"}


class Probe:
    """The engine handed to the app, with counts of its pool's checkouts (now, peak, total)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.current = self.peak = self.total = 0
        event.listen(engine.sync_engine, "checkout", self._out)
        event.listen(engine.sync_engine, "checkin", self._in)

    def _out(self, *_: Any) -> None:
        self.current += 1
        self.total += 1
        self.peak = max(self.peak, self.current)

    def _in(self, *_: Any) -> None:
        self.current -= 1

    def reset(self) -> None:
        self.peak = self.current
        self.total = 0


class Api:
    """The learner's app under uvicorn, a client, and the probes; every call is judged for the pool too."""

    def __init__(self, db: Database, sub: Any, probe: Probe, client: httpx.AsyncClient) -> None:
        self.db, self.sub, self.probe, self.client = db, sub, probe, client

    async def call(
        self, method: str, path: str, body: Any = None, *, expect_pool: bool = True
    ) -> httpx.Response:
        self.probe.reset()
        response = await self.client.request(method, path, json=body)
        if response.status_code == 500 and "NotImplementedError" in response.text:
            raise NotImplementedError
        if expect_pool:
            await self.pool_is_back(f"{method} {path}", response)
        return response

    async def pool_is_back(self, request: str, response: httpx.Response) -> None:
        # A correct app has returned its connection before the response is sent; 1 s of grace covers a
        # loaded machine, and a connection kept by a leaked session never comes back in that time.
        back = await wait_until(lambda: self.probe.current == 0, 1.0)
        expect(
            back,
            f"After {request} answered {response.status_code}, {self.probe.current} connection(s) of the engine "
            "handed to create_app are still checked out of its pool. Every request must give its connection "
            "back, whatever the outcome: close the session in get_db (async with, or try/finally) and roll back "
            "on error. " + LESSON.format(POOL),
        )
        expect(
            self.probe.peak <= 1,
            f"{request} held {self.probe.peak} connections of the pool at the same time; a request uses one "
            "session, so one connection at most: the service must use the session get_db gives, never open "
            "its own. " + LESSON.format(POOL),
        )

    async def rows(self) -> list[dict]:
        conn = await self.db.observer()
        return [dict(r) for r in await conn.fetch("SELECT id, email, name FROM users ORDER BY email")]


async def _end_others(conn: Any) -> None:
    """End every other connection to this database, so that DDL never waits for a lock a leaked one holds."""
    await conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
        "AND usename = current_user AND backend_type = 'client backend'"
    )


@contextlib.asynccontextmanager
async def running(db: Database, sub: Any, *, override: bool = False) -> AsyncIterator[Api]:
    conn = await db.observer()
    await _end_others(conn)  # a connection an earlier check leaked may hold locks on users
    await conn.execute("TRUNCATE users CASCADE")
    engine = db.engine(pool_size=5, max_overflow=5)
    probe = Probe(engine)
    app = sub.create_app(engine)
    if override:
        mine = async_sessionmaker(db.engine(), expire_on_commit=False)

        async def checker_get_db() -> AsyncIterator[Any]:
            async with mine() as session:
                try:
                    yield session
                    await session.commit()
                except BaseException:
                    await session.rollback()
                    raise

        app.dependency_overrides[sub.get_db] = checker_get_db
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
        yield Api(db, sub, probe, client)


def _shows(method: str, path: str, body: Any, response: httpx.Response) -> str:
    sent = f"{method} {path}" + (f" {str(body)[:200]}" if body is not None else "")
    return f"Sent: {sent}\nReceived: {response.status_code} {response.text[:300]}\n"


def _user_body(response: httpx.Response, email: str, name: str, what: str) -> dict:
    try:
        body = response.json()
    except ValueError:
        fail(f"{what} answered a body that is not JSON: {response.text[:200]!r}.")
    expect(
        isinstance(body, dict) and set(body) == USER_KEYS,
        f"{what} answered {str(body)[:300]}; expected exactly the keys {sorted(USER_KEYS)}.",
    )
    expect(
        body["email"] == email and body["name"] == name and body["created_at"],
        f"{what} answered {body}; expected email {email!r}, name {name!r} and the row's created_at.",
    )
    return body


async def test_a_user_is_created_read_back_and_not_found(sub, db):
    async with running(db, sub) as api:
        payload = {"email": "ada@example.com", "name": "Ada'); DROP TABLE users; --"}
        r = await api.call("POST", "/users", payload)
        expect(r.status_code == 201, _shows("POST", "/users", payload, r) + "Expected 201 with the new user.")
        body = _user_body(r, payload["email"], payload["name"], "POST /users")
        rows = await api.rows()
        expect(
            [(str(x["id"]), x["email"], x["name"]) for x in rows]
            == [(body["id"], payload["email"], payload["name"])],
            f"After POST /users answered 201, another connection sees {rows}; expected exactly the new user, "
            "committed, with the name stored as sent. " + LESSON.format(COMMIT),
        )
        path = f"/users/{body['id']}"
        r = await api.call("GET", path)
        expect(r.status_code == 200, _shows("GET", path, None, r) + "Expected 200 with the user.")
        _user_body(r, payload["email"], payload["name"], f"GET {path}")
        for path, status in [
            (f"/users/{uuid.uuid4()}", 404),
            ("/users/not-a-uuid", 422),
            ("/users/1%27%20OR%20%271%27=%271", 422),
            ("/users/" + "9" * 400, 422),
        ]:
            r = await api.call("GET", path)
            expect(
                r.status_code == status,
                _shows("GET", path, None, r)
                + f"Expected {status} (an unknown id is 404, a malformed one 422).",
            )


async def test_a_taken_email_answers_409_and_keeps_one_row(sub, db):
    async with running(db, sub) as api:
        payload = {"email": "bob@example.com", "name": "Bob"}
        first = await api.call("POST", "/users", payload)
        expect(first.status_code == 201, _shows("POST", "/users", payload, first) + "Expected 201.")
        again = {"email": "bob@example.com", "name": "Robert"}
        r = await api.call("POST", "/users", again)
        expect(
            r.status_code == 409,
            _shows("POST", "/users", again, r) + "Expected 409: the email is taken. " + LESSON.format(COMMIT),
        )
        rows = await api.rows()
        expect(
            [(x["email"], x["name"]) for x in rows] == [("bob@example.com", "Bob")],
            f"After the 409, another connection sees {rows}; expected only the first Bob.",
        )
        for bad in [
            {"email": "not-an-email", "name": "X"},
            {"email": "c@example.com", "name": ""},
            {"name": "X"},
        ]:
            r = await api.call("POST", "/users", bad)
            expect(r.status_code == 422, _shows("POST", "/users", bad, r) + "Expected 422.")
        after = await api.call("POST", "/users", {"email": "carol@example.com", "name": "Carol"})
        expect(
            after.status_code == 201,
            _shows("POST", "/users", {"email": "carol@example.com", "name": "Carol"}, after)
            + "Expected 201: the app must keep working after a 409.",
        )


async def test_bulk_creates_all_or_none(sub, db):
    async with running(db, sub) as api:
        batch = [{"email": f"u{i}@example.com", "name": f"U{i}"} for i in range(3)]
        r = await api.call("POST", "/users/bulk", batch)
        expect(r.status_code == 201, _shows("POST", "/users/bulk", batch, r) + "Expected 201 with all three.")
        body = r.json()
        expect(
            isinstance(body, list) and [u.get("email") for u in body] == [u["email"] for u in batch],
            f"POST /users/bulk answered {str(body)[:300]}; expected a list of the three users, in order.",
        )
        cases = [
            ("one email is already taken", [{"email": "new1@example.com", "name": "N1"}, batch[1]]),
            ("the list repeats an email", [{"email": "new2@example.com", "name": "N"}] * 2),
        ]
        for why, items in cases:
            r = await api.call("POST", "/users/bulk", items)
            expect(
                r.status_code == 409,
                _shows("POST", "/users/bulk", items, r) + f"Expected 409: {why}. " + LESSON.format(COMMIT),
            )
            emails = [x["email"] for x in await api.rows()]
            expect(
                emails == sorted(u["email"] for u in batch),
                f"After a bulk request where {why} answered {r.status_code}, another connection sees {emails}; "
                "expected none of that request's users kept (all or nothing).",
            )
        too_many = [{"email": f"m{i}@example.com", "name": "M"} for i in range(101)]
        r = await api.call("POST", "/users/bulk", too_many)
        expect(
            r.status_code == 422,
            _shows("POST", "/users/bulk", "[101 users]", r) + "Expected 422 (100 at most).",
        )
        hundred = [{"email": f"h{i}@example.com", "name": "H"} for i in range(100)]
        r = await api.call("POST", "/users/bulk", hundred)
        expect(
            r.status_code == 201,
            _shows("POST", "/users/bulk", "[100 users]", r) + "Expected 201 (100 allowed).",
        )


@contextlib.asynccontextmanager
async def deferred_email_constraint(db: Database) -> AsyncIterator[None]:
    """Replace the unique index on users.email by a constraint checked only at COMMIT."""
    conn = await db.observer()
    await conn.execute(
        "DROP INDEX IF EXISTS ix_users_email; ALTER TABLE users ADD CONSTRAINT chk_users_email_deferred "
        "UNIQUE (email) DEFERRABLE INITIALLY DEFERRED"
    )
    try:
        yield
    finally:
        await _end_others(conn)
        await conn.execute(
            "ALTER TABLE users DROP CONSTRAINT IF EXISTS chk_users_email_deferred; "
            "CREATE UNIQUE INDEX IF NOT EXISTS ix_users_email ON users (email)"
        )


async def test_a_failed_commit_is_never_answered_201(sub, db):
    async with running(db, sub) as api, deferred_email_constraint(db):
        payload = {"email": "dora@example.com", "name": "Dora"}
        first = await api.call("POST", "/users", payload)
        expect(first.status_code == 201, _shows("POST", "/users", payload, first) + "Expected 201.")
        again = {"email": "dora@example.com", "name": "Dora again"}
        r = await api.call("POST", "/users", again)
        rows = await api.rows()
        expect(
            r.status_code != 201 or len(rows) == 2,
            "The email's unique constraint was made DEFERRABLE INITIALLY DEFERRED, so a duplicate fails only at "
            f"COMMIT.\n{_shows('POST', '/users', again, r)}Another connection sees {len(rows)} row(s): the row "
            "was lost, yet the client was told 201. The commit ran after the response was sent: code after "
            "`yield` in a dependency runs after the response unless it is declared with "
            'Depends(..., scope="function") (or commit in the handler). ' + LESSON.format(COMMIT),
        )
        expect(
            r.status_code == 409,
            _shows("POST", "/users", again, r) + "Expected 409: the COMMIT failed on the email's unique "
            "constraint (deferred to COMMIT by the checker). " + LESSON.format(COMMIT),
        )
        items = [{"email": "eve@example.com", "name": "Eve"}, {"email": "dora@example.com", "name": "D"}]
        r = await api.call("POST", "/users/bulk", items)
        expect(
            r.status_code == 409,
            _shows("POST", "/users/bulk", items, r)
            + "Expected 409: the COMMIT failed (deferred constraint). "
            + LESSON.format(COMMIT),
        )
        emails = [x["email"] for x in await api.rows()]
        expect(emails == ["dora@example.com"], f"After that bulk 409, another connection sees {emails}.")


@contextlib.asynccontextmanager
async def failing_insert(db: Database, name: str) -> AsyncIterator[None]:
    """A trigger that makes inserting a user called `name` fail with a database error (not a conflict)."""
    conn = await db.observer()
    await conn.execute(
        "CREATE OR REPLACE FUNCTION chk_fail_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF NEW.name = '{name}' THEN RAISE EXCEPTION 'checker: insert refused'; END IF; RETURN NEW; END $$; "
        "CREATE TRIGGER chk_fail_insert BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION chk_fail_insert()"
    )
    try:
        yield
    finally:
        await _end_others(conn)
        await conn.execute(
            "DROP TRIGGER IF EXISTS chk_fail_insert ON users; DROP FUNCTION IF EXISTS chk_fail_insert()"
        )


async def test_every_response_gives_the_connection_back(sub, db):
    async with running(db, sub) as api, failing_insert(db, "boom"):
        for round_ in range(2):  # twice: the app must keep working, with every connection back each time
            email = f"f{round_}@example.com"
            calls: list[tuple[str, str, Any, int]] = [
                ("POST", "/users", {"email": email, "name": "F"}, 201),
                ("GET", f"/users/{uuid.uuid4()}", None, 404),
                ("POST", "/users", {"email": email, "name": "F2"}, 409),
                ("GET", "/users/nope", None, 422),
                ("POST", "/users", {"email": f"g{round_}@example.com", "name": "boom"}, 500),
                ("POST", "/users/bulk", [{"email": f"h{round_}@example.com", "name": "boom"}], 500),
            ]
            for method, path, body, status in calls:
                r = await api.call(method, path, body)
                expect(
                    r.status_code == status,
                    _shows(method, path, body, r)
                    + f"Expected {status}"
                    + (
                        " (the database refused the insert: an error that is not a conflict)."
                        if status == 500
                        else "."
                    ),
                )
        conn = await db.observer()
        backends = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
        "AND usename = current_user AND backend_type = 'client backend'"
        )
        pooled = api.probe.engine.pool.checkedin() + api.probe.engine.pool.checkedout()
        expect(
            backends <= pooled,
            f"After those requests the database has {backends} connections of this check, but the pool of the "
            f"engine handed to create_app holds {pooled}: the app opened connections of its own (an engine made "
            "per request or at import?). Use the engine you were given. " + LESSON.format(POOL),
        )


async def test_each_request_uses_the_engine_it_was_given(sub, db):
    async with running(db, sub) as api:
        payload = {"email": "ian@example.com", "name": "Ian"}
        r = await api.call("POST", "/users", payload)
        expect(r.status_code == 201, _shows("POST", "/users", payload, r) + "Expected 201.")
        expect(
            api.probe.total >= 1,
            "POST /users answered 201 without taking any connection from the pool of the engine handed to "
            "create_app(engine): the app talks to the database through an engine of its own (created per "
            "request, or at import from the environment). " + LESSON.format(POOL),
        )
        for method, path, body in [
            ("GET", f"/users/{r.json()['id']}", None),
            ("POST", "/users/bulk", [{"email": f"j{i}@example.com", "name": "J"} for i in range(5)]),
        ]:
            resp = await api.call(method, path, body)
            expect(resp.status_code in (200, 201), _shows(method, path, body, resp) + "Expected success.")
            expect(
                api.probe.total >= 1,
                f"{method} {path} answered {resp.status_code} without using the engine handed to create_app. "
                + LESSON.format(POOL),
            )


async def test_overriding_get_db_reaches_every_route(sub, db):
    async with running(db, sub, override=True) as api:
        steps: list[tuple[str, str, Any, int]] = [
            ("POST", "/users", {"email": "kim@example.com", "name": "Kim"}, 201),
            ("POST", "/users", {"email": "kim@example.com", "name": "Kim"}, 409),
            ("POST", "/users/bulk", [{"email": "lu@example.com", "name": "Lu"}], 201),
            ("GET", f"/users/{uuid.uuid4()}", None, 404),
        ]
        for method, path, body, status in steps:
            r = await api.call(method, path, body)
            expect(
                r.status_code == status,
                _shows(method, path, body, r) + f"Expected {status}, with app.dependency_overrides[get_db] "
                "giving the checker's own session. " + LESSON.format(OVERRIDES),
            )
            expect(
                api.probe.total == 0,
                f"With app.dependency_overrides[get_db] set to the checker's session, {method} {path} still took "
                f"{api.probe.total} connection(s) from the app's own engine. Every route must get its session "
                "through get_db (DbSession), including the service (get_user_service depends on DbSession). "
                + LESSON.format(OVERRIDES),
            )
        user_id = (await api.rows())[0]["id"]
        r = await api.call("GET", f"/users/{user_id}")
        expect(r.status_code == 200, _shows("GET", f"/users/{user_id}", None, r) + "Expected 200.")
        expect(api.probe.total == 0, f"GET /users/{user_id} used the app's engine despite the override.")
