# must fail: test_users_come_in_email_order_with_their_whole_graph
"""Orders the users by id: LIMIT then picks the wrong users."""

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
        .order_by(User.id)
        .limit(limit)
        .options(selectinload(User.orders).selectinload(Order.items).selectinload(OrderItem.product))
    )
    return list(await session.scalars(statement))



async def order_with_user(session: AsyncSession, order_id: UUID) -> Order | None:
    return await session.scalar(select(Order).where(Order.id == order_id).options(joinedload(Order.user)))

