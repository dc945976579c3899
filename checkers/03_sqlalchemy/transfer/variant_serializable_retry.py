# passes: SERIALIZABLE isolation, plain reads and writes, the whole transaction retried on serialization failure or deadlock
"""Transfer at SERIALIZABLE: PostgreSQL aborts a transaction that would break serial order; retry it."""

from __future__ import annotations

import asyncio
import random

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from course.shop import Account

RETRYABLE = {"40001", "40P01"}  # serialization_failure, deadlock_detected
MAX_ATTEMPTS = 100


class InsufficientFunds(Exception):
    """The source account holds less than the amount to transfer."""


async def _attempt(engine: AsyncEngine, from_id: int, to_id: int, amount_cents: int) -> None:
    serializable = engine.execution_options(isolation_level="SERIALIZABLE")
    async with AsyncSession(serializable, expire_on_commit=False) as session, session.begin():
        source = await session.get(Account, from_id)
        target = await session.get(Account, to_id)
        if source is None or target is None:
            raise LookupError(f"no account with id {from_id if source is None else to_id}")
        if source.balance_cents < amount_cents:
            raise InsufficientFunds(f"account {from_id} holds {source.balance_cents} cents")
        source.balance_cents -= amount_cents
        target.balance_cents += amount_cents


def _sqlstate(exc: DBAPIError) -> str | None:
    return getattr(exc.orig, "sqlstate", None) or getattr(
        getattr(exc.orig, "__cause__", None), "sqlstate", None
    )


async def transfer(engine: AsyncEngine, from_id: int, to_id: int, amount_cents: int) -> None:
    if amount_cents <= 0 or from_id == to_id:
        raise ValueError("a transfer needs a positive amount between two different accounts")
    for attempt in range(MAX_ATTEMPTS):
        try:
            return await _attempt(engine, from_id, to_id, amount_cents)
        except DBAPIError as exc:
            if _sqlstate(exc) not in RETRYABLE or attempt == MAX_ATTEMPTS - 1:
                raise
            # Exponential backoff with jitter: the transactions that collided should not collide again.
            await asyncio.sleep(random.uniform(0, min(0.1, 0.002 * 2**attempt)))
