# passes: engine.begin() with Core statements (one SELECT, INSERT ... RETURNING, one executemany), ORM objects built for the caller
"""The same unit of work written with Core on one connection; the returned Order is a transient object."""

from __future__ import annotations

from uuid import UUID, uuid4

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from course.shop import Order, OrderItem, Product


async def place_order(engine: AsyncEngine, user_id: UUID, items: list[tuple[str, int]]) -> Order:
    if not items:
        raise ValueError("no items")
    if min(quantity for _, quantity in items) < 1:
        raise ValueError("quantities must be at least 1")
    async with engine.begin() as conn:
        rows = await conn.execute(
            select(Product.sku, Product.id, Product.price_cents).where(Product.sku.in_([s for s, _ in items]))
        )
        products = {sku: (product_id, price) for sku, product_id, price in rows}
        missing = [sku for sku, _ in items if sku not in products]
        if missing:
            raise LookupError(f"unknown sku(s): {missing}")
        total = sum(products[sku][1] * quantity for sku, quantity in items)
        order_row = (
            await conn.execute(
                insert(Order)
                .values(id=uuid4(), user_id=user_id, total_cents=total, status="pending")
                .returning(Order.id, Order.created_at)
            )
        ).one()
        item_rows = [
            {
                "order_id": order_row.id,
                "product_id": products[s][0],
                "quantity": q,
                "unit_price_cents": products[s][1],
            }
            for s, q in items
        ]
        ids = (
            (
                await conn.execute(
                    insert(OrderItem).returning(OrderItem.id, sort_by_parameter_order=True), item_rows
                )
            )
            .scalars()
            .all()
        )
    return Order(
        id=order_row.id,
        user_id=user_id,
        total_cents=total,
        status="pending",
        created_at=order_row.created_at,
        items=[OrderItem(id=i, **row) for i, row in zip(ids, item_rows, strict=True)],
    )
