# passes: classic declarative with Column() instead of Mapped/mapped_column; the schema is the same
"""Declarative mapping with Column(...) attributes: older style, same tables, indexes and relationships."""

from __future__ import annotations

import uuid

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String, Uuid, func
from sqlalchemy.orm import DeclarativeBase, relationship


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id = Column(Uuid, primary_key=True, default=uuid.uuid4)
    email = Column(String(255), nullable=False, unique=True)
    name = Column(String(100), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now())

    orders = relationship("Order", back_populates="user", lazy="raise")


class Order(Base):
    __tablename__ = "orders"

    id = Column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id = Column(Uuid, ForeignKey("users.id"), nullable=False)
    total_cents = Column(Integer, nullable=False)
    status = Column(String(20), nullable=False, server_default="pending")
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now())

    user = relationship("User", back_populates="orders", lazy="raise")


Index("ix_orders_user_created", Order.user_id, Order.created_at)
Index("ix_orders_created_id", Order.created_at, Order.id)
