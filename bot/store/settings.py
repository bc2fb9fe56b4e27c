"""Which database: one URL, from `SELDON_CHATOPS_DATABASE_URL` or a SQLite file in the state directory.

SQLite is the default because a single bot needs nothing else; PostgreSQL (psycopg 3) is for several
replicas, which must share approvals and the audit chain.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from bot.store.errors import DatabaseUrlError

URL_ENV = "SELDON_CHATOPS_DATABASE_URL"
STATE_DIR_ENV = "SELDON_CHATOPS_STATE_DIR"
DEFAULT_STATE_DIR = "~/.local/state/seldon-chatops"
DB_FILENAME = "seldon-chatops.db"

_DRIVERS = {
    "sqlite": "sqlite",
    "sqlite+pysqlite": "sqlite",
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
}


class StoreSettings(BaseModel):
    """The resolved setting; `explicit` says whether the user chose the URL (the default is created silently)."""

    database_url: str
    explicit: bool

    @classmethod
    def from_env(cls, env: Mapping[str, str], override: str | None = None) -> StoreSettings:
        """`override` (a `--database-url` flag) wins over the environment, which wins over the default."""
        if override:
            return cls(database_url=override, explicit=True)
        if env.get(URL_ENV):
            return cls(database_url=env[URL_ENV], explicit=True)
        state_dir = Path(env.get(STATE_DIR_ENV) or DEFAULT_STATE_DIR).expanduser()
        return cls(database_url=f"sqlite:///{state_dir / DB_FILENAME}", explicit=False)


def parse_url(raw: str) -> URL:
    """Parse and normalise: plain `postgresql://` means psycopg 3 (psycopg2 is not a dependency)."""
    try:
        url = make_url(raw)
    except ArgumentError as exc:
        raise DatabaseUrlError(f"invalid database URL {raw!r}: {exc}") from exc
    driver = _DRIVERS.get(url.drivername)
    if driver is None:
        raise DatabaseUrlError(
            f"unsupported database URL scheme {url.drivername!r}: use sqlite:///PATH or postgresql+psycopg://..."
        )
    url = url.set(drivername=driver)
    if driver == "sqlite" and url.database in (None, "", ":memory:"):
        raise DatabaseUrlError("SQLite needs a file (sqlite:///PATH): an in-memory database is lost at exit")
    return url


def describe(url: URL) -> str:
    """The URL for messages, with the password hidden."""
    return url.render_as_string(hide_password=True)
