# must fail: test_each_search_is_one_statement
"""Tags and attributes filtered in Python after fetching: one query per candidate product's check."""

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
    stmt = select(Product.id)
    if text is not None:
        document = func.to_tsvector("english", Product.name + " " + Product.description)
        stmt = stmt.where(document.op("@@")(func.plainto_tsquery("english", text)))
    ids = list((await session.scalars(stmt.order_by(Product.name, Product.id))).all())
    found = []
    for product_id in ids:
        product = await session.get(Product, product_id)
        if set(tags) <= set(product.tags) and all(product.attributes.get(k) == v for k, v in (attributes or {}).items()):
            found.append(product)
        if len(found) == limit:
            break
    return found
