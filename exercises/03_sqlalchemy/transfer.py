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
    # TODO: your code here
    raise NotImplementedError
