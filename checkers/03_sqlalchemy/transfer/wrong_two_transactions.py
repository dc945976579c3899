# must fail: test_an_unknown_account_raises_lookup_error_and_changes_nothing
"""Debits in one transaction and credits in another: when the credit fails (unknown account) the debit is
already committed, and the money is gone."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine


class InsufficientFunds(Exception):
    """The source account holds less than the amount to transfer."""


async def transfer(engine: AsyncEngine, from_id: int, to_id: int, amount_cents: int) -> None:
    if amount_cents < 1 or from_id == to_id:
        raise ValueError("bad transfer")
    from course.shop import Account

    async with engine.begin() as conn:  # transaction 1: the debit
        debited = await conn.execute(
            update(Account)
            .where(Account.id == from_id, Account.balance_cents >= amount_cents)
            .values(balance_cents=Account.balance_cents - amount_cents)
        )
        if debited.rowcount == 0:
            exists = await conn.scalar(Account.__table__.select().where(Account.id == from_id).exists().select())
            raise InsufficientFunds(str(from_id)) if exists else LookupError(str(from_id))
    async with engine.begin() as conn:  # transaction 2: the credit
        credited = await conn.execute(
            update(Account).where(Account.id == to_id).values(balance_cents=Account.balance_cents + amount_cents)
        )
        if credited.rowcount == 0:
            raise LookupError(str(to_id))
