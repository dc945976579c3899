"""Models: map `users` and `orders` yourself, the SQLAlchemy 2.0 way.

Define `Base` (a DeclarativeBase), `User` (table `users`) and `Order` (table `orders`) as in the shop domain:
- users: `id` UUID primary key (default uuid4), `email` String(255) unique and indexed, `name` String(100),
  `created_at` timezone-aware timestamp with a server default of now(); `orders` relationship.
- orders: `id` UUID primary key (default uuid4), `user_id` foreign key to users.id, `total_cents` integer,
  `status` String(20) defaulting to 'pending', `created_at` timezone-aware timestamp (server default now());
  `user` relationship; an index on (user_id, created_at) and one on (created_at, id).
- Every column NOT NULL; both relationships `lazy="raise"` and `back_populates` each other.

Read: notebooks/03_sqlalchemy/01_models_and_sessions.ipynb, "Mapping tables the 2.0 way".
Check: course check sqlalchemy/models
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(255), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    orders: Mapped[list[Order]] = relationship(back_populates="user", lazy="raise")


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
