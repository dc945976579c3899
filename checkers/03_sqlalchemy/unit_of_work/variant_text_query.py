# passes: text() with bound parameters (= ANY(:skus)) for the one product read, items attached by product_id
"""The product read written as SQL text with a bound array parameter; the ORM writes the order and its items."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from course.shop import Order, OrderItem


async def place_order(engine: AsyncEngine, user_id: UUID, items: list[tuple[str, int]]) -> Order:
    if not items or any(q < 1 for _, q in items):
        raise ValueError("bad")
    async with async_sessionmaker(engine, expire_on_commit=False)() as session, session.begin():
        rows = (
            await session.execute(
                text("select id, sku, price_cents from products where sku = any(:skus)"),
                {"skus": [s for s, _ in items]},
            )
        ).all()
        found = {r.sku: r for r in rows}
        if any(s not in found for s, _ in items):
            raise LookupError("unknown")
        order = Order(
            user_id=user_id,
            total_cents=sum(found[s].price_cents * q for s, q in items),
            items=[
                OrderItem(product_id=found[s].id, quantity=q, unit_price_cents=found[s].price_cents)
                for s, q in items
            ],
        )
        session.add(order)
    return order
