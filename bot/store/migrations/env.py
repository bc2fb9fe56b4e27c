"""Alembic environment: runs on the connection `bot.store.db.upgrade` passes in (inside its transaction).

To write a new revision from a checkout:
`python -c "from alembic import command; from bot.store.db import alembic_config as c; command.revision(c(), 'msg')"`
and write the upgrade by hand (compare with `bot/store/schema.py`; `tests/store` checks they agree).
"""

from __future__ import annotations

from alembic import context

from bot.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through bot.store.db.upgrade (it passes the connection)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
