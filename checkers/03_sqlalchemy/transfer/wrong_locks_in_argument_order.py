# must fail: test_transfers_in_opposite_directions_at_once_do_not_deadlock
"""Locks the rows with FOR UPDATE in argument order (source first): a transfer 1 -> 2 and one 2 -> 1 each
lock one account and wait for the other. PostgreSQL detects the deadlock and kills one of them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from course.shop import Account


class InsufficientFunds(Exception):
    """The source account holds less than the amount to transfer."""



async def transfer(engine: AsyncEngine, from_id: int, to_id: int, amount_cents: int) -> None:
    if amount_cents < 1 or from_id == to_id:
        raise ValueError("bad transfer")
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as session, session.begin():
        source = await session.scalar(select(Account).where(Account.id == from_id).with_for_update())
        target = await session.scalar(select(Account).where(Account.id == to_id).with_for_update())
        if source is None or target is None:
            raise LookupError("unknown account")
        if source.balance_cents < amount_cents:
            raise InsufficientFunds(str(from_id))
        source.balance_cents -= amount_cents
        target.balance_cents += amount_cents
