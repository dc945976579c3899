# must fail: test_copy_keeps_hostile_strings_intact
r"""Builds COPY text by joining values with tabs and newlines, without escaping: a tab or newline in a name
shifts the columns, a backslash is eaten and \N becomes NULL."""

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
    data = "".join(f"{sku}\t{name}\t{price}\n" for sku, name, price in rows)
    await conn.copy_to_table(
        "products", source=io.BytesIO(data.encode()), columns=["sku", "name", "price_cents"], format="text"
    )
    return len(rows)
