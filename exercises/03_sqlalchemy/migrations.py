"""Migrations: a schema revision and a separate data revision, each with a working downgrade.

The Alembic project is provided (checkers/03_sqlalchemy/migrations/project: async env.py, and revision 0001
creating `customers(id integer primary key, full_name varchar(200) NOT NULL)`). Its revisions 0002 and 0003
call the four functions of this file, with `op` bound to the migration's connection.

Revision 0002, schema only (no data moves here):
- `upgrade_schema`: add `first_name` and `last_name`, both VARCHAR(100) NULL; make `full_name` nullable (new
  code writes first and last names only); create the index `ix_customers_last_name_first_name` on
  (last_name, first_name).
- `downgrade_schema`: back to exactly the 0001 schema: no index, no new columns, `full_name` NOT NULL.
Revision 0003, data only (no schema change here):
- `upgrade_data`: for every customer, `first_name` = `full_name` up to its first space, `last_name` = the rest
  after that space, NULL when the full name is a single word ("Grace Brewster Hopper" -> "Grace",
  "Brewster Hopper"; "Cher" -> "Cher", NULL). `full_name` is left as it is. Full names are trimmed and
  single-spaced; they may hold quotes and any unicode.
- `downgrade_data`: back to what revision 0002 expects: after the upgrade first and last names are the truth
  (customers created or renamed since have up-to-date first/last names and maybe no full_name), so for every
  row with a first_name, `full_name` = first_name, a space and last_name (first_name alone when last_name is
  NULL); then `first_name` and `last_name` are NULL on every row.
The checker runs upgrade head, downgrade to each revision and to base, and upgrade again, each on a fresh
schema of its own, and inspects the columns, the index and every row after each step.

Read: notebooks/03_sqlalchemy/06_migrations.ipynb, "Schema and data revisions".
Check: course check sqlalchemy/migrations
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

INDEX = "ix_customers_last_name_first_name"


def upgrade_schema() -> None:
    # TODO: your code here
    raise NotImplementedError


def downgrade_schema() -> None:
    # TODO: your code here
    raise NotImplementedError


def upgrade_data() -> None:
    # TODO: your code here
    raise NotImplementedError


def downgrade_data() -> None:
    # TODO: your code here
    raise NotImplementedError
