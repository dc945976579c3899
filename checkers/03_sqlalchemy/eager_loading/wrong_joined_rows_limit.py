# must fail: test_limit_counts_users_not_joined_rows
"""JOINs the collections and applies LIMIT to the joined rows: fewer users, cut-off orders, and users without orders vanish."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import contains_eager, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from course.shop import Order, OrderItem, User


async def users_with_orders(session: AsyncSession, limit: int) -> list[User]:
    statement = (
        select(User)
        .join(User.orders)
        .join(Order.items)
        .join(OrderItem.product)
        .options(contains_eager(User.orders).contains_eager(Order.items).contains_eager(OrderItem.product))
        .order_by(User.email)
        .limit(limit)
    )
    return list((await session.scalars(statement)).unique())


async def order_with_user(session: AsyncSession, order_id: UUID) -> Order | None:
    return await session.scalar(select(Order).where(Order.id == order_id).options(joinedload(Order.user)))

