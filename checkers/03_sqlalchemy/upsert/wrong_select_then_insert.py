# must fail: test_one_statement_for_all_rows_and_no_select
"""Select-then-insert: looks each sku up, updates the object if found, adds a new one otherwise. An extra
SELECT per row, and a race: two sessions both find nothing and both insert (IntegrityError)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from course.shop import Product


async def upsert_products(session: AsyncSession, rows: list[dict]) -> None:
    for row in rows:
        product = await session.scalar(select(Product).where(Product.sku == row["sku"]))
        if product is None:
            session.add(Product(sku=row["sku"], name=row["name"], price_cents=row["price_cents"]))
        else:
            product.name = row["name"]
            product.price_cents = row["price_cents"]
            product.updated_at = func.now()
    await session.flush()
