"""Upsert: insert new products and update existing ones in one statement, safe under concurrency.

`upsert_products(session, rows)` takes dicts with `sku`, `name` and `price_cents`. A sku not in `products` is
inserted; an existing one gets the new `name` and `price_cents`, and `updated_at` set to now, while its other
columns (description, tags, ...) stay as they are. One `INSERT ... ON CONFLICT (sku) DO UPDATE` statement for
all the rows, no SELECT first: many sessions may upsert the same skus at the same moment, and none of them
may fail. It does not commit: the caller's transaction decides.

Read: notebooks/03_sqlalchemy/03_writing_well.ipynb, "Upserts with ON CONFLICT".
Check: course check sqlalchemy/upsert
"""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from course.shop import Product


async def upsert_products(session: AsyncSession, rows: list[dict]) -> None:
    if not rows:  # an INSERT needs at least one row of values
        return
    stmt = insert(Product).values(
        # Sorted by sku: concurrent upserts of overlapping skus then lock the rows in the same order, so two
        # sessions can wait for each other but never deadlock.
        [
            {"sku": r["sku"], "name": r["name"], "price_cents": r["price_cents"]}
            for r in sorted(rows, key=lambda r: r["sku"])
        ]
    )
    # The unique index on sku arbitrates: the server inserts or updates atomically, no check-then-act race.
    stmt = stmt.on_conflict_do_update(
        index_elements=[Product.sku],
        set_={
            "name": stmt.excluded.name,
            "price_cents": stmt.excluded.price_cents,
            "updated_at": func.now(),
        },
    )
    await session.execute(stmt)
