# must fail: test_copy_products_stores_every_row_and_returns_the_count
"""Returns the status string of the COPY ("COPY 2500") instead of the number of rows."""

from __future__ import annotations

import asyncpg
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from course.shop import Product



async def bulk_insert_products(session: AsyncSession, rows: list[dict], chunk_size: int = 1000) -> int:
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    for start in range(0, len(rows), chunk_size):
        await session.execute(insert(Product), rows[start : start + chunk_size])
    return len(rows)



async def copy_products(conn: asyncpg.Connection, rows: list[tuple[str, str, int]]) -> int:
    return await conn.copy_records_to_table("products", records=rows, columns=["sku", "name", "price_cents"])
