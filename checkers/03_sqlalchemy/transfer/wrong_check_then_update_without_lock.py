# must fail: test_two_transfers_that_together_overdraw_never_both_succeed
"""Checks the balance with a plain SELECT, then debits with a relative UPDATE: no update is lost, but two
transfers can both pass the check before either debits, and the balance goes negative."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from course.shop import Account


class InsufficientFunds(Exception):
    """The source account holds less than the amount to transfer."""


async def transfer(engine: AsyncEngine, from_id: int, to_id: int, amount_cents: int) -> None:
    if amount_cents < 1 or from_id == to_id:
        raise ValueError("bad transfer")
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as session, session.begin():
        balances = dict(
            (await session.execute(select(Account.id, Account.balance_cents).where(Account.id.in_([from_id, to_id])))).all()
        )
        if from_id not in balances or to_id not in balances:
            raise LookupError("unknown account")
        if balances[from_id] < amount_cents:
            raise InsufficientFunds(str(from_id))
        for account_id, delta in sorted([(from_id, -amount_cents), (to_id, amount_cents)]):
            await session.execute(
                update(Account).where(Account.id == account_id).values(balance_cents=Account.balance_cents + delta)
            )
