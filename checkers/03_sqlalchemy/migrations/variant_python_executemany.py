# passes: rows read through op.get_bind(), split in Python, one executemany UPDATE
"""Splitting in Python with bound parameters: fine for a small table, and every value is a parameter."""


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
    rows = conn.execute(sa.text("SELECT id, full_name FROM customers")).all()
    params = []
    for row in rows:
        first, _, last = row.full_name.partition(" ")
        params.append({"cid": row.id, "first": first, "last": last or None})
    if params:
        conn.execute(sa.text("UPDATE customers SET first_name = :first, last_name = :last WHERE id = :cid"), params)


def downgrade_data() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, first_name, last_name FROM customers WHERE first_name IS NOT NULL"))
    params = [{"cid": r.id, "full": " ".join(p for p in (r.first_name, r.last_name) if p is not None)} for r in rows]
    if params:
        conn.execute(sa.text("UPDATE customers SET full_name = :full WHERE id = :cid"), params)
    conn.execute(sa.text("UPDATE customers SET first_name = NULL, last_name = NULL"))
