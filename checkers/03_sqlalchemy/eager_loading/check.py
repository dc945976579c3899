"""Checks for sqlalchemy/eager_loading: `users_with_orders(session, limit)` and `order_with_user(session, id)`.

Each check seeds a shop whose email order differs from insertion and primary-key order, with users that
have several orders, one order or none. The submission gets a fresh session on an engine whose statements
are counted; the graph it returns is walked (every relationship is lazy="raise", so anything not loaded
raises) and compared with the same rows read by plain SQL on a separate connection.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.ext.asyncio import async_sessionmaker

from course.checking import Database, expect, fail
from course.probes import StatementCounter
from course.shop import seed

REQUIRES = {
    "users_with_orders": "async def users_with_orders(session, limit)",
    "order_with_user": "async def order_with_user(session, order_id)",
}
LESSON = "See notebook 03_sqlalchemy/02, '{}'."
MAX_STATEMENTS = 4


class Shop:
    def __init__(self, db: Database, engine: Any) -> None:
        self.db, self.engine = db, engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.counter = StatementCounter(engine)

    @classmethod
    async def fresh(cls, db: Database, *, users: int, orders_per_user: int, seed_value: int = 0) -> Shop:
        engine = db.engine()
        async with engine.begin() as conn:
            await conn.execute(
                sa.text("TRUNCATE order_items, orders, products, users, accounts RESTART IDENTITY CASCADE")
            )
            await seed(
                conn,
                users=users,
                products=20,
                orders_per_user=orders_per_user,
                accounts=0,
                seed_value=seed_value,
            )
            # Email order no longer follows insertion (heap) order nor id order: ORDER BY email is needed.
            await conn.execute(
                sa.text("UPDATE users SET email = substr(md5(id::text), 1, 10) || '@example.com'")
            )
            # About a quarter of the orders go (their items cascade): users with several, one or no orders.
            await conn.execute(sa.text("DELETE FROM orders WHERE substr(md5(id::text), 1, 1) < '4'"))
        return cls(db, engine)

    async def expected(self, limit: int) -> list[tuple]:
        """The first `limit` users by email and their graph, read with plain SQL."""
        conn = await self.db.observer()
        users = await conn.fetch("SELECT id, email FROM users ORDER BY email LIMIT $1", limit)
        ids = [u["id"] for u in users]
        orders = await conn.fetch("SELECT id, user_id, total_cents FROM orders WHERE user_id = ANY($1)", ids)
        items = await conn.fetch(
            "SELECT i.id, i.order_id, i.quantity, p.sku FROM order_items i JOIN products p ON p.id = i.product_id "
            "WHERE i.order_id = ANY($1)",
            [o["id"] for o in orders],
        )
        return [
            (
                u["email"],
                sorted(
                    (
                        str(o["id"]),
                        o["total_cents"],
                        sorted((i["id"], i["quantity"], i["sku"]) for i in items if i["order_id"] == o["id"]),
                    )
                    for o in orders
                    if o["user_id"] == u["id"]
                ),
            )
            for u in users
        ]

    async def call_users(self, sub: Any, limit: int) -> tuple[list[tuple], int, str]:
        async with self.sessions() as session:
            self.counter.reset()
            users = await sub.users_with_orders(session, limit)
            count, summary = self.counter.count, self.counter.summary(10)
            return _walk(users, count, summary), count, summary


def _walk(users: Any, count: int, summary: str) -> list[tuple]:
    """The returned graph as plain tuples; a relationship that was not loaded fails the check."""
    expect(
        isinstance(users, list),
        f"users_with_orders returned {type(users).__name__}; expected a list of User.",
    )
    path = "user.orders"
    try:
        graph = []
        for user in users:
            path = "user.orders"
            orders = []
            for order in user.orders:
                path = "order.items"
                items = []
                for item in order.items:
                    path = "item.product"
                    items.append((item.id, item.quantity, item.product.sku))
                orders.append((str(order.id), order.total_cents, sorted(items)))
            graph.append((user.email, sorted(orders)))
        return graph
    except InvalidRequestError as exc:
        fail(
            f"Walking the users returned by users_with_orders, `{path}` was not loaded ({exc}). The query must "
            f"load users, their orders, each order's items and each item's product. It sent {count} "
            f"statement(s):\n{summary}\n" + LESSON.format("selectinload vs joinedload")
        )


def _first_difference(got: list[tuple], wanted: list[tuple]) -> str:
    if [g[0] for g in got] != [w[0] for w in wanted]:
        return (
            f"the users (by email) are {[g[0] for g in got][:6]}{' ...' if len(got) > 6 else ''} ({len(got)} users); "
            f"expected {[w[0] for w in wanted][:6]}{' ...' if len(wanted) > 6 else ''} ({len(wanted)} users, the "
            "first ones ordered by email)"
        )
    for g, w in zip(got, wanted, strict=True):
        if g != w:
            return (
                f"user {w[0]} has {len(g[1])} order(s) with {sum(len(o[2]) for o in g[1])} item(s) loaded; the "
                f"database holds {len(w[1])} order(s) with {sum(len(o[2]) for o in w[1])} item(s)"
            )
    return "no difference"


async def test_users_come_in_email_order_with_their_whole_graph(sub, db):
    shop = await Shop.fresh(db, users=12, orders_per_user=3)
    got, count, summary = await shop.call_users(sub, 8)
    wanted = await shop.expected(8)
    expect(
        got == wanted,
        f"users_with_orders(session, 8): {_first_difference(got, wanted)}. Statements sent:\n{summary}\n"
        + LESSON.format("selectinload vs joinedload"),
    )


async def test_statement_count_does_not_grow_with_the_data(sub, db):
    counts = []
    for users, orders_per_user, limit in ((4, 1, 2), (60, 5, 45)):
        shop = await Shop.fresh(db, users=users, orders_per_user=orders_per_user, seed_value=users)
        got, count, summary = await shop.call_users(sub, limit)
        wanted = await shop.expected(limit)
        expect(got == wanted, f"users_with_orders(session, {limit}): {_first_difference(got, wanted)}.")
        items = sum(len(o[2]) for _, orders in wanted for o in orders)
        counts.append(
            f"{limit} users / {sum(len(o) for _, o in wanted)} orders / {items} items: {count} statements"
        )
        expect(
            count <= MAX_STATEMENTS,
            f"users_with_orders(session, {limit}) sent {count} statements; at most {MAX_STATEMENTS} whatever the "
            f"data size (one per level of the graph at most). Counts so far: {'; '.join(counts)}. Statements:\n"
            f"{summary}\nA query per user or per order is the N+1 problem. "
            + LESSON.format("N+1 made visible"),
        )


async def test_limit_counts_users_not_joined_rows(sub, db):
    shop = await Shop.fresh(db, users=10, orders_per_user=4, seed_value=7)
    for limit in (5, 50):
        got, _, summary = await shop.call_users(sub, limit)
        wanted = await shop.expected(limit)
        expect(
            got == wanted,
            f"users_with_orders(session, {limit}): {_first_difference(got, wanted)}. Statements sent:\n{summary}\n"
            "A LIMIT on a query joined to a collection counts joined rows (one per order item), not users: load "
            "the collections in separate statements, or let joinedload wrap the limited query. "
            + LESSON.format("joinedload and LIMIT"),
        )


async def test_order_with_user_loads_both_in_one_statement(sub, db):
    shop = await Shop.fresh(db, users=6, orders_per_user=3)
    conn = await db.observer()
    rows = await conn.fetch(
        "SELECT o.id, o.total_cents, u.email FROM orders o JOIN users u ON u.id = o.user_id ORDER BY o.id LIMIT 3"
    )
    for row in rows:
        async with shop.sessions() as session:
            shop.counter.reset()
            order = await sub.order_with_user(session, row["id"])
            count, summary = shop.counter.count, shop.counter.summary()
            expect(
                order is not None and getattr(order, "id", None) == row["id"],
                f"order_with_user(session, {row['id']}) returned {order!r}; expected that Order.",
            )
            try:
                email = order.user.email
            except InvalidRequestError as exc:
                fail(
                    f"order_with_user returned the order without its user loaded ({exc}). Statements sent:\n"
                    f"{summary}\n" + LESSON.format("selectinload vs joinedload")
                )
            expect(
                email == row["email"] and order.total_cents == row["total_cents"],
                f"order_with_user(session, {row['id']}) returned total_cents={order.total_cents}, user "
                f"{email}; the database says {row['total_cents']}, {row['email']}.",
            )
            expect(
                count == 1,
                f"order_with_user sent {count} statements; exactly one is enough for one order and its user (a "
                f"many-to-one is loaded best by a JOIN in the same statement):\n{summary}\n"
                + LESSON.format("selectinload vs joinedload"),
            )


async def test_order_with_user_returns_none_for_an_unknown_id(sub, db):
    shop = await Shop.fresh(db, users=3, orders_per_user=1)
    unknown = uuid.uuid4()
    async with shop.sessions() as session:
        shop.counter.reset()
        order = await sub.order_with_user(session, unknown)
        expect(
            order is None,
            f"order_with_user(session, {unknown}) for an id that does not exist returned {order!r}; "
            "expected None.",
        )
        expect(
            shop.counter.count <= 1,
            f"order_with_user sent {shop.counter.count} statements for an unknown id:\n{shop.counter.summary()}",
        )
