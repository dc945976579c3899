# must fail: test_existing_skus_get_new_name_price_and_updated_at_and_nothing_else_changes
"""Updates every column from EXCLUDED: description, tags and attributes are reset to their defaults."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from course.shop import Product


async def upsert_products(session: AsyncSession, rows: list[dict]) -> None:
    if not rows:
        return
    stmt = insert(Product).values(sorted(rows, key=lambda r: r["sku"]))
    columns = [c.name for c in Product.__table__.columns if c.name != "id"]
    stmt = stmt.on_conflict_do_update(
        index_elements=[Product.sku], set_={name: stmt.excluded[name] for name in columns}
    )
    await session.execute(stmt)
