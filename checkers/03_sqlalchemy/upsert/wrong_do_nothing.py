# must fail: test_existing_skus_get_new_name_price_and_updated_at_and_nothing_else_changes
"""ON CONFLICT DO NOTHING: new skus are inserted, existing ones keep their old name and price."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from course.shop import Product


async def upsert_products(session: AsyncSession, rows: list[dict]) -> None:
    if rows:
        stmt = insert(Product).values(sorted(rows, key=lambda r: r["sku"]))
        await session.execute(stmt.on_conflict_do_nothing(index_elements=[Product.sku]))
