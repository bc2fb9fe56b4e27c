"""Alembic migrations of the store, shipped in the package and run by `Store.open` (upgrade to head)."""
