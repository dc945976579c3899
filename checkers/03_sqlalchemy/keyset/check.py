"""Checks for sqlalchemy/keyset: `orders_page(session, *, limit, after=None) -> (orders, next_cursor)`.

Each check empties `orders` and inserts its own, many of them sharing one `created_at` to the microsecond, so
that a cursor without the id tiebreaker skips or repeats them. The expected order is asked from PostgreSQL
(`ORDER BY created_at DESC, id DESC`). Every page is fetched with a fresh session, as a web client would.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import async_sessionmaker

from course.checking import Database, check_timeout, describe, expect, fail, raises
from course.probes import StatementCounter
from course.shop import Order

REQUIRES = {"orders_page": "async def orders_page(session, *, limit, after=None)"}
KEYSET = "See notebook 03_sqlalchemy/05_postgres_features_and_pagination, 'Keyset versus offset'."
CURSORS = "See notebook 03_sqlalchemy/05_postgres_features_and_pagination, 'Opaque, signed cursors'."
BASE = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


class Shop:
    """The check's orders (one user), an engine counted from its second connection on, and its pages."""

    def __init__(self, db: Database, conn: asyncpg.Connection, user_id: uuid.UUID) -> None:
        self.db, self.conn, self.user_id = db, conn, user_id
        self.engine = db.engine()
        self.counter: StatementCounter | None = None

    @classmethod
    async def create(cls, db: Database, timestamps: list[datetime]) -> Shop:
        conn = await db.connect()
        await conn.execute("TRUNCATE orders, order_items CASCADE")
        user_id = uuid.uuid4()
        await conn.execute(
            "INSERT INTO users (id, email, name) VALUES ($1, $2, 'Pager')", user_id, f"{user_id.hex}@example.com"
        )
        shop = cls(db, conn, user_id)
        await shop.add(timestamps)
        async with shop.engine.connect():  # the dialect's first-connect queries are not the submission's
            pass
        shop.counter = StatementCounter(shop.engine)
        return shop

    async def add(self, timestamps: list[datetime]) -> None:
        await self.conn.executemany(
            "INSERT INTO orders (id, user_id, total_cents, created_at) VALUES ($1, $2, 100, $3)",
            [(uuid.uuid4(), self.user_id, ts) for ts in timestamps],
        )

    async def expected(self) -> list[uuid.UUID]:
        rows = await self.conn.fetch("SELECT id FROM orders ORDER BY created_at DESC, id DESC")
        return [r["id"] for r in rows]

    async def page(self, sub, limit: int, after: str | None) -> tuple[list[uuid.UUID], str | None]:
        async with async_sessionmaker(self.engine, expire_on_commit=False)() as session:
            result = await sub.orders_page(session, limit=limit, after=after)
        call = f"orders_page(session, limit={limit}, after={_short(after)})"
        expect(isinstance(result, tuple) and len(result) == 2,
               f"Called {call}: got {result!r:.150}, expected a tuple (orders, next_cursor).")
        orders, cursor = result
        expect(isinstance(orders, list) and all(isinstance(o, Order) for o in orders),
               f"Called {call}: the first element was {orders!r:.150}, expected a list of Order objects.")
        expect(cursor is None or (isinstance(cursor, str) and cursor),
               f"Called {call}: the next cursor was {cursor!r:.100}, expected a non-empty str or None.")
        expect(len(orders) <= limit, f"Called {call}: got {len(orders)} orders, more than the limit {limit}.")
        return [o.id for o in orders], cursor

    async def walk(self, sub, limits: list[int], *, max_pages: int) -> tuple[list[uuid.UUID], list[int]]:
        """Every id seen following the cursors from the first page, and each page's size."""
        seen: list[uuid.UUID] = []
        sizes: list[int] = []
        cursor: str | None = None
        while len(sizes) < max_pages:
            ids, cursor = await self.page(sub, limits[len(sizes) % len(limits)], cursor)
            seen += ids
            sizes.append(len(ids))
            if cursor is None:
                return seen, sizes
        fail(f"Followed the next cursors for {max_pages} pages and never got None: the cursors do not move "
             f"forward (page sizes {sizes[:12]}...). {KEYSET}")


def _short(cursor: str | None) -> str:
    return repr(cursor) if cursor is None or len(cursor) <= 40 else repr(cursor[:37] + "...")


def _tied_timestamps() -> list[datetime]:
    """45 orders: 20 at one instant, 15 at another, and 10 alone, all interleaved in insertion order."""
    stamps = [BASE] * 20 + [BASE - timedelta(seconds=5)] * 15
    stamps += [BASE - timedelta(minutes=i) for i in range(1, 6)] + [BASE + timedelta(minutes=i) for i in range(1, 6)]
    return stamps[::2] + stamps[1::2]


def _compare(seen: list[uuid.UUID], expected: list[uuid.UUID]) -> str:
    """What went wrong between the ids seen and the expected ones, in words."""
    position = {oid: i for i, oid in enumerate(expected)}
    duplicates = len(seen) - len(set(seen))
    skipped = [position[o] for o in expected if o not in set(seen)]
    parts = [f"{len(seen)} orders seen, {len(expected)} expected"]
    if duplicates:
        parts.append(f"{duplicates} seen twice")
    if skipped:
        parts.append(f"{len(skipped)} never seen (at positions {skipped[:8]} of the expected order)")
    first = next((i for i, (a, b) in enumerate(zip(seen, expected, strict=False)) if a != b), None)
    if not duplicates and not skipped and first is not None:
        parts.append(f"the same orders in another order: first difference at position {first}; the order must be "
                     "created_at descending, then id descending")
    return "; ".join(parts)


async def test_first_page_is_the_newest_orders(sub, db):
    shop = await Shop.create(db, _tied_timestamps())
    expected = await shop.expected()
    ids, cursor = await shop.page(sub, 8, None)
    expect(ids == expected[:8],
           f"Called orders_page(session, limit=8) on 45 orders: got {len(ids)} orders that are not the 8 newest "
           f"by (created_at desc, id desc): {_compare(ids, expected[:8])}. {KEYSET}")
    expect(cursor is not None, f"Called orders_page(session, limit=8) on 45 orders: the next cursor was None, "
                               f"but 37 orders remain. {KEYSET}")


async def test_paging_visits_every_order_once_in_order(sub, db):
    shop = await Shop.create(db, _tied_timestamps())
    expected = await shop.expected()
    for limits in ([4], [7, 1, 5, 3]):
        seen, sizes = await shop.walk(sub, limits, max_pages=len(expected) + 5)
        expect(seen == expected,
               f"Followed the cursors with limit {limits if len(limits) > 1 else limits[0]} through 45 orders, 20 "
               f"of them sharing one created_at and 15 another: {_compare(seen, expected)} (page sizes {sizes}). "
               f"Orders sharing a timestamp are only told apart by their id: the cursor needs both. {KEYSET}")


async def test_the_last_page_has_no_next_cursor(sub, db):
    shop = await Shop.create(db, [])
    ids, cursor = await shop.page(sub, 5, None)
    expect(ids == [] and cursor is None,
           f"Called orders_page(session, limit=5) with no orders at all: got {len(ids)} orders and next cursor "
           f"{_short(cursor)}, expected ([], None). {KEYSET}")
    await shop.add([BASE - timedelta(seconds=i % 3) for i in range(12)])
    expected = await shop.expected()
    seen, sizes = await shop.walk(sub, [4], max_pages=10)
    expect(seen == expected and sizes == [4, 4, 4],
           f"Paged through 12 orders with limit 4: got pages of sizes {sizes}, expected [4, 4, 4] with None as "
           f"the next cursor of the third page (the one holding the oldest order; no extra empty page). "
           f"{_compare(seen, expected)}. {KEYSET}")
    ids, cursor = await shop.page(sub, 12, None)
    expect(len(ids) == 12 and cursor is None,
           f"Called orders_page(session, limit=12) on exactly 12 orders: got {len(ids)} orders and next cursor "
           f"{_short(cursor)}, expected all 12 and None (nothing comes after them). {KEYSET}")


async def test_new_orders_while_paging_cause_no_duplicate_or_skip(sub, db):
    shop = await Shop.create(db, _tied_timestamps())
    expected = await shop.expected()
    seen: list[uuid.UUID] = []
    cursor: str | None = None
    pages = 0
    while True:
        ids, cursor = await shop.page(sub, 6, cursor)
        seen += ids
        pages += 1
        if cursor is None or pages > 20:
            break
        # Between two pages, 3 new orders arrive (newer than every order so far), as on a live shop.
        await shop.add([BASE + timedelta(hours=1, seconds=pages)] * 3)
    original = [o for o in seen if o in set(expected)]
    new = len(seen) - len(original)
    expect(original == expected,
           f"Paged with limit 6 through 45 orders while 3 new orders arrived before each next page: among the "
           f"original orders, {_compare(original, expected)}. With OFFSET every new order shifts the rows, so one "
           f"is seen twice; a keyset page starts after the last (created_at, id) seen. {KEYSET}")
    expect(new == 0,
           f"Paged with limit 6 while newer orders arrived: {new} of the new orders showed up on later pages, "
           f"but pages go from newest to oldest, after the last order seen. {KEYSET}")


async def test_pages_use_a_keyset_not_offset(sub, db):
    shop = await Shop.create(db, _tied_timestamps())
    assert shop.counter is not None
    shop.counter.reset()
    await shop.walk(sub, [10], max_pages=20)
    statements = [s for s, _ in shop.counter.statements]
    with_offset = [s for s in statements if re.search(r"\bOFFSET\b", s, re.IGNORECASE)]
    expect(not with_offset,
           f"Paging through 45 orders with limit 10 sent {len(with_offset)} statement(s) with OFFSET:\n"
           f"{shop.counter.summary()}\nOFFSET reads and throws away every earlier row, and shifts when rows "
           f"arrive: filter on (created_at, id) after the cursor instead. {KEYSET}")
    expect(len(statements) <= 10,
           f"Paging through 45 orders with limit 10 (5 pages) sent {len(statements)} statements:\n"
           f"{shop.counter.summary()}\nexpected one query per page. {KEYSET}")


def _plan_nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node, *(n for child in node.get("Plans", []) for n in _plan_nodes(child))]


def _describe_plan(nodes: list[dict[str, Any]]) -> str:
    return " > ".join(
        n["Node Type"] + (f" using {n['Index Name']}" if "Index Name" in n else "")
        + (f" on {n['Relation Name']}" if "Relation Name" in n else "")
        for n in nodes
    )


@check_timeout(15)
async def test_a_page_reads_only_its_rows_through_the_index(sub, db):
    from sqlalchemy import event

    shop = await Shop.create(db, [])
    # 20,000 orders over 5,000 distinct seconds, statistics fresh: a page of 10 should read ~11 index entries.
    await shop.conn.execute(
        "INSERT INTO orders (id, user_id, total_cents, created_at) SELECT gen_random_uuid(), $1, 100, "
        "$2::timestamptz - (g % 5000) * interval '1 second' FROM generate_series(1, 20000) AS g",
        shop.user_id, BASE,
    )
    await shop.conn.execute("ANALYZE orders")
    _, cursor = await shop.page(sub, 10, None)
    expect(cursor is not None, "Called orders_page(session, limit=10) on 20,000 orders: the next cursor was None.")
    sent: list[tuple[str, Any]] = []

    def record(conn, cur, statement, parameters, context, executemany) -> None:
        sent.append((statement, parameters))

    event.listen(shop.engine.sync_engine, "before_cursor_execute", record)
    try:
        await shop.page(sub, 10, cursor)
    finally:
        event.remove(shop.engine.sync_engine, "before_cursor_execute", record)
    plans = []
    for statement, parameters in sent:
        if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
            continue
        raw = await shop.conn.fetchval(f"EXPLAIN (FORMAT JSON) {statement}", *(parameters or ()))
        nodes = _plan_nodes(json.loads(raw)[0]["Plan"] if isinstance(raw, str) else raw[0]["Plan"])
        plans.append(nodes)
        uses_index = any(n.get("Index Name") == "ix_orders_created_at_id" for n in nodes)
        limited = any(n["Node Type"] == "Limit" for n in nodes)
        if uses_index and limited:
            return
    shown = "\n".join(f"  {' '.join(s.split())[:110]}\n    plan: {_describe_plan(p)}" for (s, _), p in
                       zip([x for x in sent if x[0].lstrip().upper().startswith(("SELECT", "WITH"))], plans,
                           strict=False))
    fail(f"Fetched page 2 (limit 10) of 20,000 orders: no query read it through the index on (created_at, id) with "
         f"a LIMIT. The queries and PostgreSQL's plans:\n{shown or '  (no SELECT)'}\nA keyset page filters on "
         f"(created_at, id) after the cursor, orders by both descending and limits in SQL, so the index hands over "
         f"just the rows of the page; fetching everything and cutting in Python reads the whole table. {KEYSET}")


async def _value_error(shop: Shop, sub, limit: int, after: str | None, what: str, lesson: str) -> None:
    exc = await raises(shop.page(sub, limit, after))
    expect(isinstance(exc, ValueError),
           f"Called orders_page(session, limit={limit}, after={_short(after)}) with {what}: it "
           f"{'raised ' + describe(exc) if exc else 'returned a page'}, expected ValueError. {lesson}")


def _junk_cursors() -> list[tuple[str, str]]:
    b64 = base64.urlsafe_b64encode
    return [
        ("hello", "random text"),
        ("not a cursor at all!", "random text with spaces"),
        (b64(b"\x00\xff\xfe garbage \x80").decode(), "base64 of junk bytes"),
        (b64(b"2026-01-01").decode(), "base64 of a date alone"),
        (b64(b'{"created_at": "yesterday", "id": 7}').decode(), "base64 of JSON with wrong values"),
        (b64(b'["2026-01-01T00:00:00+00:00", "not-a-uuid"]').decode(), "base64 of a JSON list with a bad id"),
        ("....", "dots"),
        ("%%%%", "percent signs"),
        ("a" * 5000, "5000 characters"),
        ("'; DROP TABLE orders; --", "an SQL injection attempt"),
    ]


async def test_malformed_cursors_raise_value_error(sub, db):
    shop = await Shop.create(db, _tied_timestamps())
    for cursor, what in _junk_cursors():
        await _value_error(shop, sub, 5, cursor, what, CURSORS)
    count = await shop.conn.fetchval("SELECT count(*) FROM orders")
    expect(count == 45, f"After the malformed cursors, orders holds {count} rows instead of 45. {CURSORS}")


def _b64_decode(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


def _tampered(cursor: str) -> list[tuple[str, str]]:
    """Versions of a cursor with its meaning changed: edited characters, and edits inside decoded content."""
    found: dict[str, str] = {}
    alphabet = "AZaz09-_"
    for i, char in enumerate(cursor):
        for other in (alphabet[(alphabet.find(char) + 1) % len(alphabet)] if char in alphabet else "A", "7"):
            if other != char:
                found.setdefault(cursor[:i] + other + cursor[i + 1:], f"character {i} changed")
    # Edit a digit or hex letter inside readable content (the cursor itself, or any base64 part of it).
    parts = re.split(r"([.:|~])", cursor)
    for index, part in enumerate(parts):
        decoded = _b64_decode(part)
        padded = part.endswith("=")
        candidates = [(part, lambda t: t)]
        if decoded is not None and len(part) >= 8:
            try:
                text = decoded.decode()
            except UnicodeDecodeError:
                text = None
            if text is not None:
                candidates.append(
                    (text, lambda t, padded=padded: base64.urlsafe_b64encode(t.encode()).decode().rstrip("" if padded else "="))
                )
        for text, encode in candidates:
            for match in list(re.finditer(r"\d", text))[:40]:
                digit = match.group()
                edited = text[: match.start()] + str((int(digit) + 1) % 10) + text[match.end():]
                new = "".join(parts[:index]) + encode(edited) + "".join(parts[index + 1:])
                found.setdefault(new, "a digit of its content changed")
    found.pop(cursor, None)
    return list(found.items())


async def test_tampered_cursors_raise_value_error(sub, db):
    shop = await Shop.create(db, _tied_timestamps())
    ids, cursor = await shop.page(sub, 10, None)
    expect(cursor is not None, "Called orders_page(session, limit=10) on 45 orders: the next cursor was None.")
    genuine, genuine_next = await shop.page(sub, 10, cursor)
    for tampered, how in _tampered(cursor):
        got: list[Any] = []

        async def call(tampered: str = tampered, got: list[Any] = got) -> None:
            got.append(await shop.page(sub, 10, tampered))

        exc = await raises(call())
        if exc is None and got[0][0] != genuine:
            fail(f"Took the cursor of page 1 ({_short(cursor)}) and changed it ({how}): orders_page accepted "
                 f"{_short(tampered)} and returned a different page ({len(got[0][0])} orders) instead of raising "
                 f"ValueError. A client can forge any position: the cursor needs an integrity check (an HMAC "
                 f"of its content with a server secret). {CURSORS}")
        if exc is not None and not isinstance(exc, ValueError):
            fail(f"Took the cursor of page 1 ({_short(cursor)}) and changed it ({how}): orders_page raised "
                 f"{describe(exc)}, expected ValueError. {CURSORS}")


async def test_limit_below_one_raises_value_error(sub, db):
    shop = await Shop.create(db, _tied_timestamps())
    for limit in (0, -1):
        await _value_error(shop, sub, limit, None, f"limit={limit}", KEYSET)
