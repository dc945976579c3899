# must fail: test_existing_skus_get_new_name_price_and_updated_at_and_nothing_else_changes
"""Updates name and price_cents but forgets updated_at: the row keeps the old timestamp."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from course.shop import Product


async def upsert_products(session: AsyncSession, rows: list[dict]) -> None:
    if not rows:
        return
    stmt = insert(Product).values(sorted(rows, key=lambda r: r["sku"]))
    stmt = stmt.on_conflict_do_update(
        index_elements=[Product.sku],
        set_={"name": stmt.excluded.name, "price_cents": stmt.excluded.price_cents},
    )
    await session.execute(stmt)
