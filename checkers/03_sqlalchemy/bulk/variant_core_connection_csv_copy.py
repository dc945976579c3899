# passes: Core insert on the session's connection; COPY of CSV written by the csv module (quoted, so "" is not NULL)
"""Bulk insert through the session's Core connection; COPY from CSV that the csv module escapes properly."""

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
    # QUOTE_ALL: in CSV COPY an unquoted empty field is NULL, a quoted one is the empty string.
    csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    status = await conn.copy_to_table(
        "products",
        source=io.BytesIO(buffer.getvalue().encode()),
        columns=["sku", "name", "price_cents"],
        format="csv",
    )
    return int(status.rsplit(" ", 1)[-1])
