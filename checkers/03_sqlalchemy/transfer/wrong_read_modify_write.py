# must fail: test_two_transfers_that_together_overdraw_never_both_succeed
"""Read-modify-write without a lock: reads both balances, computes new ones in Python and writes them back.
Two concurrent transfers read the same balance and one overwrites the other (a lost update)."""

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
        source = await session.get(Account, from_id)
        target = await session.get(Account, to_id)
        if source is None or target is None:
            raise LookupError("unknown account")
        if source.balance_cents < amount_cents:
            raise InsufficientFunds(str(from_id))
        source.balance_cents = source.balance_cents - amount_cents  # UPDATE ... SET balance_cents = <value read>
        target.balance_cents = target.balance_cents + amount_cents
