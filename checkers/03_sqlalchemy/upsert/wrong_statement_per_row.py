# must fail: test_one_statement_for_all_rows_and_no_select
"""A correct ON CONFLICT upsert, but one statement per row: a round trip per row."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from course.shop import Product


async def upsert_products(session: AsyncSession, rows: list[dict]) -> None:
    for row in sorted(rows, key=lambda r: r["sku"]):
        stmt = insert(Product).values(sku=row["sku"], name=row["name"], price_cents=row["price_cents"])
        stmt = stmt.on_conflict_do_update(
            index_elements=[Product.sku],
            set_={"name": stmt.excluded.name, "price_cents": stmt.excluded.price_cents, "updated_at": func.now()},
        )
        await session.execute(stmt)
