# must fail: test_products_are_fetched_in_one_query
"""Fetches each product with its own SELECT inside the loop: N items, N queries."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from course.shop import Order, OrderItem, Product


async def place_order(engine: AsyncEngine, user_id: UUID, items: list[tuple[str, int]]) -> Order:
    if not items or any(quantity < 1 for _, quantity in items):
        raise ValueError("bad items")
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as session, session.begin():
        order = Order(user_id=user_id, total_cents=0, items=[])
        for sku, quantity in items:
            product = await session.scalar(select(Product).where(Product.sku == sku))
            if product is None:
                raise LookupError(sku)
            order.items.append(OrderItem(product=product, quantity=quantity, unit_price_cents=product.price_cents))
            order.total_cents += quantity * product.price_cents
        session.add(order)
    return order
