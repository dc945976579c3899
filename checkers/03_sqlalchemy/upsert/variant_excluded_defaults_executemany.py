# passes: Core table insert executed with a list of rows (executemany), conflict target by constraint name, updated_at from EXCLUDED
"""Upsert as an executemany of one ON CONFLICT statement; EXCLUDED.updated_at is the column's default, now()."""

from __future__ import annotations

from operator import itemgetter

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from course.shop import Product


async def upsert_products(session: AsyncSession, rows: list[dict]) -> None:
    if not rows:
        return
    stmt = insert(Product.__table__)
    stmt = stmt.on_conflict_do_update(
        constraint="products_sku_key",  # the unique constraint on sku, by name this time
        set_={
            "name": stmt.excluded.name,
            "price_cents": stmt.excluded.price_cents,
            "updated_at": stmt.excluded.updated_at,  # the proposed row got the server default: now()
        },
    )
    params = [
        {key: r[key] for key in ("sku", "name", "price_cents")} for r in sorted(rows, key=itemgetter("sku"))
    ]
    await session.execute(stmt, params)
