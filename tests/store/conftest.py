"""Store fixtures: every store test runs on SQLite (a temporary file) and on PostgreSQL.

PostgreSQL needs SELDON_CHATOPS_TEST_POSTGRES_URL (`.ci/run` starts a server and sets it). Without it
the PostgreSQL cases are skipped on a developer's machine, and fail under CI (CI set): CI must prove
both backends. Each PostgreSQL test gets its own schema (search_path in the URL), dropped after it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from clocks import FakeClock
from pg_scratch import scratch_schema

from bot.store import Store
from bot.store.clock import system_clock
from bot.store.settings import parse_url

PG_ENV = "SELDON_CHATOPS_TEST_POSTGRES_URL"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[sa.Engine]:
    raw = os.environ.get(PG_ENV)
    if not raw:
        if in_ci():
            pytest.fail(f"{PG_ENV} is not set: under CI the store tests must run on PostgreSQL (.ci/run starts one)")
        pytest.skip(f"PostgreSQL store tests need {PG_ENV}=postgresql+psycopg://USER@127.0.0.1:PORT/DB")
    engine = sa.create_engine(parse_url(raw), isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, empty database URL on the backend of the parameter."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('store') / 'seldon-chatops.db'}"
        return
    with scratch_schema(request.getfixturevalue("pg_admin")) as url:
        yield url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(system_clock().replace(microsecond=123456))


@pytest.fixture
def store(store_url: str, clock: FakeClock) -> Iterator[Store]:
    with Store.open(store_url, env={}, clock=clock) as opened:
        yield opened
