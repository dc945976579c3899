# must fail: test_copy_keeps_hostile_strings_intact
"""Builds CSV for COPY by joining values with commas, without quoting: a comma, quote or newline in a name
breaks the row."""

from __future__ import annotations

import io

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
    data = "\n".join(f"{sku},{name},{price}" for sku, name, price in rows) + "\n"
    await conn.copy_to_table(
        "products", source=io.BytesIO(data.encode()), columns=["sku", "name", "price_cents"], format="csv"
    )
    return len(rows)
