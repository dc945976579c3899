"""The shop domain every module from SQLAlchemy on uses: models, and a seeding helper for demos and checkers.

Names are fixed (notebooks, exercises, solutions and checkers import them). Every relationship is
`lazy="raise"`: touching an unloaded relationship is an error, never a hidden query. Every check database
and the lab database are cloned from a template that already holds these tables.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    insert,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "Account",
    "AuditEvent",
    "Base",
    "Credential",
    "LoginAttempt",
    "Order",
    "OrderItem",
    "Product",
    "Seeded",
    "User",
    "seed",
]


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(255), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    orders: Mapped[list[Order]] = relationship(back_populates="user", lazy="raise")

    def __repr__(self) -> str:
        return f"User(email={self.email!r})"


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # Server defaults, so that COPY and plain SQL inserts of (sku, name, price_cents) work.
    description: Mapped[str] = mapped_column(Text, server_default="")
    price_cents: Mapped[int] = mapped_column(Integer)
    tags: Mapped[list[str]] = mapped_column(ARRAY(String), server_default="{}")
    attributes: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    def __repr__(self) -> str:
        return f"Product(sku={self.sku!r})"


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_user_id_created_at", "user_id", "created_at"),
        Index("ix_orders_created_at_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    total_cents: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="pending", server_default="pending")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    user: Mapped[User] = relationship(back_populates="orders", lazy="raise")
    items: Mapped[list[OrderItem]] = relationship(back_populates="order", lazy="raise")

    def __repr__(self) -> str:
        return f"Order(id={self.id}, total_cents={self.total_cents})"


class OrderItem(Base):
    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_cents: Mapped[int] = mapped_column(Integer)

    order: Mapped[Order] = relationship(back_populates="items", lazy="raise")
    product: Mapped[Product] = relationship(lazy="raise")


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(100))
    balance_cents: Mapped[int] = mapped_column(Integer)


class Credential(Base):
    __tablename__ = "credentials"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default="user", server_default="user")


class LoginAttempt(Base):
    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), index=True)
    succeeded: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


def ddl() -> list[str]:
    """CREATE TABLE and CREATE INDEX statements for the whole domain, in dependency order."""
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateIndex, CreateTable

    dialect = postgresql.dialect()
    statements = []
    for table in Base.metadata.sorted_tables:
        statements.append(str(CreateTable(table).compile(dialect=dialect)).strip())
        statements.extend(str(CreateIndex(index).compile(dialect=dialect)).strip() for index in table.indexes)
    return statements


@dataclass(frozen=True)
class Seeded:
    users: list[uuid.UUID]
    products: list[int]
    orders: list[uuid.UUID]
    accounts: list[int]


async def seed(
    conn: AsyncConnection,
    *,
    users: int = 10,
    products: int = 20,
    orders_per_user: int = 3,
    accounts: int = 4,
    seed_value: int = 0,
) -> Seeded:
    """Insert a small, deterministic shop (same `seed_value`, same data) in a few executemany statements.

    Takes an `AsyncConnection` (for example `async with engine.begin() as conn:`); it does not commit.
    """
    rng = random.Random(seed_value)
    user_rows = [
        {
            "id": uuid.UUID(int=rng.getrandbits(128), version=4),
            "email": f"user{i:03d}@example.com",
            "name": f"User {i:03d}",
        }
        for i in range(users)
    ]
    product_rows = [
        {
            "id": i + 1,
            "sku": f"SKU-{i + 1:04d}",
            "name": f"Product {i + 1:04d}",
            "description": f"A fine product number {i + 1}",
            "price_cents": rng.randint(100, 10_000),
            "tags": rng.sample(["red", "blue", "green", "sale", "new", "eco"], 2),
            "attributes": {"size": rng.choice(["S", "M", "L"]), "colour": rng.choice(["red", "blue"])},
        }
        for i in range(products)
    ]
    order_rows, item_rows = [], []
    for user in user_rows:
        for _ in range(orders_per_user):
            order_id = uuid.UUID(int=rng.getrandbits(128), version=4)
            chosen = rng.sample(product_rows, min(2, len(product_rows))) if product_rows else []
            lines = [(p, rng.randint(1, 3)) for p in chosen]
            order_rows.append(
                {
                    "id": order_id,
                    "user_id": user["id"],
                    "total_cents": sum(p["price_cents"] * q for p, q in lines),
                }
            )
            item_rows.extend(
                {
                    "order_id": order_id,
                    "product_id": p["id"],
                    "quantity": q,
                    "unit_price_cents": p["price_cents"],
                }
                for p, q in lines
            )
    account_rows = [
        {"id": i + 1, "owner": f"Owner {i + 1}", "balance_cents": 10_000} for i in range(accounts)
    ]
    for model, rows in (
        (User, user_rows),
        (Product, product_rows),
        (Order, order_rows),
        (OrderItem, item_rows),
        (Account, account_rows),
    ):
        if rows:
            await conn.execute(insert(model), rows)
    if product_rows:  # explicit ids were inserted: move the sequence past them
        await conn.execute(
            text("SELECT setval(pg_get_serial_sequence('products', 'id'), max(id)) FROM products")
        )
    if account_rows:
        await conn.execute(
            text("SELECT setval(pg_get_serial_sequence('accounts', 'id'), max(id)) FROM accounts")
        )
    return Seeded(
        [u["id"] for u in user_rows],
        [p["id"] for p in product_rows],
        [o["id"] for o in order_rows],
        [a["id"] for a in account_rows],
    )
