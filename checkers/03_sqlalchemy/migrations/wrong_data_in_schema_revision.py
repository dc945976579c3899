# must fail: test_the_schema_revision_moves_no_data
"""The split done in the schema revision; the data revision does nothing."""


from __future__ import annotations

import sqlalchemy as sa
from alembic import op

INDEX = "ix_customers_last_name_first_name"


def upgrade_schema() -> None:
    op.add_column("customers", sa.Column("first_name", sa.String(100), nullable=True))
    op.add_column("customers", sa.Column("last_name", sa.String(100), nullable=True))
    op.alter_column("customers", "full_name", existing_type=sa.String(200), nullable=True)
    op.create_index(INDEX, "customers", ["last_name", "first_name"])
    op.execute(
        "UPDATE customers SET first_name = split_part(full_name, ' ', 1), "
        "last_name = nullif(substr(full_name, length(split_part(full_name, ' ', 1)) + 2), '')"
    )


def downgrade_schema() -> None:
    op.drop_index(INDEX, table_name="customers")
    op.drop_column("customers", "last_name")
    op.drop_column("customers", "first_name")
    op.alter_column("customers", "full_name", existing_type=sa.String(200), nullable=False)


def upgrade_data() -> None:
    pass  # done in upgrade_schema


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
