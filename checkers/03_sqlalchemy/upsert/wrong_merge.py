# must fail: test_existing_skus_get_new_name_price_and_updated_at_and_nothing_else_changes
"""session.merge() per row: merge matches on the primary key, not on sku, so a row without an id is always
inserted and an existing sku raises IntegrityError (and it is a statement per row)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from course.shop import Product


async def upsert_products(session: AsyncSession, rows: list[dict]) -> None:
    for row in rows:
        await session.merge(Product(**row))
    await session.flush()
