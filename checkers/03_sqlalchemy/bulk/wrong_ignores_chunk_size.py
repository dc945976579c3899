# must fail: test_bulk_insert_sends_one_executemany_per_chunk_not_a_round_trip_per_row
"""Sends every row in a single executemany: chunk_size is ignored, one round trip carries all the rows."""

from __future__ import annotations

import asyncpg
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from course.shop import Product


async def bulk_insert_products(session: AsyncSession, rows: list[dict], chunk_size: int = 1000) -> int:
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    if rows:
        await session.execute(insert(Product), rows)
    return len(rows)


async def copy_products(conn: asyncpg.Connection, rows: list[tuple[str, str, int]]) -> int:
    await conn.copy_records_to_table("products", records=rows, columns=["sku", "name", "price_cents"])
    return len(rows)

