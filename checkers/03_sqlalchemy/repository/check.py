"""Checks for sqlalchemy/repository: `AsyncRepository(session, model)` and `UserRepository(session)`.

The checker owns the session (and so the transaction): every method is called on a fresh session from
an engine whose statements are counted and whose commits are counted through the engine's "commit" event.
What other connections can see is read from a separate asyncpg connection.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import async_sessionmaker

from course.checking import Database, describe, expect, fail, raises
from course.probes import StatementCounter
from course.shop import Product, seed

REQUIRES = {
    "AsyncRepository": "class AsyncRepository(Generic[T])",
    "UserRepository": "class UserRepository(AsyncRepository[User])",
}
LESSON = "See notebook 03_sqlalchemy/03, '{}'."


class Shop:
    def __init__(self, db: Database, engine: Any) -> None:
        self.db, self.engine = db, engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.counter = StatementCounter(engine)
        self.commits = 0
        event.listen(engine.sync_engine, "commit", self._on_commit)

    def _on_commit(self, _conn: Any) -> None:
        self.commits += 1

    @classmethod
    async def fresh(cls, db: Database) -> Shop:
        engine = db.engine()
        async with engine.begin() as conn:
            await conn.execute(
                sa.text("TRUNCATE order_items, orders, products, users, accounts RESTART IDENTITY CASCADE")
            )
            await seed(conn, users=8, products=20, orders_per_user=1, accounts=0)
            # Rewrite every third product: its row moves to the end of the table, so that a SELECT without
            # ORDER BY no longer returns the products in primary-key order.
            await conn.execute(sa.text("UPDATE products SET name = name || '.' WHERE id % 3 = 0"))
        shop = cls(db, engine)
        shop.commits = 0
        return shop

    def mark(self) -> None:
        self.counter.reset()

    def writes(self, verb: str) -> list[str]:
        return self.counter.matching(verb)

    async def observe(self, sql: str, *args: Any) -> Any:
        return await (await self.db.observer()).fetch(sql, *args)


def _users(sub: Any, session: Any) -> Any:
    return sub.UserRepository(session)


async def test_create_flushes_and_sets_the_primary_key(sub, db):
    shop = await Shop.fresh(db)
    async with shop.sessions() as session:
        users = _users(sub, session)
        shop.mark()
        user = await users.create(email="new@example.com", name="New")
        inserts = shop.writes("INSERT")
        expect(
            getattr(user, "email", None) == "new@example.com",
            f"UserRepository.create(email=..., name=...) returned {user!r}; expected the new User.",
        )
        expect(
            inserts and user.id is not None,
            f"After create(), the user's id is {user.id!r} and {len(inserts)} INSERT reached the database. create "
            "must flush, so that the row exists in the transaction and its primary key is known on return. "
            f"Statements:\n{shop.counter.summary()}\n" + LESSON.format("Repositories that never commit"),
        )
        products = sub.AsyncRepository(session, Product)
        product = await products.create(sku="NEW-1", name="New product", price_cents=990)
        expect(
            isinstance(product.id, int),
            f"AsyncRepository(session, Product).create(...) returned a product whose id is {product.id!r}; the "
            "database assigns it (a serial): flush before returning.",
        )
        await session.rollback()


async def test_get_and_get_by_email_return_the_row_or_none(sub, db):
    shop = await Shop.fresh(db)
    row = (await shop.observe("SELECT id, email FROM users ORDER BY email LIMIT 1"))[0]
    async with shop.sessions() as session:
        users = _users(sub, session)
        shop.mark()
        user = await users.get(row["id"])
        expect(
            user is not None and user.email == row["email"],
            f"UserRepository.get({row['id']}) returned {user!r}; expected the user {row['email']}.",
        )
        expect(
            shop.counter.count <= 1, f"get() sent {shop.counter.count} statements:\n{shop.counter.summary()}"
        )
        missing = uuid.uuid4()
        expect(
            await users.get(missing) is None,
            f"UserRepository.get({missing}) for an unknown id must return None.",
        )
    async with shop.sessions() as session:
        users = _users(sub, session)
        shop.mark()
        user = await users.get_by_email(row["email"])
        expect(
            user is not None and user.id == row["id"],
            f"get_by_email({row['email']!r}) returned {user!r}; expected that user.",
        )
        expect(
            shop.counter.count == 1,
            f"get_by_email sent {shop.counter.count} statements; one is enough:\n{shop.counter.summary()}",
        )
        nobody = await users.get_by_email("nobody@example.com")
        expect(nobody is None, f"get_by_email('nobody@example.com') returned {nobody!r}; expected None.")


async def test_get_many_uses_one_query_and_none_for_no_ids(sub, db):
    shop = await Shop.fresh(db)
    ids = [r["id"] for r in await shop.observe("SELECT id FROM users ORDER BY email LIMIT 5")]
    async with shop.sessions() as session:
        users = _users(sub, session)
        shop.mark()
        found = await users.get_many([*ids, uuid.uuid4()])
        got = sorted(str(u.id) for u in found)
        expect(
            got == sorted(str(i) for i in ids),
            f"get_many(5 known ids + 1 unknown) returned {len(got)} users; expected the 5 known ones.",
        )
        expect(
            shop.counter.count == 1,
            f"get_many(6 ids) sent {shop.counter.count} statements; expected one (WHERE id IN ...), whatever the "
            f"number of ids:\n{shop.counter.summary()}\n" + LESSON.format("Repositories that never commit"),
        )
        shop.mark()
        empty = await users.get_many([])
        expect(
            list(empty) == [] and shop.counter.count == 0,
            f"get_many([]) returned {empty!r} after {shop.counter.count} statement(s); expected [] without asking "
            f"the database:\n{shop.counter.summary()}",
        )


async def test_list_pages_in_primary_key_order(sub, db):
    shop = await Shop.fresh(db)
    conn = await db.observer()
    await conn.execute(
        "INSERT INTO products (sku, name, price_cents) SELECT 'BULK-' || g, 'Bulk ' || g, 100 "
        "FROM generate_series(1, 110) g"
    )
    await conn.execute("UPDATE products SET name = name || '!' WHERE id % 7 = 0")  # shuffle the heap again
    product_ids = [r["id"] for r in await shop.observe("SELECT id FROM products ORDER BY id")]
    user_ids = [r["id"] for r in await shop.observe("SELECT id FROM users ORDER BY id")]
    async with shop.sessions() as session:
        products = sub.AsyncRepository(session, Product)
        users = _users(sub, session)
        for repo, call, kwargs, wanted in (
            (
                products,
                "AsyncRepository(session, Product).list(offset=5, limit=7)",
                {"offset": 5, "limit": 7},
                product_ids[5:12],
            ),
            (products, "AsyncRepository(session, Product).list()", {}, product_ids[:100]),
            (
                users,
                "UserRepository(session).list(offset=2, limit=3)",
                {"offset": 2, "limit": 3},
                user_ids[2:5],
            ),
        ):
            shop.mark()
            got = [x.id for x in await repo.list(**kwargs)]
            expect(
                got == wanted,
                f"{call} returned ids {got[:12]}{' ...' if len(got) > 12 else ''} ({len(got)} rows); expected "
                f"{wanted[:12]}{' ...' if len(wanted) > 12 else ''} ({len(wanted)} rows): a page is only stable when "
                f"ordered by the primary key. Statement:\n{shop.counter.summary()}",
            )
            expect(
                shop.counter.count == 1,
                f"{call} sent {shop.counter.count} statements:\n{shop.counter.summary()}",
            )


async def test_update_sets_columns_and_flushes(sub, db):
    shop = await Shop.fresh(db)
    row = (await shop.observe("SELECT id FROM users ORDER BY email LIMIT 1"))[0]
    async with shop.sessions() as session:
        users = _users(sub, session)
        user = await users.get(row["id"])
        shop.mark()
        await users.update(user, name="Renamed")
        expect(
            user.name == "Renamed" and shop.writes("UPDATE"),
            f"update(user, name='Renamed') left name={user.name!r} and sent {len(shop.writes('UPDATE'))} UPDATE: it "
            f"must set the column and flush.\nStatements:\n{shop.counter.summary()}",
        )
        seen = await session.scalar(sa.text("SELECT name FROM users WHERE id = :id"), {"id": row["id"]})
        expect(
            seen == "Renamed", f"In the same transaction, the row's name reads {seen!r}; expected 'Renamed'."
        )
        await session.rollback()


async def test_update_refuses_names_that_are_not_columns(sub, db):
    shop = await Shop.fresh(db)
    row = (await shop.observe("SELECT id, name FROM users ORDER BY email LIMIT 1"))[0]
    for values in (
        {"is_admin": True},
        {"name": "Mallory", "role": "admin"},
        {"orders": []},
        {"__class__": object},
    ):
        async with shop.sessions() as session:
            users = _users(sub, session)
            user = await users.get(row["id"])
            shop.mark()
            exc = await raises(users.update(user, **values))
            shown = ", ".join(f"{k}={v!r}" for k, v in values.items())
            expect(
                isinstance(exc, ValueError),
                f"update(user, {shown}) raised {describe(exc)}; expected ValueError: only mapped columns may be "
                "set, otherwise a request body could write any attribute (mass assignment). "
                + LESSON.format("Repositories that never commit"),
            )
            expect(
                user.name == row["name"] and not shop.writes("UPDATE"),
                f"update(user, {shown}) raised, but first set name={user.name!r} / sent "
                f"{len(shop.writes('UPDATE'))} UPDATE: reject the whole call before changing anything.",
            )


async def test_delete_removes_the_row(sub, db):
    shop = await Shop.fresh(db)
    async with shop.sessions() as session:
        products = sub.AsyncRepository(session, Product)
        product = await products.create(sku="GONE-1", name="Soon gone", price_cents=1)
        shop.mark()
        await products.delete(product)
        expect(
            shop.writes("DELETE"),
            f"delete(product) sent no DELETE: it must flush.\nStatements:\n{shop.counter.summary()}",
        )
        left = await session.scalar(sa.text("SELECT count(*) FROM products WHERE sku = 'GONE-1'"))
        expect(left == 0, f"After delete(product), the transaction still holds {left} row(s) with its sku.")
        again = await products.get(product.id)
        expect(again is None, f"After delete(product), get({product.id}) returned {again!r}; expected None.")
        await session.rollback()


async def test_nothing_is_committed_and_rollback_undoes_everything(sub, db):
    shop = await Shop.fresh(db)
    target = (await shop.observe("SELECT id, name FROM users ORDER BY email LIMIT 1"))[0]
    conn = await db.observer()
    doomed = await conn.fetchval(
        "INSERT INTO products (sku, name, price_cents) VALUES ('KEEP-1', 'Kept', 5) RETURNING id"
    )
    shop.counter.reset()
    async with shop.sessions() as session:
        users = _users(sub, session)
        products = sub.AsyncRepository(session, Product)
        await users.create(email="rolled@example.com", name="Rolled back")
        await users.update(await users.get(target["id"]), name="Changed")
        await products.delete(await products.get(doomed))
        await products.create(sku="ROLLED-1", name="Rolled back", price_cents=1)
        await session.rollback()
    sent_commit = [s for s, _ in shop.counter.statements if s.upper().startswith(("COMMIT", "END"))]
    expect(
        shop.commits == 0 and not sent_commit,
        f"The repository committed {shop.commits + len(sent_commit)} time(s) during create/update/delete. A "
        "repository flushes; the caller (a service, a request) owns the transaction and decides to commit or roll "
        "back. " + LESSON.format("Repositories that never commit"),
    )
    created = await conn.fetchval(
        "SELECT count(*) FROM users WHERE email = 'rolled@example.com'"
    ) + await conn.fetchval("SELECT count(*) FROM products WHERE sku = 'ROLLED-1'")
    name = await conn.fetchval("SELECT name FROM users WHERE id = $1", target["id"])
    kept = await conn.fetchval("SELECT count(*) FROM products WHERE id = $1", doomed)
    expect(
        created == 0 and name == target["name"] and kept == 1,
        f"After the caller rolled back, another connection sees {created} created row(s) (expected 0), the updated "
        f"user named {name!r} (expected {target['name']!r}) and {kept} deleted product (expected 1 still there): "
        "something was committed behind the caller's back. "
        + LESSON.format("Repositories that never commit"),
    )


async def test_works_for_any_model(sub, db):
    shop = await Shop.fresh(db)
    async with shop.sessions() as session:
        products = sub.AsyncRepository(session, Product)
        product = await products.create(sku="ANY-1", name="Any", price_cents=100)
        await products.update(product, price_cents=250, name="Any model")
        exc = await raises(products.update(product, owner="mallory"))
        expect(
            isinstance(exc, ValueError),
            f"Product update(owner=...) raised {describe(exc)}; expected ValueError.",
        )
        exc = await raises(products.update(product, price=1))
        expect(
            isinstance(exc, ValueError),
            f"update(product, price=1) raised {describe(exc)}; expected ValueError: Product has price_cents, not "
            "price (the allowed names come from the model given to the repository).",
        )
        got = await products.get_many([product.id, 1, 2])
        expect(
            sorted(p.id for p in got) == sorted([product.id, 1, 2]),
            f"get_many([{product.id}, 1, 2]) on products returned ids {sorted(p.id for p in got)}.",
        )
        row = await session.execute(sa.text("SELECT name, price_cents FROM products WHERE sku = 'ANY-1'"))
        expect(
            tuple(row.one()) == ("Any model", 250),
            "After create and update on AsyncRepository(session, Product), the row is not ('Any model', 250).",
        )
        await session.rollback()
    if shop.commits:
        fail(f"The repository committed {shop.commits} time(s); it must only flush.")
