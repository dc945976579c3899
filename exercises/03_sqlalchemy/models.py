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


class _NotWrittenYet(type):
    """Placeholder: using a class you have not written yet raises NotImplementedError. Delete it when done."""

    def __getattr__(cls, name: str) -> object:
        raise NotImplementedError


# TODO: your code here: replace both placeholders with mapped classes, `class User(Base):` and `class Order(Base):`.
class User(metaclass=_NotWrittenYet):
    pass


class Order(metaclass=_NotWrittenYet):
    pass
