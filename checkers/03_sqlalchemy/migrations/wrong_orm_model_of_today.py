# must fail: test_upgrade_to_head_gives_the_new_schema
"""The data migration imports the application's model of today, which maps a column a later release added (email): at revision 0003 that column does not exist yet, so the ORM query fails."""


from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

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
    class Base(DeclarativeBase):
        pass

    class Customer(Base):  # the model as the application defines it today
        __tablename__ = "customers"
        id: Mapped[int] = mapped_column(primary_key=True)
        full_name: Mapped[str | None] = mapped_column(sa.String(200))
        first_name: Mapped[str | None] = mapped_column(sa.String(100))
        last_name: Mapped[str | None] = mapped_column(sa.String(100))
        email: Mapped[str | None] = mapped_column(sa.String(255))

    session = Session(bind=op.get_bind())
    for customer in session.scalars(sa.select(Customer)):
        first, _, last = customer.full_name.partition(" ")
        customer.first_name, customer.last_name = first, last or None
    session.flush()


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
