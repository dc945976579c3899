"""Eager loading: load exactly the graph the caller needs, in a fixed number of statements.

`users_with_orders(session, limit)` returns the first `limit` users ordered by email, each with its
`orders`, each order's `items` and each item's `product` loaded, in at most 4 statements however many users,
orders and items there are. `limit` counts users, not joined rows.

`order_with_user(session, order_id)` returns the order with its `user` loaded, in exactly one statement, or
None when there is no such order.

Every relationship of the shop is lazy="raise": touching one you did not load raises.

Read: notebooks/03_sqlalchemy/02_loading_strategies.ipynb, "selectinload vs joinedload".
Check: course check sqlalchemy/eager_loading
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from course.shop import Order, OrderItem, User


async def users_with_orders(session: AsyncSession, limit: int) -> list[User]:
    # TODO: your code here
    raise NotImplementedError


async def order_with_user(session: AsyncSession, order_id: UUID) -> Order | None:
    # TODO: your code here
    raise NotImplementedError
