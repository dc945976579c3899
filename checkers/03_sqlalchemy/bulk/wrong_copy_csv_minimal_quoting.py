# must fail: test_copy_keeps_hostile_strings_intact
"""CSV from the csv module with its default minimal quoting: an empty name becomes an unquoted empty field,
which CSV COPY reads as NULL (the empty string is lost)."""

from __future__ import annotations

import csv
import io

import asyncpg
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from course.shop import Product


async def bulk_insert_products(session: AsyncSession, rows: list[dict], chunk_size: int = 1000) -> int:
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    if not rows:
        return 0
    conn = await session.connection()  # the session's transaction: committing stays with the caller
    table = Product.__table__
    total = 0
    for start in range(0, len(rows), chunk_size):
        chunk = rows[start : start + chunk_size]
        await conn.execute(insert(table), chunk)
        total += len(chunk)
    return total


async def copy_products(conn: asyncpg.Connection, rows: list[tuple[str, str, int]]) -> int:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    status = await conn.copy_to_table(
        "products",
        source=io.BytesIO(buffer.getvalue().encode()),
        columns=["sku", "name", "price_cents"],
        format="csv",
    )
    return int(status.rsplit(" ", 1)[-1])
