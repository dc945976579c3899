"""Checks for sqlalchemy/unit_of_work: `place_order(engine, user_id, items)`.

Every check starts from a freshly seeded shop. What was persisted is read back from a separate asyncpg
connection (never through the submission's engine), statements are counted on the engine handed to the
submission, and commits are counted with the engine's "commit" event.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from course.checking import Database, describe, expect, fail, raises
from course.probes import StatementCounter
from course.shop import seed

REQUIRES = {"place_order": "async def place_order(engine, user_id, items)"}
LESSON = "See notebook 03_sqlalchemy/03, '{}'."
# A statement that reads the products table, however it is written (ORM, Core, text(), any case).
PRODUCTS_READ = re.compile(r"^\s*(SELECT|WITH)\b.*\bproducts\b", re.IGNORECASE | re.DOTALL)


class Shop:
    """A seeded shop, the engine handed to the submission, and probes on it."""

    def __init__(self, db: Database, engine: Any, user_id: uuid.UUID) -> None:
        self.db, self.engine, self.user_id = db, engine, user_id
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
            seeded = await seed(conn, users=3, products=20, orders_per_user=0, accounts=0)
        shop = cls(db, engine, seeded.users[0])
        shop.counter.reset()
        return shop

    async def prices(self) -> dict[str, int]:
        conn = await self.db.observer()
        return {r["sku"]: r["price_cents"] for r in await conn.fetch("SELECT sku, price_cents FROM products")}

    async def saved(self) -> tuple[list[dict], list[tuple]]:
        """Orders and (order id, sku, quantity, unit price) item rows, as another connection sees them."""
        conn = await self.db.observer()
        orders = [dict(r) for r in await conn.fetch("SELECT id, user_id, total_cents, status FROM orders")]
        items = [
            tuple(r)
            for r in await conn.fetch(
                "SELECT i.order_id, p.sku, i.quantity, i.unit_price_cents FROM order_items i "
                "JOIN products p ON p.id = i.product_id ORDER BY p.sku, i.quantity"
            )
        ]
        return orders, items

    async def place(self, sub: Any, items: list[tuple[str, int]]) -> Any:
        self.counter.reset()
        self.commits = 0
        return await sub.place_order(self.engine, self.user_id, items)


def _read(order: Any) -> dict[str, Any]:
    """What a caller reads from the returned order once the session is gone."""
    return {
        "id": order.id,
        "user_id": order.user_id,
        "total_cents": order.total_cents,
        "status": order.status,
        "created_at": order.created_at,
        "items": sorted((item.product_id, item.quantity, item.unit_price_cents) for item in order.items),
    }


async def _nothing_saved(shop: Shop, what: str) -> None:
    orders, items = await shop.saved()
    expect(
        not orders and not items,
        f"After {what}, another connection sees {len(orders)} order(s) and {len(items)} item(s): "
        f"{orders[:2]} {items[:3]}. Nothing may be persisted: one transaction for the whole order, rolled back on "
        f"any error. Statements sent:\n{shop.counter.summary(12)}\n" + LESSON.format("The unit of work"),
    )


async def test_order_and_items_are_saved_at_current_prices(sub, db):
    shop = await Shop.fresh(db)
    conn = await db.observer()
    await conn.execute("UPDATE products SET price_cents = 1234 WHERE sku = 'SKU-0002'")  # the price of today
    prices = await shop.prices()
    items = [("SKU-0002", 3), ("SKU-0005", 1)]
    order = await shop.place(sub, items)
    orders, rows = await shop.saved()
    expected_total = 3 * 1234 + prices["SKU-0005"]
    expect(
        len(orders) == 1,
        f"place_order(engine, user, {items}) left {len(orders)} order rows in the database (seen from another "
        "connection); expected exactly 1, committed.",
    )
    saved = orders[0]
    expect(
        saved["user_id"] == shop.user_id and saved["total_cents"] == expected_total,
        f"The saved order has user_id={saved['user_id']}, total_cents={saved['total_cents']}; expected user_id="
        f"{shop.user_id}, total_cents={expected_total} (3 x 1234 + 1 x {prices['SKU-0005']}).",
    )
    expect(
        saved["status"] == "pending", f"The saved order has status {saved['status']!r}; expected 'pending'."
    )
    wanted = [(saved["id"], "SKU-0002", 3, 1234), (saved["id"], "SKU-0005", 1, prices["SKU-0005"])]
    expect(
        rows == wanted,
        f"The saved items (order, sku, quantity, unit price) are {rows}; expected {wanted}: one item per pair, "
        "at the product's current price.",
    )
    try:
        returned_id = order.id
    except Exception as exc:  # noqa: BLE001 - judged by the readability check; here only the identity matters
        returned_id = f"unreadable ({type(exc).__name__})"
    expect(
        returned_id == saved["id"],
        f"place_order returned an object whose id is {returned_id}; expected the Order it saved (id {saved['id']}).",
    )
    expect(
        shop.commits == 1,
        f"place_order committed {shop.commits} times; one order is one transaction, committed once. Statements "
        f"sent:\n{shop.counter.summary(12)}\n" + LESSON.format("The unit of work"),
    )


async def test_a_repeated_sku_gives_one_item_per_pair(sub, db):
    shop = await Shop.fresh(db)
    prices = await shop.prices()
    items = [("SKU-0007", 1), ("SKU-0003", 2), ("SKU-0007", 4)]
    await shop.place(sub, items)
    orders, rows = await shop.saved()
    expect(len(orders) == 1, f"place_order(engine, user, {items}) saved {len(orders)} orders; expected 1.")
    got = [(sku, quantity) for _, sku, quantity, _ in rows]
    expect(
        got == [("SKU-0003", 2), ("SKU-0007", 1), ("SKU-0007", 4)],
        f"For items {items} the saved (sku, quantity) rows are {got}; expected one item per pair, the repeated "
        "sku included.",
    )
    total = prices["SKU-0007"] * 5 + prices["SKU-0003"] * 2
    expect(
        orders[0]["total_cents"] == total,
        f"For items {items} the saved total_cents is {orders[0]['total_cents']}; expected {total}.",
    )


async def test_the_returned_order_is_readable_after_the_session_is_closed(sub, db):
    shop = await Shop.fresh(db)
    prices = await shop.prices()
    order = await shop.place(sub, [("SKU-0001", 2), ("SKU-0004", 1), ("SKU-0009", 5)])
    try:
        seen = _read(order)
    except Exception as exc:  # noqa: BLE001 - whatever reading raises is the evidence
        name = type(exc).__name__
        why = (
            "its attributes were expired by the commit (expire_on_commit=True) and the session that could "
            "reload them is closed: make the sessionmaker with expire_on_commit=False"
            if name in ("DetachedInstanceError", "MissingGreenlet")
            else "its items are not loaded: build the order with its items (order.items) in the session, so the "
            "returned object carries them"
            if "lazy='raise'" in str(exc)
            else "it is not usable outside the session"
        )
        fail(
            f"Reading the returned order after place_order returned (id, user_id, total_cents, status, "
            f"created_at, items and each item's product_id, quantity, unit_price_cents) raised {describe(exc)}: "
            f"{why}. See notebook 03_sqlalchemy/01, 'Why expire_on_commit=False'."
        )
    orders, _ = await shop.saved()
    expect(
        seen["id"] == orders[0]["id"] and seen["status"] == "pending" and seen["created_at"] is not None,
        f"The returned order reads id={seen['id']}, status={seen['status']!r}, created_at={seen['created_at']!r}; "
        f"expected the saved order {orders[0]['id']}, 'pending', and its timestamp.",
    )
    wanted = sorted([(1, 2, prices["SKU-0001"]), (4, 1, prices["SKU-0004"]), (9, 5, prices["SKU-0009"])])
    expect(
        seen["items"] == wanted,
        f"The returned order's items (product_id, quantity, unit_price_cents) are {seen['items']}; expected "
        f"{wanted}.",
    )


async def test_products_are_fetched_in_one_query(sub, db):
    shop = await Shop.fresh(db)
    for count in (1, 10):
        items = [(f"SKU-{i + 1:04d}", 1) for i in range(count)]
        await shop.place(sub, items)
        reads = [s for s, _ in shop.counter.statements if PRODUCTS_READ.search(s)]
        expect(
            len(reads) == 1,
            f"For an order of {count} item(s), place_order read the products table {len(reads)} times; expected "
            f"exactly once whatever the number of items (WHERE sku IN ...). Statements sent:\n"
            f"{shop.counter.summary(12)}\n" + LESSON.format("The unit of work"),
        )


async def test_an_unknown_sku_raises_lookup_error_and_saves_nothing(sub, db):
    shop = await Shop.fresh(db)
    items = [("SKU-0001", 1), ("SKU-0002", 2), ("NO-SUCH-SKU", 1)]
    exc = await raises(shop.place(sub, items))
    expect(
        isinstance(exc, LookupError),
        f"place_order(engine, user, {items}) raised {describe(exc)}; expected LookupError for the unknown sku.",
    )
    await _nothing_saved(shop, f"place_order(engine, user, {items}) failed")


async def test_bad_quantities_and_empty_orders_raise_value_error_before_any_write(sub, db):
    shop = await Shop.fresh(db)
    for items in ([], [("SKU-0001", 0)], [("SKU-0001", 2), ("SKU-0002", -1)]):
        exc = await raises(shop.place(sub, items))
        expect(
            isinstance(exc, ValueError),
            f"place_order(engine, user, {items}) raised {describe(exc)}; expected ValueError.",
        )
        writes = [s for s, _ in shop.counter.statements if not s.upper().startswith("SELECT")]
        expect(
            not writes,
            f"place_order(engine, user, {items}) sent {len(writes)} write(s) before rejecting the input:\n"
            f"{shop.counter.summary(12)}\nValidate what needs no database before writing anything (a flush "
            "first means locks taken and sequence numbers burned for an order that never existed). "
            + LESSON.format("The unit of work"),
        )
        await _nothing_saved(shop, f"place_order(engine, user, {items}) failed")


async def test_a_database_error_midway_leaves_nothing_behind(sub, db):
    shop = await Shop.fresh(db)
    conn = await db.connect()
    # A trigger makes the insert of one particular item fail on the server, after the order row went in.
    await conn.execute(
        """
        CREATE OR REPLACE FUNCTION chk_uow_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.quantity = 77 THEN RAISE EXCEPTION 'item refused by the checker'; END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER chk_uow_refuse BEFORE INSERT ON order_items
            FOR EACH ROW EXECUTE FUNCTION chk_uow_refuse();
        """
    )
    try:
        items = [("SKU-0001", 1), ("SKU-0002", 77), ("SKU-0003", 1)]
        exc = await raises(shop.place(sub, items))
        expect(
            exc is not None,
            "The server refused an item (a trigger raised on its insert) but place_order returned normally.",
        )
        await _nothing_saved(
            shop, "the server refused the second item of three (a trigger raised on its insert)"
        )
    finally:
        await conn.execute("DROP TRIGGER IF EXISTS chk_uow_refuse ON order_items")
