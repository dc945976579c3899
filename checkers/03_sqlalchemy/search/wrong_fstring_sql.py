# must fail: test_hostile_values_are_matched_as_plain_values
"""SQL built with f-strings: the first quote in a value breaks the statement (or rewrites it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import func, select
from sqlalchemy import text as sql_text
from sqlalchemy.ext.asyncio import AsyncSession

from course.shop import Product


async def search_products(
    session: AsyncSession,
    *,
    text: str | None = None,
    tags: Sequence[str] = (),
    attributes: Mapping[str, str] | None = None,
    limit: int = 20,
) -> list[Product]:
    where = ["true"]
    if text is not None:
        where.append(f"to_tsvector('english', name || ' ' || description) @@ plainto_tsquery('english', '{text}')")
    if tags:
        where.append("tags @> ARRAY[" + ", ".join(f"'{t}'" for t in tags) + "]::varchar[]")
    if attributes:
        pairs = ", ".join(f'"{k}": "{v}"' for k, v in attributes.items())
        where.append(f"attributes @> '{{{pairs}}}'::jsonb")
    sql = f"SELECT * FROM products WHERE {' AND '.join(where)} ORDER BY name, id LIMIT {limit}"
    return list((await session.scalars(select(Product).from_statement(sql_text(sql)))).all())
