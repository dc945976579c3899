# must fail: test_statement_count_does_not_grow_with_the_data
"""One query per user for its orders (with items and products): the classic N+1, hidden in a helper loop."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import contains_eager, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from course.shop import Order, OrderItem, User


async def users_with_orders(session: AsyncSession, limit: int) -> list[User]:
    users = list(await session.scalars(select(User).order_by(User.email).limit(limit)))
    for user in users:
        orders = await session.scalars(
            select(Order)
            .where(Order.user_id == user.id)
            .options(selectinload(Order.items).joinedload(OrderItem.product))
        )
        set_committed_value(user, "orders", list(orders))
    return users


async def order_with_user(session: AsyncSession, order_id: UUID) -> Order | None:
    return await session.scalar(select(Order).where(Order.id == order_id).options(joinedload(Order.user)))

