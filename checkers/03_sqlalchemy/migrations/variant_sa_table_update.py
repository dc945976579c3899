# passes: sa.table()/sa.column() with SQL functions, no raw SQL strings
"""The same set-based updates built with sa.table and SQLAlchemy expressions."""


from __future__ import annotations

import sqlalchemy as sa
from alembic import op

INDEX = "ix_customers_last_name_first_name"


def upgrade_schema() -> None:
    op.add_column("customers", sa.Column("first_name", sa.String(100), nullable=True))
    op.add_column("customers", sa.Column("last_name", sa.String(100), nullable=True))
    op.alter_column("customers", "full_name", existing_type=sa.String(200), nullable=True)
    op.create_index(INDEX, "customers", ["last_name", "first_name"])


def downgrade_schema() -> None:
    op.drop_index(INDEX, table_name="customers")
    op.drop_column("customers", "last_name")
    op.drop_column("customers", "first_name")
    op.alter_column("customers", "full_name", existing_type=sa.String(200), nullable=False)


def upgrade_data() -> None:
    customers = sa.table("customers", sa.column("full_name", sa.String), sa.column("first_name", sa.String),
                         sa.column("last_name", sa.String))
    first = sa.func.split_part(customers.c.full_name, " ", 1)
    rest = sa.func.substr(customers.c.full_name, sa.func.length(first) + 2)
    op.execute(customers.update().values(first_name=first, last_name=sa.func.nullif(rest, "")))


def downgrade_data() -> None:
    customers = sa.table("customers", sa.column("full_name", sa.String), sa.column("first_name", sa.String),
                         sa.column("last_name", sa.String))
    rebuilt = sa.case(
        (customers.c.last_name.is_(None), customers.c.first_name),
        else_=customers.c.first_name + " " + customers.c.last_name,
    )
    op.execute(customers.update().where(customers.c.first_name.is_not(None)).values(full_name=rebuilt))
    op.execute(customers.update().values(first_name=None, last_name=None))
