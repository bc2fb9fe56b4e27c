"""Engine, transactions and migrations: the only module that knows SQLite from PostgreSQL.

SQLite: WAL (readers never block the writer), foreign keys on, a busy timeout so a waiting writer
waits instead of failing, and SQLAlchemy emits BEGIN itself so that write transactions can be
`BEGIN IMMEDIATE`: the write lock is taken at the start, never upgraded mid-transaction (an upgrade
fails with "database is locked" at once, whatever the timeout). PostgreSQL: READ COMMITTED, where a
conditional UPDATE waits for a concurrent one and re-checks its WHERE clause, and explicit row locks.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from bot.store.errors import DatabaseUnavailable
from bot.store.settings import describe

SQLITE_BUSY_TIMEOUT_MS = 30_000
_WRITE = "seldon_chatops_write"
MIGRATION_LOCK_KEY = 0x5E1D0C4A7  # pg_advisory_xact_lock key: one migrator at a time across replicas


def create_engine(url: URL, *, create: bool = True) -> Engine:
    """An engine with the backend's settings. `create=False` refuses a missing SQLite file (a typo'd path)."""
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "")
        if not path.exists():
            if not create:
                raise DatabaseUnavailable(f"no database at {path}: nothing has been recorded there")
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        sa.event.listen(engine, "connect", _sqlite_connect)
        sa.event.listen(engine, "begin", _sqlite_begin)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=16)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN (see _sqlite_begin), not the driver
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=FULL")  # the system of record: a committed event survives power loss
    finally:
        cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write: on SQLite it holds the database's write lock from its first statement."""
    with engine.connect() as conn:
        conn.execution_options(**{_WRITE: True})
        with conn.begin():
            yield conn


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A consistent read: one snapshot on both backends (deferred BEGIN on SQLite)."""
    with engine.connect() as conn, conn.begin():
        yield conn


def is_postgres(conn: Connection | Engine) -> bool:
    return conn.dialect.name == "postgresql"


def alembic_config() -> Config:
    """Alembic's configuration without an ini file: the scripts ship inside the package."""
    config = Config()
    config.set_main_option("script_location", str(files("bot.store") / "migrations"))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate in one transaction, serialised between processes (BEGIN IMMEDIATE / advisory lock).

    Two replicas starting together: the second waits, then finds the schema at head and does nothing.
    """
    try:
        with write_transaction(engine) as conn:
            if is_postgres(conn):
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            config = alembic_config()
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    except SQLAlchemyError as exc:
        reason = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc  # the driver's words
        raise DatabaseUnavailable(f"cannot open or migrate {describe(engine.url)}: {reason}") from exc
    except CommandError as exc:  # e.g. the database is at a revision this version does not know (a newer bot)
        raise DatabaseUnavailable(f"cannot migrate {describe(engine.url)}: {exc}") from exc
