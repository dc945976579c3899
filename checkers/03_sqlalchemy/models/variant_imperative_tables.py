# passes: imperative mapping: Table objects mapped onto plain classes with registry.map_imperatively
"""Tables first, classes second: the same schema, built from Table(...) and mapped imperatively."""

from __future__ import annotations

import uuid

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String, Table, Uuid, text
from sqlalchemy.orm import DeclarativeBase, relationship


class Base(DeclarativeBase):
    pass


users = Table(
    "users",
    Base.metadata,
    Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()")),
    Column("email", String(255), nullable=False),
    Column("name", String(100), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("CURRENT_TIMESTAMP")),
    Index("users_email_key", "email", unique=True),
)

orders = Table(
    "orders",
    Base.metadata,
    Column("id", Uuid, primary_key=True, default=uuid.uuid4),
    Column("user_id", Uuid, ForeignKey("users.id"), nullable=False),
    Column("total_cents", Integer, nullable=False),
    Column("status", String(20), nullable=False, default="pending"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Index("orders_user_recent", "user_id", "created_at"),
    Index("orders_keyset", "created_at", "id"),
)


class User:
    pass


class Order:
    pass


Base.registry.map_imperatively(
    User, users, properties={"orders": relationship(Order, back_populates="user", lazy="raise")}
)
Base.registry.map_imperatively(
    Order, orders, properties={"user": relationship(User, back_populates="orders", lazy="raise")}
)
