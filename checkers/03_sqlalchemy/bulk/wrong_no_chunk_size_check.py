# must fail: test_chunk_size_below_one_raises_value_error_before_sending_anything
"""Never checks chunk_size: 0 happens to fail inside range(), but -1 silently inserts nothing and returns."""

from __future__ import annotations

import asyncpg
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from course.shop import Product


async def bulk_insert_products(session: AsyncSession, rows: list[dict], chunk_size: int = 1000) -> int:
    inserted = 0
    for start in range(0, len(rows), chunk_size):
        chunk = rows[start : start + chunk_size]
        await session.execute(insert(Product), chunk)
        inserted += len(chunk)
    return inserted


async def copy_products(conn: asyncpg.Connection, rows: list[tuple[str, str, int]]) -> int:
    await conn.copy_records_to_table("products", records=rows, columns=["sku", "name", "price_cents"])
    return len(rows)

