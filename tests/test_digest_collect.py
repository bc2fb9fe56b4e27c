"""Batch collection for a digest round: requests do not grow with tenants, logs only where checks need them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from digest_support import seed_tenants
from fakekube import FakeKube

from bot.digest.collect import BatchCollector
from bot.playbooks import load_playbook
from bot.snapshot import ALL_KINDS, OPERATOR_KINDS, TENANT_KINDS

LISTS = len(TENANT_KINDS) + len(OPERATOR_KINDS) + 1  # + one LIST of namespaces


@pytest.fixture(scope="module")
def kube() -> Iterator[FakeKube]:
    with FakeKube() as fake:
        seed_tenants(fake, "healthy", [f"team-{i:02d}" for i in range(12)])
        seed_tenants(fake, "zero-capacity", ["broken-a"])
        seed_tenants(fake, "netpol-blocked", ["broken-b"])
        yield fake


def collector(kube: FakeKube) -> BatchCollector:
    return BatchCollector(kube.api_client(), load_playbook("diagnose"))


def test_requests_are_one_list_per_kind_whatever_the_number_of_tenants(kube: FakeKube) -> None:
    for count in (3, 12):
        kube.reset_requests()
        reads = collector(kube).read([f"team-{i:02d}" for i in range(count)])
        assert kube.request_count() == LISTS
        assert kube.request_count(path_contains="/log") == 0  # healthy tenants: no logs read
        assert all(r.diagnosis is not None and r.diagnosis.healthy for r in reads.values())
        assert all(r.snapshot is not None and r.snapshot.logs == [] for r in reads.values())


def test_logs_are_read_only_for_tenants_in_trouble_and_give_the_same_diagnosis(kube: FakeKube) -> None:
    kube.reset_requests()
    reads = collector(kube).read(["team-00", "team-01", "broken-a", "broken-b"])
    log_paths = {r.path.split("/")[4] for r in kube.requests if r.path.endswith("/log")}
    assert log_paths == {"broken-a", "broken-b"}
    broken_b = reads["broken-b"].diagnosis
    assert broken_b is not None
    assert [f.code for f in broken_b.findings] == ["networkpolicy.blocks-path", "agent.scheduler-unreachable"]
    # The scheduler-unreachable finding needs the agent's logs: the same as an interactive diagnosis.


def test_a_kind_forbidden_cluster_wide_falls_back_to_one_list_per_tenant(kube: FakeKube) -> None:
    kube.deny("list", "events", namespace="kube-system")  # an RBAC deny anywhere denies the cluster-wide LIST
    try:
        kube.reset_requests()
        tenants = ["team-00", "team-01", "team-02"]
        reads = collector(kube).read(tenants)
        assert kube.request_count(path_contains="/events") == 1 + len(tenants)
        assert kube.request_count() == LISTS + len(tenants)
        assert all(r.diagnosis is not None and r.diagnosis.collection_errors == [] for r in reads.values())
    finally:
        kube.allow_all()


def test_per_namespace_rbac_only_works_and_is_learnt_once(kube: FakeKube) -> None:
    """The multi-tenant overlay's RBAC: RoleBindings per tenant, nothing cluster-wide, `get` on namespaces."""
    for kind in TENANT_KINDS:
        api_version = ALL_KINDS[kind][0]
        group = api_version.split("/")[0] if "/" in api_version else ""
        kube.deny("list", kind, group=group, namespace="kube-system")
    kube.deny("list", "namespaces")
    try:
        tenants = ["team-00", "team-01", "broken-a"]
        batch = collector(kube)
        kube.reset_requests()
        reads = batch.read(tenants)
        forbidden = [r for r in kube.requests if r.status == 403]
        assert len(forbidden) == len(TENANT_KINDS) + 1  # each cluster-wide LIST tried once, and the namespaces
        assert all(r.diagnosis is not None and r.diagnosis.collection_errors == [] for r in reads.values())
        assert [f.code for f in reads["broken-a"].diagnosis.findings] == ["capacity.memory-request-missing"]
        kube.reset_requests()
        batch.read(tenants)  # the next round does not ask again
        assert [r for r in kube.requests if r.status == 403] == []
        per_tenant = len(TENANT_KINDS) * len(tenants) + len(OPERATOR_KINDS) + len(tenants) + 1  # + GET namespaces
        assert kube.request_count() - kube.request_count(path_contains="/log") == per_tenant
        assert batch.namespaced_only == {*TENANT_KINDS, "namespaces"}
    finally:
        kube.allow_all()


def test_a_missing_namespace_is_an_error_for_that_tenant_only(kube: FakeKube) -> None:
    reads = collector(kube).read(["team-00", "gone-ml", "team-01"])
    assert reads["gone-ml"].error == "namespace 'gone-ml' does not exist"
    assert reads["team-00"].diagnosis is not None and reads["team-01"].diagnosis is not None


def test_one_or_two_tenants_use_namespaced_lists(kube: FakeKube) -> None:
    kube.reset_requests()
    collector(kube).read(["team-00"])
    scoped = ("/namespaces/team-00/", "/namespaces/seldon-mesh/")
    assert all(any(s in r.path for s in scoped) or r.path == "/api/v1/namespaces" for r in kube.requests)
