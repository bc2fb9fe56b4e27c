"""Lease-based leader election against the fake API server: acquire, renew, expire, race, hand over."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from clocks import FakeClock
from fakekube import FakeKube

from bot.digest.leader import LeaderElector, LeaseSettings, lease_namespace

NS = "seldon-chatops"
START = datetime(2026, 11, 27, 8, 59, tzinfo=UTC)
SETTINGS = LeaseSettings(namespace=NS)


class Replica:
    def __init__(self, kube: FakeKube, name: str, clock: FakeClock) -> None:
        self.events: list[str] = []
        self.clock = clock
        self.elector = LeaderElector(
            kube.api_client(),
            name,
            SETTINGS,
            on_started_leading=lambda: self.events.append("started"),
            on_stopped_leading=lambda: self.events.append("stopped"),
            clock=clock,
        )

    def step(self) -> bool:
        return self.elector.step()


@pytest.fixture
def kube() -> Iterator[FakeKube]:
    with FakeKube() as fake:
        fake.seed([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}])
        yield fake


def lease(kube: FakeKube) -> dict:
    found = kube.get_object("coordination.k8s.io/v1", "Lease", NS, "seldon-chatops-digest")
    assert found is not None
    return found["spec"]


def test_first_replica_acquires_then_renews(kube: FakeKube) -> None:
    a = Replica(kube, "replica-a", FakeClock(START))
    assert a.step() and a.events == ["started"]
    first = lease(kube)
    assert (first["holderIdentity"], first["leaseDurationSeconds"], first["leaseTransitions"]) == ("replica-a", 15, 0)
    a.clock.advance(timedelta(seconds=2))
    assert a.step() and a.events == ["started"]  # renewing does not start again
    renewed = lease(kube)
    assert renewed["renewTime"] > first["renewTime"] and renewed["acquireTime"] == first["acquireTime"]


def test_a_follower_waits_while_the_leader_renews(kube: FakeKube) -> None:
    clock = FakeClock(START)
    a, b = Replica(kube, "replica-a", clock), Replica(kube, "replica-b", clock)
    assert a.step()
    for _ in range(20):  # 40 s: far more than a lease duration, but renewed every 2 s
        clock.advance(timedelta(seconds=2))
        assert a.step() and not b.step()
    assert b.events == [] and b.elector.holder == "replica-a"


def test_a_dead_leader_is_replaced_after_one_lease_duration_seen_by_the_follower(kube: FakeKube) -> None:
    clock = FakeClock(START)
    a, b = Replica(kube, "replica-a", clock), Replica(kube, "replica-b", clock)
    assert a.step() and not b.step()  # b sees the record now
    clock.advance(timedelta(seconds=14))  # a died: no more renewals
    assert not b.step()
    clock.advance(timedelta(seconds=1))
    assert b.step() and b.events == ["started"]
    spec = lease(kube)
    assert (spec["holderIdentity"], spec["leaseTransitions"]) == ("replica-b", 1)


def test_a_skewed_follower_clock_cannot_cut_the_lease_short(kube: FakeKube) -> None:
    a = Replica(kube, "replica-a", FakeClock(START))
    b = Replica(kube, "replica-b", FakeClock(START + timedelta(hours=1)))  # renewTime looks an hour old to b
    assert a.step()
    assert not b.step()  # b measures from when it first saw the record, on its own clock
    b.clock.advance(timedelta(seconds=10))
    assert not b.step()


def test_of_two_followers_racing_for_an_expired_lease_exactly_one_wins(kube: FakeKube) -> None:
    clock = FakeClock(START)
    a, b, c = (Replica(kube, f"replica-{n}", clock) for n in "abc")
    assert a.step() and not b.step() and not c.step()
    clock.advance(timedelta(seconds=16))
    stale = c.elector._read()  # c read the expired Lease just before b wrote it
    assert b.step()
    c.elector._read = lambda: stale  # type: ignore[method-assign]
    assert not c.step()  # its PUT carries the old resourceVersion: 409
    assert lease(kube)["holderIdentity"] == "replica-b" and c.events == []


def test_release_hands_over_at_once(kube: FakeKube) -> None:
    clock = FakeClock(START)
    a, b = Replica(kube, "replica-a", clock), Replica(kube, "replica-b", clock)
    assert a.step() and not b.step()
    a.elector.release()
    assert a.events == ["started", "stopped"] and not a.elector.leading
    assert lease(kube).get("holderIdentity") is None
    clock.advance(timedelta(seconds=1))
    assert b.step()  # no need to wait out the lease


def test_a_leader_that_cannot_renew_steps_down_before_the_lease_expires(kube: FakeKube) -> None:
    clock = FakeClock(START)
    a = Replica(kube, "replica-a", clock)
    assert a.step()
    kube.add_fault("/leases/", status=500)
    clock.advance(timedelta(seconds=8))
    assert a.step()  # within the renew deadline: still leading
    clock.advance(timedelta(seconds=2))
    assert not a.step() and a.events == ["started", "stopped"]  # 10 s without renewal < 15 s lease


def test_a_leader_that_sees_another_holder_steps_down_at_once(kube: FakeKube) -> None:
    clock = FakeClock(START)
    a = Replica(kube, "replica-a", clock)
    assert a.step()
    kube.store.patch(
        kube.registry.resolve("leases"),
        NS,
        "seldon-chatops-digest",
        lambda obj: {**obj, "spec": {**obj["spec"], "holderIdentity": "replica-z"}},
    )
    clock.advance(timedelta(seconds=2))
    assert not a.step() and a.events == ["started", "stopped"]


def test_lease_namespace_comes_from_the_environment() -> None:
    assert lease_namespace({"SELDON_CHATOPS_LEASE_NAMESPACE": "bots", "POD_NAMESPACE": "x"}) == "bots"
    assert lease_namespace({"POD_NAMESPACE": "x"}) == "x"
    with pytest.raises(ValueError, match="retry_period < renew_deadline < duration"):
        LeaseSettings(namespace="x", renew_deadline=timedelta(seconds=20))
