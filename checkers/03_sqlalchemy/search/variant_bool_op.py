# passes: ORM with func.to_tsvector(...).bool_op("@@"), tsvectors concatenated per column, filters as a list
"""The same search built from a list of conditions, with bool_op for @@ and a weighted-free per-column vector."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import and_, func, select, true
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
    conditions = []
    if text is not None:
        vector = func.to_tsvector("english", Product.name).op("||")(func.to_tsvector("english", Product.description))
        conditions.append(vector.bool_op("@@")(func.plainto_tsquery("english", text)))
    if tags:
        conditions.append(Product.tags.contains(list(tags)))
    if attributes:
        conditions.append(Product.attributes.contains(dict(attributes)))
    stmt = (
        select(Product)
        .where(and_(true(), *conditions))
        .order_by(Product.name.asc(), Product.id.asc())
        .limit(limit)
    )
    result = await session.execute(stmt)
    return list(result.scalars())
