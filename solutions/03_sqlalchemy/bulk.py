"""Bulk inserts: many rows in few round trips, with executemany in chunks and with PostgreSQL COPY.

`bulk_insert_products(session, rows, chunk_size)` inserts `rows` (dicts of `Product` columns, such as `sku`,
`name`, `price_cents`, `description`) with one executemany per chunk of at most `chunk_size` rows, never one
round trip per row. It does not commit: the caller's transaction decides. `chunk_size < 1` raises ValueError
before anything is sent; no rows sends nothing. It returns the number of rows inserted.

`copy_products(conn, rows)` inserts `(sku, name, price_cents)` tuples into `products` with one COPY on an
asyncpg connection, keeping every string exactly as given, and returns the number of rows copied.

Read: notebooks/03_sqlalchemy/03_writing_well.ipynb, "Bulk inserts and COPY".
Check: course check sqlalchemy/bulk
"""

from __future__ import annotations

import asyncpg
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from course.shop import Product


async def bulk_insert_products(session: AsyncSession, rows: list[dict], chunk_size: int = 1000) -> int:
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    # insert(Model) with a list of parameter sets is an executemany: one round trip per chunk, not per row.
    # An empty list would mean "INSERT ... DEFAULT VALUES", so no rows must send nothing.
    for start in range(0, len(rows), chunk_size):
        await session.execute(insert(Product), rows[start : start + chunk_size])
    return len(rows)


async def copy_products(conn: asyncpg.Connection, rows: list[tuple[str, str, int]]) -> int:
    # COPY in binary format: values travel as typed data, so no character in a string needs escaping.
    status = await conn.copy_records_to_table(
        "products", records=rows, columns=["sku", "name", "price_cents"]
    )
    return int(status.split()[-1])  # the server's own count: "COPY 2500"
