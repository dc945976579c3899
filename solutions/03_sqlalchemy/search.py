"""Product search: full-text, tags and attributes, every value a bound parameter.

`search_products(session, text=..., tags=..., attributes=..., limit=...)` returns at most `limit` products
that pass every filter given (AND):
- `text`: a full-text match on name and description together, with the `english` configuration and
  `plainto_tsquery` (so "running" finds "run" and "runs");
- `tags`: products carrying ALL the given tags (array containment, not overlap);
- `attributes`: products whose JSONB attributes contain every given key/value pair.
A filter left at its default (None, empty) does not filter. Results are ordered by name, then id, and come
in one statement. Never paste a value into SQL: hostile strings must give results or nothing, never an error.

Read: notebooks/03_sqlalchemy/05_postgres_features_and_pagination.ipynb, "Full-text search".
Check: course check sqlalchemy/search
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import func, select
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
        # One document for name and description; the query goes through plainto_tsquery, a bound value.
        document = func.to_tsvector("english", Product.name + " " + Product.description)
        stmt = stmt.where(document.op("@@")(func.plainto_tsquery("english", text)))
    if tags:
        stmt = stmt.where(Product.tags.contains(list(tags)))  # @>: every tag, not any
    if attributes:
        stmt = stmt.where(Product.attributes.contains(dict(attributes)))  # JSONB @>
    stmt = stmt.order_by(Product.name, Product.id).limit(limit)
    return list((await session.scalars(stmt)).all())
