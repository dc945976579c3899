"""Checks for sqlalchemy/transfer: `transfer(engine, from_id, to_id, amount_cents)` and `InsufficientFunds`.

The checker creates the accounts and reads every balance back on a separate connection. The submission gets
an engine the checker creates, with a pool large enough for the concurrent checks and, when the server lets
the check's role set it, `deadlock_timeout = 100ms` on its connections (otherwise PostgreSQL's default of
1 s), so that a deadlock shows within a second. The concurrent checks start every transfer at once and then
account for each cent: a transfer that returned was applied, one that raised InsufficientFunds was not, and
anything else escaping (deadlock detected, serialization failure) fails the check.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from course.checking import Database, check_timeout, describe, expect, fail, flatten, raises, wait_until

REQUIRES = {
    "InsufficientFunds": "class InsufficientFunds(Exception)",
    "transfer": "async def transfer(engine, from_id, to_id, amount_cents)",
}
LESSON = "See notebook 03_sqlalchemy/04, 'Lost updates and SELECT ... FOR UPDATE'."
LESSON_DEADLOCK = "See notebook 03_sqlalchemy/04, 'Lock ordering and deadlocks'."
LESSON_ATOMIC = "See notebook 03_sqlalchemy/04, 'One transaction, all or nothing'."
CONCURRENT = 40
WAIT = 6.0  # seconds for a whole concurrent batch; the reference needs well under one, even on a busy machine


async def _engine(db: Database) -> AsyncEngine:
    """The engine handed to the submission: pool for the concurrent checks, short deadlock_timeout if allowed."""
    kwargs: dict[str, Any] = {"pool_size": 10, "max_overflow": 15, "pool_timeout": WAIT}
    try:  # setting deadlock_timeout needs a privilege (GRANT SET ON PARAMETER) the role may not have
        probe = await db.connect(server_settings={"deadlock_timeout": "100ms"})
        await probe.close()
        kwargs["connect_args"] = {"server_settings": {"deadlock_timeout": "100ms"}}
    except asyncpg.InsufficientPrivilegeError:
        pass
    engine = db.engine(**kwargs)
    async with engine.connect() as conn:  # connect once: setup queries are not the submission's
        await conn.execute(text("SELECT 1"))
    return engine


async def _accounts(db: Database, balances: dict[int, int]) -> None:
    """Exactly these accounts (the checks of one run share a database: earlier accounts go)."""
    conn = await db.connect()
    await conn.execute("DELETE FROM accounts")
    await conn.executemany(
        "INSERT INTO accounts (id, owner, balance_cents) VALUES ($1, $2, $3)",
        [(i, f"Owner {i}", cents) for i, cents in balances.items()],
    )
    await conn.close()


async def _balances(db: Database) -> dict[int, int]:
    """Balances as a separate connection sees them."""
    conn = await db.connect()
    rows = await conn.fetch("SELECT id, balance_cents FROM accounts ORDER BY id")
    await conn.close()
    return {r["id"]: r["balance_cents"] for r in rows}


def _describe(exc: BaseException | None) -> str:
    """The driver's own message (deadlock detected, could not serialize) rather than SQLAlchemy's wrapper."""
    orig = getattr(exc, "orig", None)
    if exc is None or orig is None:
        return describe(exc)
    lines = str(orig).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:120] if lines else type(orig).__name__}"


def _unchanged(before: dict[int, int], after: dict[int, int], call: str) -> None:
    changes = {i: f"{before[i]} -> {after.get(i)}" for i in before if before[i] != after.get(i)}
    expect(
        not changes,
        f"After {call} raised, balances changed: {changes}. A transfer that fails changes nothing: debit "
        f"and credit happen in one transaction, and an error rolls all of it back.\n{LESSON_ATOMIC}",
    )


async def test_a_transfer_moves_the_money(sub: Any, db: Database) -> None:
    await _accounts(db, {1: 10_000, 2: 5_000})
    engine = await _engine(db)
    await sub.transfer(engine, 1, 2, 2_500)
    after = await _balances(db)
    expect(
        after == {1: 7_500, 2: 7_500},
        f"Accounts 1 and 2 held 10000 and 5000 cents; after transfer(engine, 1, 2, 2500) a separate "
        f"connection sees {after[1]} and {after[2]}; expected 7500 and 7500 (committed).\n{LESSON}",
    )
    error = await raises(sub.transfer(engine, 2, 1, 7_500))
    after = await _balances(db)
    expect(
        error is None and after == {1: 15_000, 2: 0},
        f"Account 2 held 7500 cents; transfer(engine, 2, 1, 7500), moving the whole balance, raised "
        f"{describe(error)} and left balances {after}; expected no error and {{1: 15000, 2: 0}}: a balance "
        f"may reach exactly zero.\n{LESSON}",
    )


async def test_insufficient_funds_raises_and_changes_nothing(sub: Any, db: Database) -> None:
    expect(
        isinstance(sub.InsufficientFunds, type) and issubclass(sub.InsufficientFunds, Exception),
        f"InsufficientFunds must be an exception class (class InsufficientFunds(Exception)); it is "
        f"{sub.InsufficientFunds!r}.",
    )
    await _accounts(db, {1: 1_000, 2: 0})
    engine = await _engine(db)
    before = await _balances(db)
    error = await raises(sub.transfer(engine, 1, 2, 1_001))
    expect(
        isinstance(error, sub.InsufficientFunds),
        f"Account 1 holds 1000 cents; transfer(engine, 1, 2, 1001) raised {_describe(error)}; expected "
        f"InsufficientFunds.\n{LESSON}",
    )
    _unchanged(before, await _balances(db), "transfer(engine, 1, 2, 1001)")


async def test_a_non_positive_amount_or_the_same_account_raises_value_error(sub: Any, db: Database) -> None:
    await _accounts(db, {1: 1_000, 2: 1_000})
    engine = await _engine(db)
    before = await _balances(db)
    for args in ((1, 2, 0), (1, 2, -500), (1, 1, 100)):
        error = await raises(sub.transfer(engine, *args))
        call = f"transfer(engine, {', '.join(map(str, args))})"
        why = "an account cannot pay itself" if args[0] == args[1] else "the amount must be positive"
        expect(
            isinstance(error, ValueError),
            f"{call} raised {_describe(error)}; expected ValueError: {why}.\n{LESSON}",
        )
        _unchanged(before, await _balances(db), call)


async def test_an_unknown_account_raises_lookup_error_and_changes_nothing(sub: Any, db: Database) -> None:
    await _accounts(db, {1: 1_000, 2: 1_000})
    engine = await _engine(db)
    before = await _balances(db)
    for args in ((1, 999, 100), (999, 2, 100)):
        error = await raises(sub.transfer(engine, *args))
        call = f"transfer(engine, {', '.join(map(str, args))})"
        expect(
            isinstance(error, LookupError),
            f"There is no account 999; {call} raised {_describe(error)}; expected LookupError.\n{LESSON}",
        )
        after = await _balances(db)
        lost = sum(before.values()) - sum(after.values())
        expect(
            not lost,
            f"{call} raised, and {lost} cents have vanished (balances {before} -> {after}): the debit was "
            f"committed before the credit failed. Debit and credit belong to one transaction.\n{LESSON_ATOMIC}",
        )
        _unchanged(before, after, call)


async def _run_all(
    sub: Any, engine: AsyncEngine, moves: list[tuple[int, int, int]]
) -> list[BaseException | None]:
    """Start every transfer at once; each one's outcome (None when it returned).

    Stops at the first error other than InsufficientFunds (cancelling the rest): a deadlock costs PostgreSQL
    deadlock_timeout to notice, and one is evidence enough.
    """
    outcomes: list[BaseException | None] = [None] * len(moves)
    wrong = asyncio.Event()

    async def one(i: int, move: tuple[int, int, int]) -> None:
        try:
            await sub.transfer(engine, *move)
        except Exception as exc:  # noqa: BLE001 - every outcome is recorded and judged
            outcomes[i] = exc
            if not isinstance(exc, sub.InsufficientFunds):
                wrong.set()

    tasks = [asyncio.ensure_future(one(i, move)) for i, move in enumerate(moves)]
    await wait_until(lambda: wrong.is_set() or all(t.done() for t in tasks), WAIT)
    pending = [t for t in tasks if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=2)
    for error in outcomes:
        if error is not None and any(isinstance(e, NotImplementedError) for e in flatten(error)):
            raise error
    if pending and not wrong.is_set():
        fail(
            f"{len(pending)} of {len(moves)} concurrent transfers had not finished after {WAIT:.0f} s: they wait "
            f"for each other (a lock or a connection that is never given back?).\n{LESSON_DEADLOCK}"
        )
    return outcomes


def _escaped(sub: Any, moves: list[tuple[int, int, int]], outcomes: list[BaseException | None]) -> None:
    bad = [
        (m, e)
        for m, e in zip(moves, outcomes, strict=True)
        if e is not None and not isinstance(e, sub.InsufficientFunds)
    ]
    if not bad:
        return
    deadlocks = sum("deadlock" in str(e).lower() for _, e in bad)
    serialization = sum("serializ" in str(e).lower() for _, e in bad)
    hint = LESSON
    if deadlocks:
        hint = (
            f"{'It was a deadlock' if deadlocks == 1 else f'{deadlocks} were deadlocks'}: two transfers in opposite directions each locked one account "
            f"and waited for the other. Take the locks in the same order (by id) whatever the direction.\n"
            f"{LESSON_DEADLOCK}"
        )
    elif serialization:
        hint = (
            f"{serialization} were serialization failures: at SERIALIZABLE, retry the transaction.\n{LESSON}"
        )
    fail(
        f"{len(moves)} transfers started at once; {len(bad)} raised something other than InsufficientFunds "
        f"(the check stopped the others there): "
        + "; ".join(f"transfer{m}: {_describe(e)}" for m, e in bad[:3])
        + f". {hint}"
    )


@check_timeout(20)
async def test_concurrent_transfers_lose_no_money_and_never_overdraw(sub: Any, db: Database) -> None:
    engine = await _engine(db)
    rng = random.Random(7)
    for _round in range(2):
        start = {1: 1_000, 2: 1_000, 3: 1_000}
        await _accounts(db, start)
        ids = list(start)
        moves = []
        for _ in range(CONCURRENT):
            source, target = rng.sample(ids, 2)
            moves.append((source, target, rng.randrange(100, 700, 50)))
        outcomes = await _run_all(sub, engine, moves)
        _escaped(sub, moves, outcomes)
        after = await _balances(db)
        created = sum(after.values()) - sum(start.values())
        expect(
            created == 0,
            f"{CONCURRENT} concurrent transfers among accounts {ids} (1000 cents each) "
            f"{'created' if created > 0 else 'lost'} {abs(created)} cents: the total went from "
            f"{sum(start.values())} to {sum(after.values())} (balances {after}). Two transfers read the same "
            f"balance and each wrote back its own result: one update was lost. Lock the rows before reading "
            f"them, or let the UPDATE do the arithmetic.\n{LESSON}",
        )
        expected = dict(start)
        for (source, target, amount), error in zip(moves, outcomes, strict=True):
            if error is None:
                expected[source] -= amount
                expected[target] += amount
        negative = {i: cents for i, cents in after.items() if cents < 0}
        expect(
            not negative,
            f"After {CONCURRENT} concurrent transfers some balances are negative: {negative}. Each transfer "
            f"checked the balance, then another transfer spent it before the debit. The check and the debit "
            f"must see the same, locked, balance.\n{LESSON}",
        )
        expect(
            after == expected,
            f"After {CONCURRENT} concurrent transfers the balances are {after}, but the transfers that returned "
            f"normally add up to {expected} (those that raised InsufficientFunds must have changed nothing): "
            f"some updates were lost or applied without being reported.\n{LESSON}",
        )


async def test_two_transfers_that_together_overdraw_never_both_succeed(sub: Any, db: Database) -> None:
    """Deterministic where the random batch above is not: a trigger makes every debit take 0.5 s, so the
    second transfer always reads the balance while the first is still debiting it."""
    engine = await _engine(db)
    await _accounts(db, {1: 1_000, 2: 0, 3: 0})
    conn = await db.connect()
    await conn.execute(
        "CREATE OR REPLACE FUNCTION course_slow_debit() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN PERFORM pg_sleep(0.5); RETURN NEW; END $$"
    )
    await conn.execute(
        "CREATE TRIGGER course_slow_debit BEFORE UPDATE ON accounts FOR EACH ROW "
        "WHEN (NEW.balance_cents < OLD.balance_cents) EXECUTE FUNCTION course_slow_debit()"
    )
    try:
        outcomes = await _run_all(sub, engine, [(1, 2, 700), (1, 3, 700)])
    finally:
        await conn.execute("DROP TRIGGER IF EXISTS course_slow_debit ON accounts")
        await conn.close()
    _escaped(sub, [(1, 2, 700), (1, 3, 700)], outcomes)
    after = await _balances(db)
    refused = [e for e in outcomes if e is not None]
    expect(
        after[1] >= 0 and len(refused) == 1,
        f"Account 1 held 1000 cents; transfer(engine, 1, 2, 700) and transfer(engine, 1, 3, 700) ran at once "
        f"(each debit made slow, 0.5 s): {2 - len(refused)} succeeded and the balances are {after}. Exactly one "
        f"must succeed and the other raise InsufficientFunds. The second transfer checked the balance before "
        f"the first had debited it: the check and the debit must see the same, locked, balance.\n{LESSON}",
    )


@check_timeout(20)
async def test_transfers_in_opposite_directions_at_once_do_not_deadlock(sub: Any, db: Database) -> None:
    engine = await _engine(db)
    start = {1: 1_000_000, 2: 1_000_000}
    await _accounts(db, start)
    # Few enough that a submission which deadlocks is reported within seconds (each deadlock costs PostgreSQL
    # deadlock_timeout to notice), many enough that opposite transfers collide; a second round if none did.
    rounds, each_way = 2, 10
    for _ in range(rounds):
        moves = [(1, 2, 100) if i % 2 == 0 else (2, 1, 300) for i in range(2 * each_way)]
        outcomes = await _run_all(sub, engine, moves)
        _escaped(sub, moves, outcomes)
    after = await _balances(db)
    n = rounds * each_way
    expected = {1: start[1] - n * 100 + n * 300, 2: start[2] + n * 100 - n * 300}
    expect(
        after == expected,
        f"After {n} transfers of 100 cents from 1 to 2 and {n} of 300 cents from 2 to 1, all returning "
        f"normally, balances are {after}; expected {expected}.\n{LESSON}",
    )
