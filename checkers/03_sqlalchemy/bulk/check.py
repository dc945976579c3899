"""Checks for sqlalchemy/bulk: `bulk_insert_products(session, rows, chunk_size)` and `copy_products(conn, rows)`.

What reaches the database is what is graded: a `StatementCounter` on the engine the checker creates counts
the round trips (an executemany counts once), rows are read back on a separate connection after the checker
commits or rolls back, and a spying asyncpg connection records which calls `copy_products` made.

Round trips, decided precisely: for n rows and a chunk size c (c <= 1000), exactly ceil(n / c) statements.
At least that many, because a round trip may carry at most c rows; at most that many, because one executemany
per chunk is enough (SQLAlchemy's "insertmanyvalues" batches 1000 rows per statement, so it never splits a
chunk of at most 1000 rows of a few columns). One INSERT per row, or one statement ignoring the chunk size,
is off by a factor the message shows.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from course.checking import Database, describe, expect, fail, raises
from course.probes import StatementCounter, spy_connection_class

REQUIRES = {
    "bulk_insert_products": "async def bulk_insert_products(session, rows, chunk_size=1000)",
    "copy_products": "async def copy_products(conn, rows)",
}
LESSON = "See notebook 03_sqlalchemy/03, 'Bulk inserts and COPY'."
LESSON_TX = "See notebook 03_sqlalchemy/03, 'The transaction boundary belongs to the caller'."

# Strings that break SQL built by hand, CSV or text COPY built without escaping: quotes, the text-format
# delimiter (tab), row separators, the escape character, the NULL marker \N, the end-of-data marker \.,
# commas, placeholders and non-ASCII text.
HOSTILE = [
    "O'Brien's \"best\" kettle",
    "tab\tinside",
    "new\nline",
    "carriage\r\nreturn",
    "back\\slash",
    "\\N",
    "\\.",
    "comma, separated, values",
    "'); DROP TABLE products; --",
    "%s %(name)s $1 :name ?",
    "ünïcødé ☃ 🚀 日本語 עברית",
    "",
    "  spaces around  ",
    '"',
    "\\\\double\\\\",
    "line\u2028separator",
]


def _rows(n: int, prefix: str) -> list[dict[str, Any]]:
    """n product rows; a few names are hostile strings (a bulk insert sends them as bound parameters)."""
    return [
        {
            "sku": f"{prefix}-{i:05d}",
            "name": HOSTILE[i % len(HOSTILE)] if i % 97 == 0 else f"Product {prefix} {i}",
            "price_cents": 100 + i,
            "description": f"bulk row {i}",
        }
        for i in range(n)
    ]


async def _engine(db: Database) -> tuple[AsyncEngine, StatementCounter]:
    """An engine already connected once (connecting runs setup queries), and a counter on it."""
    engine = db.engine()
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return engine, StatementCounter(engine)


def _sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def _stored(db: Database, prefix: str) -> dict[str, tuple[str, int, str]]:
    """What a separate connection sees: sku -> (name, price_cents, description)."""
    conn = await db.connect()
    rows = await conn.fetch(
        "SELECT sku, name, price_cents, description FROM products WHERE sku LIKE $1", prefix + "%"
    )
    await conn.close()
    return {r["sku"]: (r["name"], r["price_cents"], r["description"]) for r in rows}


def _differences(rows: list[dict[str, Any]], stored: dict[str, tuple[str, int, str]]) -> list[str]:
    problems = []
    for row in rows:
        got = stored.get(row["sku"])
        want = (row["name"], row["price_cents"], row["description"])
        if got != want:
            problems.append(f"{row['sku']}: expected {want!r}, found {got!r}")
    return problems


async def test_bulk_insert_stores_every_row_and_returns_the_count(sub: Any, db: Database) -> None:
    rows = _rows(2500, "BULK")
    engine, counter = await _engine(db)
    async with _sessions(engine)() as session:
        inserted = await sub.bulk_insert_products(session, rows, 1000)
        await session.commit()  # the caller's job: the function must not commit
    stored = await _stored(db, "BULK")
    expect(
        len(stored) == len(rows),
        f"bulk_insert_products(session, 2500 rows, chunk_size=1000), then the checker committed: a separate "
        f"connection sees {len(stored)} of the 2500 rows. Statements sent:\n{counter.summary()}\n{LESSON}",
    )
    problems = _differences(rows, stored)
    expect(
        not problems,
        f"{len(problems)} rows were stored differently from what was given (some names are hostile strings, "
        f"which bound parameters carry unchanged), for example:\n  "
        + "\n  ".join(problems[:4])
        + f"\n{LESSON}",
    )
    expect(
        type(inserted) is int and inserted == len(rows),
        f"bulk_insert_products returned {inserted!r} for 2500 rows; expected 2500 (the number of rows "
        f"inserted).",
    )


async def test_bulk_insert_sends_one_executemany_per_chunk_not_a_round_trip_per_row(
    sub: Any, db: Database
) -> None:
    engine, counter = await _engine(db)
    for n, chunk_size, prefix in ((2500, 1000, "CHUNK-A"), (250, 100, "CHUNK-B")):
        counter.reset()
        async with _sessions(engine)() as session:
            await sub.bulk_insert_products(session, _rows(n, prefix), chunk_size)
            await session.commit()
        expected = math.ceil(n / chunk_size)
        sent = counter.count
        if sent > expected:
            per_row = " That is one round trip per row." if sent >= n else ""
            fail(
                f"bulk_insert_products with {n} rows and chunk_size={chunk_size} sent {sent} statements; "
                f"expected {expected}: one executemany (insert(Product) with a list of rows) per chunk.{per_row}"
                f"\n{counter.summary()}\n{LESSON}"
            )
        if sent < expected:
            fail(
                f"bulk_insert_products with {n} rows and chunk_size={chunk_size} sent {sent} statement(s): at "
                f"least one round trip carried more than {chunk_size} rows. Split the rows into chunks of at "
                f"most chunk_size rows, one executemany each ({expected} here).\n{counter.summary()}\n{LESSON}"
            )
    stored = await _stored(db, "CHUNK-")
    expect(
        len(stored) == 2750,
        f"After both calls a separate connection sees {len(stored)} of the 2750 rows given.\n{LESSON}",
    )


async def test_bulk_insert_does_not_commit_so_a_rollback_by_the_caller_leaves_nothing(
    sub: Any, db: Database
) -> None:
    engine, counter = await _engine(db)
    async with _sessions(engine)() as session:
        await sub.bulk_insert_products(session, _rows(300, "ROLLBACK"), 1000)
        await session.rollback()  # the caller changes its mind
    stored = await _stored(db, "ROLLBACK")
    expect(
        not stored,
        f"The checker called bulk_insert_products(session, 300 rows) and then rolled back, yet a separate "
        f"connection sees {len(stored)} of the rows: the function committed on its own. A function that "
        f"receives a session leaves the commit to its caller, who may have more work in the same "
        f"transaction.\n{LESSON_TX}",
    )


async def test_chunk_size_below_one_raises_value_error_before_sending_anything(
    sub: Any, db: Database
) -> None:
    engine, counter = await _engine(db)
    for chunk_size in (0, -1):
        counter.reset()
        async with _sessions(engine)() as session:
            error = await raises(sub.bulk_insert_products(session, _rows(10, f"BAD{chunk_size}"), chunk_size))
            await session.commit()
        expect(
            isinstance(error, ValueError),
            f"bulk_insert_products(session, 10 rows, chunk_size={chunk_size}) raised {describe(error)}; "
            f"expected ValueError: a chunk size below 1 makes no sense.\n{LESSON}",
        )
        expect(
            counter.count == 0,
            f"With chunk_size={chunk_size} the function raised, but only after sending {counter.count} "
            f"statement(s):\n{counter.summary()}\nCheck the argument before touching the database.",
        )
    stored = await _stored(db, "BAD")
    expect(not stored, f"{len(stored)} rows were stored although chunk_size was invalid.")


async def test_no_rows_returns_zero_and_sends_nothing(sub: Any, db: Database) -> None:
    engine, counter = await _engine(db)
    async with _sessions(engine)() as session:
        try:
            inserted = await sub.bulk_insert_products(session, [], 1000)
        except NotImplementedError:
            raise
        except Exception as exc:  # noqa: BLE001 - any error is the finding
            fail(
                f"bulk_insert_products(session, [], 1000) raised {describe(exc)}; expected 0 and nothing sent. "
                f"Statements sent:\n{counter.summary()}\n(insert(Product) with an empty list of rows means "
                f"one INSERT with default values.)\n{LESSON}"
            )
        await session.commit()
    expect(
        counter.count == 0,
        f"bulk_insert_products(session, []) sent {counter.count} statement(s) for no rows:\n"
        f"{counter.summary()}\n{LESSON}",
    )
    expect(
        inserted == 0 and type(inserted) is int,
        f"bulk_insert_products(session, []) returned {inserted!r}; expected 0.",
    )


def _copy_rows(n: int, prefix: str) -> list[tuple[str, str, int]]:
    return [(f"{prefix}-{i:05d}", f"Copied {prefix} {i}", 50 + i) for i in range(n)]


async def _copied(db: Database, prefix: str) -> dict[str, tuple[str, int]]:
    return {sku: (name, price) for sku, (name, price, _) in (await _stored(db, prefix)).items()}


async def test_copy_products_stores_every_row_and_returns_the_count(sub: Any, db: Database) -> None:
    rows = _copy_rows(2500, "COPY")
    conn = await db.connect()
    copied = await sub.copy_products(conn, rows)
    stored = await _copied(db, "COPY")
    missing = [sku for sku, name, price in rows if stored.get(sku) != (name, price)]
    expect(
        not missing,
        f"copy_products(conn, 2500 rows): a separate connection then finds {len(stored)} rows, and "
        f"{len(missing)} given rows are missing or different (first: {missing[:3]}).\n{LESSON}",
    )
    expect(
        type(copied) is int and copied == len(rows),
        f"copy_products returned {copied!r} for 2500 rows; expected 2500, the number of rows copied (the "
        f"status of a COPY reads 'COPY 2500').",
    )


async def test_copy_products_is_a_single_copy_round_trip(sub: Any, db: Database) -> None:
    conn = await db.connect(connection_class=spy_connection_class())
    conn.calls.clear()
    await sub.copy_products(conn, _copy_rows(1200, "SPY"))
    calls = list(conn.calls)
    copies = [c for c in calls if c.startswith("copy_")]
    expect(
        len(calls) == 1 and len(copies) == 1,
        f"copy_products(conn, 1200 rows) made these calls on the connection: {calls[:6]}"
        f"{' ...' if len(calls) > 6 else ''} ({len(calls)} in all); expected exactly one COPY "
        f"(copy_records_to_table), which streams every row in one operation. "
        + (
            "executemany runs an INSERT per row. "
            if "executemany" in calls or "execute" in calls and not copies
            else "COPY is one statement, atomic on its own: no transaction or other query around it is needed. "
        )
        + LESSON,
    )
    stored = await _copied(db, "SPY")
    expect(
        len(stored) == 1200,
        f"After the COPY a separate connection sees {len(stored)} of 1200 rows.\n{LESSON}",
    )


async def test_copy_keeps_hostile_strings_intact(sub: Any, db: Database) -> None:
    rows = [(f"EVIL-{i:02d}", s, i) for i, s in enumerate(HOSTILE)]
    rows += [("EVIL\t'q\"\\", "sku with a tab, quotes and a backslash", 99)]
    conn = await db.connect()
    error = await raises(sub.copy_products(conn, rows))
    if error is not None:
        fail(
            f"copy_products with names containing quotes, tabs, newlines, backslashes, \\N and unicode raised "
            f"{describe(error)}. The rows were:\n  "
            + "\n  ".join(repr(r) for r in rows)
            + f"\nCOPY data built by hand breaks on these characters.\n{LESSON}"
        )
    stored = await _copied(db, "EVIL")
    wrong = [
        f"{sku!r}: sent {name!r}, stored {stored.get(sku, ('(missing)',))[0]!r}"
        for sku, name, price in rows
        if stored.get(sku) != (name, price)
    ]
    expect(
        not wrong,
        f"{len(wrong)} of {len(rows)} hostile rows did not survive the COPY unchanged:\n  "
        + "\n  ".join(wrong[:6])
        + f"\nText or CSV built by joining strings needs escaping of tabs, newlines, backslashes and \\N; "
        f"copy_records_to_table sends typed values and needs none.\n{LESSON}",
    )
