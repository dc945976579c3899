# must fail: test_bulk_insert_sends_one_executemany_per_chunk_not_a_round_trip_per_row
"""Executes one INSERT per row in a loop (chunks in name only): a round trip per row."""

from __future__ import annotations

import asyncpg
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from course.shop import Product


async def bulk_insert_products(session: AsyncSession, rows: list[dict], chunk_size: int = 1000) -> int:
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    for start in range(0, len(rows), chunk_size):
        for row in rows[start : start + chunk_size]:
            await session.execute(insert(Product).values(**row))
    return len(rows)


async def copy_products(conn: asyncpg.Connection, rows: list[tuple[str, str, int]]) -> int:
    await conn.copy_records_to_table("products", records=rows, columns=["sku", "name", "price_cents"])
    return len(rows)

