"""URL setting, engine settings and migrations."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bot.store import DatabaseUnavailable, DatabaseUrlError, Store
from bot.store.db import current_revision, head_revision
from bot.store.schema import metadata
from bot.store.settings import StoreSettings, parse_url


def test_default_url_is_a_sqlite_file_in_the_state_dir(tmp_path: Path) -> None:
    settings = StoreSettings.from_env({"SELDON_CHATOPS_STATE_DIR": str(tmp_path / "state")})
    assert settings == StoreSettings(database_url=f"sqlite:///{tmp_path}/state/seldon-chatops.db", explicit=False)
    home = StoreSettings.from_env({}).database_url
    assert home == f"sqlite:///{Path.home()}/.local/state/seldon-chatops/seldon-chatops.db"


def test_url_setting_precedence() -> None:
    env = {"SELDON_CHATOPS_DATABASE_URL": "postgresql+psycopg://u@h/db", "SELDON_CHATOPS_STATE_DIR": "/x"}
    assert StoreSettings.from_env(env).database_url == "postgresql+psycopg://u@h/db"
    assert StoreSettings.from_env(env, override="sqlite:////y.db").database_url == "sqlite:////y.db"


def test_url_normalisation_and_refusals() -> None:
    assert parse_url("postgresql://u:secret@h:5432/db").drivername == "postgresql+psycopg"
    assert parse_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    with pytest.raises(DatabaseUrlError, match="unsupported database URL scheme 'mysql'"):
        parse_url("mysql://u@h/db")
    with pytest.raises(DatabaseUrlError, match="invalid database URL"):
        parse_url("not a url")
    with pytest.raises(DatabaseUrlError, match="SQLite needs a file"):
        parse_url("sqlite://")


def test_open_creates_the_state_dir_and_migrates_to_head(tmp_path: Path) -> None:
    env = {"SELDON_CHATOPS_STATE_DIR": str(tmp_path / "deep" / "state")}
    with Store.open(env=env) as store:
        assert current_revision(store.engine) == head_revision() == "0002"
        assert store.url == f"sqlite:///{tmp_path}/deep/state/seldon-chatops.db"
    with Store.open(env=env) as again:  # upgrading at head is a no-op
        assert current_revision(again.engine) == "0002"


def test_sqlite_runs_in_wal_with_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path}/s.db", env={}) as store, store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_migrations_create_exactly_the_schema_module(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert diff == []
    names = set(sa.inspect(store.engine).get_table_names())
    assert names == {
        "alembic_version",
        "audit_log",
        "audit_chain",
        "proposals",
        "digest_runs",
        "slack_messages",
        "digest_schedules",
        "digest_baselines",
    }


def test_missing_sqlite_file_is_refused_when_not_creating(tmp_path: Path) -> None:
    with pytest.raises(DatabaseUnavailable, match=r"no database at .*typo\.db"):
        Store.open(f"sqlite:///{tmp_path}/typo.db", env={}, create=False)
    assert not (tmp_path / "typo.db").exists()


def test_a_database_from_a_newer_version_is_refused(store_url: str) -> None:
    with Store.open(store_url, env={}) as store, store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(DatabaseUnavailable, match="9999"):
        Store.open(store_url, env={})


def test_unreachable_postgres_is_a_clear_error() -> None:
    with pytest.raises(
        DatabaseUnavailable, match=r"cannot open or migrate postgresql\+psycopg://u:\*\*\*@127.0.0.1:1/db"
    ):
        Store.open("postgresql://u:secret@127.0.0.1:1/db?connect_timeout=2", env={})
