# must fail: test_bulk_insert_sends_one_executemany_per_chunk_not_a_round_trip_per_row
"""Adds each row as an ORM object and flushes after each one: an INSERT round trip per row."""

from __future__ import annotations

import asyncpg
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from course.shop import Product


async def bulk_insert_products(session: AsyncSession, rows: list[dict], chunk_size: int = 1000) -> int:
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    for row in rows:
        session.add(Product(**row))
        await session.flush()
    return len(rows)


async def copy_products(conn: asyncpg.Connection, rows: list[tuple[str, str, int]]) -> int:
    await conn.copy_records_to_table("products", records=rows, columns=["sku", "name", "price_cents"])
    return len(rows)

