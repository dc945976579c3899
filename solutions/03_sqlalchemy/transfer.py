"""Transfer money between accounts: atomic, and correct under any number of concurrent transfers.

`transfer(engine, from_id, to_id, amount_cents)` moves `amount_cents` from one account's `balance_cents` to
the other's in one transaction of its own. It raises `InsufficientFunds` (and changes nothing) when the
source holds less than the amount, `ValueError` for an amount below 1 or the same account twice, and
`LookupError` when an account does not exist. Many transfers may run at the same time, in both directions:
no update may be lost, no balance may go negative, and no deadlock error may escape.

Read: notebooks/03_sqlalchemy/04_concurrency_and_integrity.ipynb, "Lost updates and SELECT ... FOR UPDATE".
Check: course check sqlalchemy/transfer
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from course.shop import Account


class InsufficientFunds(Exception):
    """The source account holds less than the amount to transfer."""


async def transfer(engine: AsyncEngine, from_id: int, to_id: int, amount_cents: int) -> None:
    if amount_cents < 1:
        raise ValueError(f"amount_cents must be positive, got {amount_cents}")
    if from_id == to_id:
        raise ValueError("cannot transfer from an account to itself")
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as session, session.begin():  # one transaction: commit on success, else rollback
        # Lock both rows before reading them, always in id order: a concurrent transfer between the same two
        # accounts waits for this one (no lost update), and two transfers in opposite directions take the
        # locks in the same order (no deadlock).
        accounts = {
            account.id: account
            for account in await session.scalars(
                select(Account).where(Account.id.in_([from_id, to_id])).order_by(Account.id).with_for_update()
            )
        }
        missing = [i for i in (from_id, to_id) if i not in accounts]
        if missing:
            raise LookupError(f"no account with id {missing[0]}")
        source, target = accounts[from_id], accounts[to_id]
        if source.balance_cents < amount_cents:
            raise InsufficientFunds(
                f"account {from_id} holds {source.balance_cents} cents, {amount_cents} needed"
            )
        source.balance_cents -= amount_cents
        target.balance_cents += amount_cents
