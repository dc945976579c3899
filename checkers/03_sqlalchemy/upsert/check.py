"""Checks for sqlalchemy/upsert: `upsert_products(session, rows)`.

Existing products are written by the checker on a separate connection with an `updated_at` a day in the
past, a description, tags and attributes; after the upsert (and the checker's commit or rollback) a separate
connection reads the rows back. A `StatementCounter` on the checker's engine counts the statements. The
concurrency check runs eight sessions on one engine that upsert the same skus at the same moment, each
committing as soon as its upsert returns: a SELECT-then-INSERT loses the race with an IntegrityError.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from course.checking import Database, describe, expect, fail, flatten
from course.probes import StatementCounter

REQUIRES = {"upsert_products": "async def upsert_products(session, rows)"}
LESSON = "See notebook 03_sqlalchemy/03, 'Upserts with ON CONFLICT'."
LESSON_TX = "See notebook 03_sqlalchemy/03, 'The transaction boundary belongs to the caller'."
SESSIONS = 8


async def _engine(db: Database, **kwargs: Any) -> tuple[AsyncEngine, StatementCounter]:
    """An engine already connected once (connecting runs setup queries), and a counter on it."""
    engine = db.engine(**kwargs)
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return engine, StatementCounter(engine)


def _sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def _existing(db: Database, skus: list[str]) -> None:
    """Products as they were yesterday, with columns an upsert must leave alone."""
    conn = await db.connect()
    await conn.executemany(
        "INSERT INTO products (sku, name, price_cents, description, tags, attributes, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, '{\"colour\": \"red\"}', now() - interval '1 day')",
        [
            (sku, f"Old name {sku}", 1000 + i, f"Kept description {sku}", ["keep", "me"])
            for i, sku in enumerate(skus)
        ],
    )
    await conn.close()


async def _stored(db: Database, prefix: str) -> dict[str, dict[str, Any]]:
    conn = await db.connect()
    rows = await conn.fetch(
        "SELECT id, sku, name, price_cents, description, tags, attributes::text AS attributes, updated_at, "
        "now() AS server_now FROM products WHERE sku LIKE $1",
        prefix + "%",
    )
    await conn.close()
    return {r["sku"]: dict(r) for r in rows}


def _rows(skus: list[str], tag: str) -> list[dict[str, Any]]:
    return [{"sku": sku, "name": f"{tag} name {sku}", "price_cents": 5000 + i} for i, sku in enumerate(skus)]


async def _upsert_and_commit(sub: Any, engine: AsyncEngine, rows: list[dict[str, Any]]) -> None:
    async with _sessions(engine)() as session:
        await sub.upsert_products(session, rows)
        await session.commit()  # the caller's job


async def test_new_skus_are_inserted(sub: Any, db: Database) -> None:
    engine, counter = await _engine(db)
    rows = _rows([f"NEW-{i}" for i in range(4)], "Fresh")
    await _upsert_and_commit(sub, engine, rows)
    stored = await _stored(db, "NEW-")
    for row in rows:
        got = stored.get(row["sku"])
        expect(
            got is not None and (got["name"], got["price_cents"]) == (row["name"], row["price_cents"]),
            f"upsert_products(session, {len(rows)} new skus), then commit: {row['sku']} should be stored with "
            f"name {row['name']!r} and price_cents {row['price_cents']}; a separate connection finds "
            f"{'nothing' if got is None else (got['name'], got['price_cents'])}. Statements sent:\n"
            f"{counter.summary()}\n{LESSON}",
        )


async def test_existing_skus_get_new_name_price_and_updated_at_and_nothing_else_changes(
    sub: Any, db: Database
) -> None:
    await _existing(db, ["OLD-1", "OLD-2", "OLD-3"])
    before = await _stored(db, "OLD-")
    engine, counter = await _engine(db)
    rows = _rows(["OLD-1", "OLD-2", "OLD-NEW"], "Updated")
    await _upsert_and_commit(sub, engine, rows)
    after = await _stored(db, "OLD-")
    evidence = f"Statements sent:\n{counter.summary()}\n{LESSON}"
    expect("OLD-NEW" in after, f"A new sku upserted together with existing ones was not inserted. {evidence}")
    for row in rows[:2]:
        old, new = before[row["sku"]], after[row["sku"]]
        expect(
            (new["name"], new["price_cents"]) == (row["name"], row["price_cents"]),
            f"{row['sku']} existed with name {old['name']!r}, price_cents {old['price_cents']}; after the upsert "
            f"of name {row['name']!r}, price_cents {row['price_cents']} it has {new['name']!r}, "
            f"{new['price_cents']}. An existing sku must be updated (ON CONFLICT ... DO UPDATE, not DO "
            f"NOTHING). {evidence}",
        )
        expect(
            new["updated_at"] > old["updated_at"] + timedelta(hours=1),
            f"{row['sku']}: updated_at was {old['updated_at']:%Y-%m-%d %H:%M} (a day ago) and is "
            f"{new['updated_at']:%Y-%m-%d %H:%M} after the update; it must be set to now when the row is "
            f"updated. {evidence}",
        )
        changed = [
            f"{col}: {old[col]!r} -> {new[col]!r}"
            for col in ("id", "sku", "description", "tags", "attributes")
            if old[col] != new[col]
        ]
        expect(
            not changed,
            f"{row['sku']}: the upsert changed columns it must leave alone: {'; '.join(changed)}. Only name, "
            f"price_cents and updated_at are updated (an id change means the row was deleted and inserted "
            f"again). {evidence}",
        )
    expect(
        after["OLD-3"] == {**before["OLD-3"], "server_now": after["OLD-3"]["server_now"]},
        f"OLD-3 was not in the rows given, yet it changed: {before['OLD-3']} -> {after['OLD-3']}. {evidence}",
    )


async def test_one_statement_for_all_rows_and_no_select(sub: Any, db: Database) -> None:
    await _existing(db, [f"ONE-{i:02d}" for i in range(0, 50, 2)])
    engine, counter = await _engine(db)
    counter.reset()
    await _upsert_and_commit(sub, engine, _rows([f"ONE-{i:02d}" for i in range(50)], "Once"))
    selects = counter.matching("SELECT")
    expect(
        counter.count == 1 and not selects,
        f"upsert_products(session, 50 rows, half of them existing) sent {counter.count} statements"
        f"{f', {len(selects)} of them SELECT' if selects else ''}; expected exactly one "
        f"INSERT ... ON CONFLICT (sku) DO UPDATE for all the rows, and no SELECT first (looking before writing "
        f"is both slower and a race).\n{counter.summary()}\n{LESSON}",
    )
    stored = await _stored(db, "ONE-")
    expect(
        len(stored) == 50,
        f"After the upsert of 50 skus (25 existing) there are {len(stored)} rows.\n{LESSON}",
    )


async def test_does_not_commit_so_a_rollback_by_the_caller_undoes_it(sub: Any, db: Database) -> None:
    await _existing(db, ["RB-OLD"])
    before = await _stored(db, "RB-")
    engine, _ = await _engine(db)
    async with _sessions(engine)() as session:
        await sub.upsert_products(session, _rows(["RB-OLD", "RB-NEW"], "Rolled back"))
        await session.rollback()  # the caller changes its mind
    after = await _stored(db, "RB-")
    expect(
        set(after) == {"RB-OLD"} and after["RB-OLD"]["name"] == before["RB-OLD"]["name"],
        f"The checker called upsert_products and then rolled back, yet a separate connection sees "
        f"{sorted(after)} with RB-OLD named {after.get('RB-OLD', {}).get('name')!r} (before: "
        f"{before['RB-OLD']['name']!r}): the function committed on its own. The caller owns the "
        f"transaction.\n{LESSON_TX}",
    )


async def test_concurrent_upserts_of_the_same_skus_all_succeed(sub: Any, db: Database) -> None:
    engine, _ = await _engine(db, pool_size=SESSIONS, max_overflow=0)
    for round_ in range(3):
        prefix = f"RACE{round_}-"
        skus = [f"{prefix}{i:02d}" for i in range(24)]
        # A third exist already, the rest are new; the first ones are new, so that a session that looks before
        # it writes does not happen to queue the others behind its lock on an existing row.
        await _existing(db, skus[2::3])
        sessions = [_sessions(engine)() for _ in range(SESSIONS)]
        for session in sessions:  # connected and in a transaction before the start: all begin together
            await session.connection()
        start = await _server_now(db)

        async def one(i: int, session: AsyncSession, skus: list[str]) -> None:
            async with session:
                await sub.upsert_products(session, _rows(skus, f"Session {i}"))
                await session.commit()

        results = await _gather_within(
            [one(i, s, skus) for i, s in enumerate(sessions)],
            seconds=6,
            what=f"{SESSIONS} concurrent upserts",
        )
        errors = [(i, e) for i, e in enumerate(results) if e is not None]
        for _, error in errors:
            if any(isinstance(e, NotImplementedError) for e in flatten(error)):
                raise error
        expect(
            not errors,
            f"{SESSIONS} sessions upserted the same {len(skus)} skus ({len(skus[2::3])} existing) at the same "
            f"moment, each committing when done; {len(errors)} of them failed: "
            + "; ".join(f"session {i}: {_describe(e)}" for i, e in errors[:3])
            + ". Looking for a row and then inserting it is a race: two sessions both see nothing and both "
            f"insert. ON CONFLICT lets the unique index decide atomically.\n{LESSON}",
        )
        stored = await _stored(db, prefix)
        expect(
            len(stored) == len(skus),
            f"After {SESSIONS} concurrent upserts of the same {len(skus)} skus there are {len(stored)} rows.",
        )
        mixed = [
            sku
            for sku, row in stored.items()
            if not row["name"].startswith("Session ") or row["updated_at"] < start - timedelta(seconds=1)
        ]
        expect(
            not mixed,
            f"After the concurrent upserts some rows were not written by any session (old name or old "
            f"updated_at): {mixed[:5]}.\n{LESSON}",
        )


def _describe(exc: BaseException) -> str:
    """The driver's own message (duplicate key, deadlock) rather than SQLAlchemy's wrapper text."""
    orig = getattr(exc, "orig", None)
    if orig is None:
        return describe(exc)
    first_line = str(orig).strip().splitlines()[0] if str(orig).strip() else ""
    return f"{type(exc).__name__}: {first_line[:120]}"


async def _server_now(db: Database) -> datetime:
    conn = await db.observer()
    return await conn.fetchval("SELECT now()")


async def _gather_within(coros: list[Any], seconds: float, what: str) -> list[BaseException | None]:
    """Run the coroutines at once; each one's exception (or None). Sessions stuck waiting fail the check."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    done, pending = await asyncio.wait(tasks, timeout=seconds)
    if pending:
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=2)
        fail(
            f"{len(pending)} of the {what} were still waiting after {seconds} s: sessions are blocking each "
            f"other (a lock held until a commit that never comes?).\n{LESSON}"
        )
    return [t.exception() for t in tasks]
