"""Two bot replicas, one fake Kubernetes API (the Lease), one fake Slack, one store: one post per tenant per slot.

Replica A leads and starts the 09:00 round, posts three digests, claims the fourth and hangs in Slack.
It stops renewing the Lease; B takes over after a lease duration and its sweep finishes the slot,
leaving the tenant A claimed alone. Then either A wakes up and posts it (it held the claim), or A
died and B takes the claim over after the store's 10-minute lease. Either way every tenant gets
exactly one digest for the slot. Runs on SQLite, and on PostgreSQL when
SELDON_CHATOPS_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import apscheduler.schedulers.base
import pytest
import sqlalchemy as sa
from digest_support import (
    LEASE_NAMESPACE,
    FakeClock,
    Replica,
    apscheduler_clock,
    lease_namespace_object,
    seed_tenants,
)
from fakekube import FakeKube
from fakeslack import FakeSlack
from pg_scratch import scratch_schema

from bot.digest.leader import LEASE_NAME
from bot.digest.runtime import start_digests
from bot.errors import InputError
from bot.settings import BotConfig, Tenant
from bot.store.settings import parse_url

NINE = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
TENANTS = [f"team-{i}" for i in range(6)]
CHANNELS = {t: f"C0TEAM{i}001" for i, t in enumerate(TENANTS)}
CONFIG = BotConfig(tenants=[Tenant(namespace=t, channel=CHANNELS[t], digest={"cron": "0 9 * * 1-5"}) for t in TENANTS])
PG_ENV = "SELDON_CHATOPS_TEST_POSTGRES_URL"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bot.db'}"
        return
    raw = os.environ.get(PG_ENV)
    if not raw:
        pytest.skip(f"set {PG_ENV} to run the two-replica test on PostgreSQL too")
    admin = sa.create_engine(parse_url(raw), isolation_level="AUTOCOMMIT")
    try:
        with scratch_schema(admin) as url:
            yield url
    finally:
        admin.dispose()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock(NINE - timedelta(seconds=10))  # Friday 08:59:50
    monkeypatch.setattr(apscheduler.schedulers.base, "datetime", apscheduler_clock(fake))
    return fake


@pytest.fixture
def world() -> Iterator[tuple[FakeKube, FakeSlack]]:
    with FakeKube() as kube, FakeSlack() as slack:
        kube.seed([lease_namespace_object()])
        seed_tenants(kube, "healthy", TENANTS)
        for tenant, channel in CHANNELS.items():
            slack.add_channel(channel, tenant)
        yield kube, slack


class HangingSlack:
    """A's Slack client: the fourth post hangs until released, then goes through (or fails: A died)."""

    def __init__(self, client: Any, *, after: int) -> None:
        self._client, self._after, self.posts = client, after, 0
        self.hanging, self.release = threading.Event(), threading.Event()
        self.dead = False

    def chat_postMessage(self, **kwargs: Any) -> Any:
        if self.posts == self._after:
            self.hanging.set()
            assert self.release.wait(20)
        if self.dead:
            raise ConnectionResetError("replica A died")
        self.posts += 1
        return self._client.chat_postMessage(**kwargs)


def posts_per_tenant(slack: FakeSlack) -> dict[str, int]:
    return {t: len(slack.messages(c)) for t, c in CHANNELS.items()}


def start_slot_then_hang(
    world: tuple[FakeKube, FakeSlack], store_url: str, clock: FakeClock
) -> tuple[Replica, Replica, HangingSlack]:
    kube, slack = world
    a = Replica(kube=kube, slack=slack, store_url=store_url, clock=clock, replica_id="replica-a", config=CONFIG)
    b = Replica(kube=kube, slack=slack, store_url=store_url, clock=clock, replica_id="replica-b", config=CONFIG)
    hanging = HangingSlack(a.runtime.runner.client, after=3)
    a.runtime.runner.client = hanging  # type: ignore[assignment]
    assert a.runtime.step() and not b.runtime.step()
    clock.set(NINE)
    assert a.runtime.step()  # A renews at 09:00 and fires the slot...
    a.runtime.wakeup()
    assert hanging.hanging.wait(20)  # ...posts three digests, claims the fourth and hangs
    clock.advance(timedelta(seconds=1))
    assert not b.runtime.step()  # B sees A's fresh renewal
    assert sum(posts_per_tenant(slack).values()) == 3
    clock.advance(timedelta(seconds=15))  # A stopped renewing: B takes over mid-slot
    assert b.runtime.step()
    assert b.runtime.rounds.wait_idle(20)
    return a, b, hanging


def test_leader_change_mid_slot_posts_each_tenant_exactly_once(
    world: tuple[FakeKube, FakeSlack], store_url: str, clock: FakeClock
) -> None:
    _, slack = world
    a, b, hanging = start_slot_then_hang(world, store_url, clock)
    try:
        counts = posts_per_tenant(slack)
        assert sorted(counts.values()) == [0, 1, 1, 1, 1, 1]  # B finished the slot but for A's claimed tenant
        hanging.release.set()  # A wakes up: it still holds the claim, and posts that one
        assert a.runtime.rounds.wait_idle(20)
        assert not a.runtime.step()  # and steps down: B holds the Lease
        for _ in range(3):  # more sweeps and wake-ups on the new leader change nothing
            clock.advance(timedelta(minutes=5))
            assert b.runtime.step()
            b.runtime.sweep()
            b.runtime.wakeup()
        assert b.runtime.rounds.wait_idle(20)
        assert posts_per_tenant(slack) == dict.fromkeys(TENANTS, 1)
        runs = [b.store.digests.get(t, NINE) for t in TENANTS]
        assert all(r is not None and r.posted_at is not None for r in runs)
        by = sorted(r.replica_id for r in runs if r is not None)
        assert by == ["replica-a"] * 4 + ["replica-b"] * 2
    finally:
        hanging.release.set()
        a.close()
        b.close()


def test_a_slot_claimed_by_a_dead_leader_is_taken_over_after_the_claim_lease(
    world: tuple[FakeKube, FakeSlack], store_url: str, clock: FakeClock
) -> None:
    _, slack = world
    a, b, hanging = start_slot_then_hang(world, store_url, clock)
    try:
        hanging.dead = True  # A dies in the middle of its post: the claim is left unposted
        hanging.release.set()
        assert a.runtime.rounds.wait_idle(20)
        orphan = next(t for t, n in posts_per_tenant(slack).items() if n == 0)
        clock.advance(timedelta(minutes=5))
        assert b.runtime.step() and b.runtime.sweep() == []  # the claim is younger than its 10-minute lease
        clock.advance(timedelta(minutes=6))
        assert b.runtime.step()
        assert [d.tenant for d in b.runtime.sweep()] == [orphan]  # within the 30-minute grace time
        assert b.runtime.rounds.wait_idle(20)
        assert posts_per_tenant(slack) == dict.fromkeys(TENANTS, 1)
        run = b.store.digests.get(orphan, NINE)
        assert run is not None and run.replica_id == "replica-b"
        assert run.posted_at == NINE + timedelta(minutes=11, seconds=16)
    finally:
        hanging.release.set()
        a.close()
        b.close()


def test_next_slot_after_the_leader_change_is_posted_once_by_the_new_leader(
    world: tuple[FakeKube, FakeSlack], store_url: str, clock: FakeClock
) -> None:
    _, slack = world
    a, b, hanging = start_slot_then_hang(world, store_url, clock)
    try:
        hanging.release.set()
        assert a.runtime.rounds.wait_idle(20)
        assert not a.runtime.step()
        clock.set(NINE + timedelta(days=3, seconds=1))  # Monday 09:00 (Saturday and Sunday are not in 1-5)
        assert b.runtime.step()
        b.runtime.wakeup()
        slack.wait_for(lambda: sum(posts_per_tenant(slack).values()) == 12, timeout=20)
        assert b.runtime.rounds.wait_idle(20)
        assert posts_per_tenant(slack) == dict.fromkeys(TENANTS, 2)
        assert all(b.store.digests.get(t, NINE + timedelta(days=1)) is None for t in TENANTS)  # Saturday
    finally:
        hanging.release.set()
        a.close()
        b.close()


def test_start_digests_elects_in_the_background_and_stop_hands_the_lease_over(
    world: tuple[FakeKube, FakeSlack], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kube, slack = world
    monkeypatch.setenv("SELDON_CHATOPS_LEASE_NAMESPACE", LEASE_NAMESPACE)
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    bot = Replica(kube=kube, slack=slack, store_url=url, clock=FakeClock(NINE), replica_id="replica-a", config=CONFIG)
    try:
        runtime = start_digests(bot.services, slack.client(), kube.api_client(), replica_id="pod-a")
        slack.wait_for(lambda: runtime.leading, timeout=5)
        lease = kube.get_object("coordination.k8s.io/v1", "Lease", LEASE_NAMESPACE, LEASE_NAME)
        assert lease is not None and lease["spec"]["holderIdentity"] == "pod-a"
        runtime.stop()
        assert not runtime.leading
        lease = kube.get_object("coordination.k8s.io/v1", "Lease", LEASE_NAMESPACE, LEASE_NAME)
        assert lease is not None and lease["spec"].get("holderIdentity") is None
        bad = BotConfig(tenants=[Tenant(namespace="x", channel="C0X0000001", digest={"cron": "* *"})])
        bot.services.config = bad
        with pytest.raises(InputError, match=r"tenants\[x\]\.digest"):
            start_digests(bot.services, slack.client(), kube.api_client(), replica_id="pod-a")
    finally:
        bot.close()
