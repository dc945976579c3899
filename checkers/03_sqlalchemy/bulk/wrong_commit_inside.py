# must fail: test_bulk_insert_does_not_commit_so_a_rollback_by_the_caller_leaves_nothing
"""Commits inside the function: the caller can no longer roll the rows back."""

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
    await session.commit()
    return len(rows)


async def copy_products(conn: asyncpg.Connection, rows: list[tuple[str, str, int]]) -> int:
    await conn.copy_records_to_table("products", records=rows, columns=["sku", "name", "price_cents"])
    return len(rows)

