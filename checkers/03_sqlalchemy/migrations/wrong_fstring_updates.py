# must fail: test_the_data_revision_splits_every_full_name
"""A row-by-row data migration with the values pasted into the SQL: the first quote in a name breaks it."""


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
    for row in conn.execute(sa.text("SELECT id, full_name FROM customers")).all():
        first, _, last = row.full_name.partition(" ")
        last_sql = f"'{last}'" if last else "NULL"
        op.execute(f"UPDATE customers SET first_name = '{first}', last_name = {last_sql} WHERE id = {row.id}")


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
