# passes: no read at all: guarded UPDATE ... WHERE balance_cents >= :amount with text() and bound parameters, rows updated in id order
"""Transfer with two atomic UPDATEs: the database does the arithmetic and the balance check in one step."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

DEBIT = text(
    "UPDATE accounts SET balance_cents = balance_cents - :amount "
    "WHERE id = :id AND balance_cents >= :amount RETURNING id"
)
CREDIT = text("UPDATE accounts SET balance_cents = balance_cents + :amount WHERE id = :id RETURNING id")
EXISTS = text("SELECT 1 FROM accounts WHERE id = :id")


class InsufficientFunds(Exception):
    """The source account holds less than the amount to transfer."""


async def _debit(conn: AsyncConnection, account_id: int, amount: int) -> None:
    if (await conn.execute(DEBIT, {"id": account_id, "amount": amount})).first() is None:
        if (await conn.execute(EXISTS, {"id": account_id})).first() is None:
            raise LookupError(f"no account with id {account_id}")
        raise InsufficientFunds(f"account {account_id} holds less than {amount} cents")


async def _credit(conn: AsyncConnection, account_id: int, amount: int) -> None:
    if (await conn.execute(CREDIT, {"id": account_id, "amount": amount})).first() is None:
        raise LookupError(f"no account with id {account_id}")


async def transfer(engine: AsyncEngine, from_id: int, to_id: int, amount_cents: int) -> None:
    if amount_cents <= 0 or from_id == to_id:
        raise ValueError("a transfer needs a positive amount between two different accounts")
    async with engine.begin() as conn:  # any exception rolls both updates back
        # Each UPDATE locks its row; touching the lower id first gives every transfer the same lock order.
        if from_id < to_id:
            await _debit(conn, from_id, amount_cents)
            await _credit(conn, to_id, amount_cents)
        else:
            await _credit(conn, to_id, amount_cents)
            await _debit(conn, from_id, amount_cents)
