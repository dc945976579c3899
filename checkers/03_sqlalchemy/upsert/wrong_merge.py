# must fail: test_one_statement_for_all_rows_and_no_select
"""session.merge() per row: merge looks each row up by primary key (a SELECT), and sku is not the key."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from course.shop import Product


async def upsert_products(session: AsyncSession, rows: list[dict]) -> None:
    for row in rows:
        await session.merge(Product(**row))
    await session.flush()
