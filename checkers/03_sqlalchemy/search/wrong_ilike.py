# must fail: test_full_text_finds_stemmed_words_in_name_and_description
"""ILIKE instead of full-text search: no stemming ('connected' misses 'connection'), 'run' finds 'runner'."""

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
    stmt = select(Product)
    if text is not None:
        pattern = "%" + text + "%"
        stmt = stmt.where(Product.name.ilike(pattern) | Product.description.ilike(pattern))
    if tags:
        stmt = stmt.where(Product.tags.contains(list(tags)))
    if attributes:
        stmt = stmt.where(Product.attributes.contains(dict(attributes)))
    stmt = stmt.order_by(Product.name, Product.id).limit(limit)
    return list((await session.scalars(stmt)).all())
