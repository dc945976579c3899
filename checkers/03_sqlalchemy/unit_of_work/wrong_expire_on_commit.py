# must fail: test_the_returned_order_is_readable_after_the_session_is_closed
"""Default sessionmaker: the commit expires the order, and the closed session cannot reload it for the caller."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from course.shop import Order, OrderItem, Product


async def place_order(engine: AsyncEngine, user_id: UUID, items: list[tuple[str, int]]) -> Order:
    if not items or any(quantity < 1 for _, quantity in items):
        raise ValueError("bad items")
    sessions = async_sessionmaker(engine)
    async with sessions() as session, session.begin():
        skus = {sku for sku, _ in items}
        products = {p.sku: p for p in await session.scalars(select(Product).where(Product.sku.in_(skus)))}
        if skus - products.keys():
            raise LookupError(skus - products.keys())
        order = Order(
            user_id=user_id,
            total_cents=sum(products[s].price_cents * q for s, q in items),
            items=[OrderItem(product=products[s], quantity=q, unit_price_cents=products[s].price_cents) for s, q in items],
        )
        session.add(order)
    return order
