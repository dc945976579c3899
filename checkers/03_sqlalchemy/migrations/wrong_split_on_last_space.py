# must fail: test_the_data_revision_splits_every_full_name
"""Splits at the last space: 'Grace Brewster Hopper' becomes 'Grace Brewster' + 'Hopper'."""


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
    conn = op.get_bind()
    customers = sa.table("customers", sa.column("id"), sa.column("full_name"), sa.column("first_name"),
                         sa.column("last_name"))
    rows = conn.execute(sa.select(customers.c.id, customers.c.full_name)).all()
    for row in rows:
        first, _, last = row.full_name.rpartition(" ")
        if not first:
            first, last = last, None
        conn.execute(customers.update().where(customers.c.id == row.id).values(first_name=first, last_name=last))


def downgrade_data() -> None:
    op.execute(
        """
        UPDATE customers
        SET full_name = CASE WHEN first_name IS NULL THEN full_name
                             ELSE concat_ws(' ', first_name, last_name) END,
            first_name = NULL,
            last_name = NULL
        """
    )
