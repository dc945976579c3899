# must fail: test_downgrading_the_schema_revision_restores_the_initial_schema
"""A copy-paste slip in downgrade_schema: first_name is dropped, last_name stays, full_name stays nullable."""


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
    op.drop_column("customers", "first_name")


def upgrade_data() -> None:
    # One set-based UPDATE, no value pasted in the SQL: whatever the names hold, nothing breaks.
    op.execute(
        """
        UPDATE customers
        SET first_name = split_part(full_name, ' ', 1),
            last_name = nullif(substr(full_name, length(split_part(full_name, ' ', 1)) + 2), '')
        """
    )


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
