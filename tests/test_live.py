"""Live diagnosis through the real `kubernetes` client against the fake API server (tests/fakekube).

The same tests run against a real cluster: see test_real_cluster.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fakekube import FakeKube

from bot.cli import main
from bot.cluster.bundle import load_bundle
from bot.cluster.collector import Collector, Limits
from bot.diagnosis.engine import diagnose
from bot.diagnosis.models import Diagnosis
from bot.playbooks import load_playbook

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = {
    "healthy": "retail-ml",
    "zero-capacity": "financial-ml",
    "netpol-blocked": "risk-ml",
    "inference-host-pod-ip": "fraud-ml",
    "no-runtime": "marketing-ml",
}
FAST = Limits(timeout=2.0, retries=2, backoff=0.01)


@pytest.fixture
def kube() -> Iterator[FakeKube]:
    with FakeKube() as fake:
        yield fake


def seeded(kube: FakeKube, example: str, tmp_path: Path) -> Path:
    kube.seed_bundle(ROOT / "examples" / example)
    return kube.write_kubeconfig(tmp_path / "kubeconfig")


def collect(kube: FakeKube, namespace: str, limits: Limits = FAST) -> Collector:
    return Collector(kube.api_client(), limits=limits, sleep=lambda _: None).collect(namespace)


def verdict(diag: Diagnosis) -> dict[str, object]:
    """What a user acts on: findings and their rank, proposals, matrix verdicts, check statuses."""
    return {
        "findings": [(f.id, f.rank, f.root_cause, f.severity, f.explains) for f in diag.findings],
        "proposals": [(p.id, p.action, p.target, p.patch, p.manifest) for p in diag.proposals],
        "matrix": [(r.id, r.verdict) for r in diag.connectivity],
        "checks": [(c.id, c.status) for c in diag.checks],
    }


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_live_diagnosis_matches_the_bundle(kube: FakeKube, tmp_path: Path, example: str) -> None:
    seeded(kube, example, tmp_path)
    playbook = load_playbook("diagnose")
    live = diagnose(collect(kube, EXAMPLES[example]), playbook)
    offline = diagnose(load_bundle(ROOT / "examples" / example), playbook)
    assert verdict(live) == verdict(offline)


def test_cli_diagnoses_live_by_default(kube: FakeKube, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kubeconfig = seeded(kube, "zero-capacity", tmp_path)
    assert main(["diagnose", "financial-ml", "--kubeconfig", str(kubeconfig), "--output", "json"]) == 1
    diag = json.loads(capsys.readouterr().out)
    assert diag["findings"][0]["code"] == "capacity.memory-request-missing"
    assert diag["source"].startswith("live:")


def test_one_list_per_kind_and_logs_only_where_needed(kube: FakeKube, tmp_path: Path) -> None:
    seeded(kube, "zero-capacity", tmp_path)
    collect(kube, "financial-ml")
    lists = [r for r in kube.requests if not r.path.endswith("/log")]
    paths = [r.path for r in lists]
    assert len(paths) == len(set(paths)), "each kind is read once"
    assert all(r.method == "GET" for r in kube.requests)
    assert not any("/secrets" in p for p in paths), "Secrets are never read"
    logs = {(r.path.split("/")[-2], r.query.get("container")) for r in kube.requests if r.path.endswith("/log")}
    # Healthy pods: only the agent (capacity lines) and the scheduler; rclone/mlserver only when they fail.
    assert logs == {("seldon-scheduler-0", "scheduler"), ("mlserver-0", "agent"), ("mlserver-1", "agent")}
    assert all(
        r.query.get("tailLines") == "500" and r.query.get("limitBytes")
        for r in kube.requests
        if r.path.endswith("/log")
    )


def test_previous_logs_are_read_for_restarted_containers(kube: FakeKube, tmp_path: Path) -> None:
    seeded(kube, "inference-host-pod-ip", tmp_path)
    snapshot = collect(kube, "fraud-ml")
    previous = {(lg.pod, lg.container) for lg in snapshot.logs if lg.previous}
    assert previous == {("mlserver-0", "agent"), ("mlserver-1", "agent")}


def test_permission_denied_on_one_kind_is_reported_not_fatal(
    kube: FakeKube, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kubeconfig = seeded(kube, "netpol-blocked", tmp_path)
    kube.deny("list", "networkpolicies", group="networking.k8s.io", namespace="risk-ml")
    code = main(["diagnose", "risk-ml", "--kubeconfig", str(kubeconfig), "--output", "json"])
    diag = json.loads(capsys.readouterr().out)
    assert code == 1
    [problem] = diag["collection_errors"]
    assert problem["kind"] == "networkpolicies"
    assert problem["missing_permission"] == "list networkpolicies.networking.k8s.io in namespace risk-ml"
    row = next(r for r in diag["connectivity"] if r["id"] == "agent-scheduler/mlserver")
    assert row["verdict"] == "blocked"  # the agents' logs still show it
    assert any("could not be read" in e["summary"] for e in row["evidence"])


def test_forbidden_crd_makes_its_checks_error_with_the_permission(kube: FakeKube, tmp_path: Path) -> None:
    seeded(kube, "zero-capacity", tmp_path)
    kube.deny("list", "servers", group="mlops.seldon.io", namespace="financial-ml")
    diag = diagnose(collect(kube, "financial-ml"), load_playbook("diagnose"))
    result = next(c for c in diag.checks if c.id == "capacity.memory-request")
    assert result.status == "error"
    assert "list servers.mlops.seldon.io in namespace financial-ml" in result.summary


def test_api_down_is_a_clear_error_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeKube() as fake:
        kubeconfig = seeded(fake, "healthy", tmp_path)
    # The server is stopped: nothing listens on its port any more.
    assert main(["diagnose", "retail-ml", "--kubeconfig", str(kubeconfig)]) == 2
    assert "cannot use the Kubernetes API" in capsys.readouterr().err


def test_unknown_tenant_and_bad_names_never_reach_the_api(
    kube: FakeKube, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kubeconfig = seeded(kube, "healthy", tmp_path)
    assert main(["diagnose", "Retail_ML", "--kubeconfig", str(kubeconfig)]) == 2
    assert kube.request_count() == 0
    assert main(["diagnose", "nobody-ml", "--kubeconfig", str(kubeconfig)]) == 2
    assert "namespace 'nobody-ml' does not exist" in capsys.readouterr().err
    assert kube.request_count() == 1


def test_slow_kind_times_out_alone(kube: FakeKube, tmp_path: Path) -> None:
    seeded(kube, "healthy", tmp_path)
    kube.add_fault(r"/events$", latency=1.5)
    snapshot = collect(kube, "retail-ml", Limits(timeout=0.5, retries=0))
    assert set(snapshot.errors) == {"events"}
    assert "timed out" in snapshot.errors["events"].message.lower()
    assert snapshot.of("pods"), "the other kinds were collected"


def test_throttling_and_server_errors_are_retried_then_reported(kube: FakeKube, tmp_path: Path) -> None:
    seeded(kube, "healthy", tmp_path)
    kube.add_fault(r"/pods$", status=429, times=2)
    kube.add_fault(r"/services$", status=500)
    kube.add_fault(r"/limitranges$", status=404)
    snapshot = collect(kube, "retail-ml")
    assert snapshot.of("pods") and "pods" not in snapshot.errors
    assert (
        kube.request_count(path_contains="/namespaces/retail-ml/pods") - kube.request_count(path_contains="/log") == 3
    )  # two 429s, then success
    assert snapshot.errors["services"].code == 500
    assert kube.request_count(path_contains="/services") == 1 + FAST.retries
    # 404 is not retried
    assert kube.request_count(path_contains="/limitranges") == 1
    assert snapshot.errors["limitranges"].code == 404


def test_bundle_round_trip_is_lossless(kube: FakeKube, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = ROOT / "examples" / "inference-host-pod-ip"
    kubeconfig = seeded(kube, "inference-host-pod-ip", tmp_path)
    out = tmp_path / "bundle"
    assert main(["bundle", "fraud-ml", "--kubeconfig", str(kubeconfig), "-o", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    for file in sorted((source / "objects").glob("*.yaml")):
        assert yaml.safe_load((out / "objects" / file.name).read_text()) == yaml.safe_load(file.read_text()), file.name
    original, again = load_bundle(source), load_bundle(out)
    assert sorted((lg.pod, lg.container, lg.previous, tuple(lg.lines)) for lg in again.logs) == sorted(
        (lg.pod, lg.container, lg.previous, tuple(lg.lines)) for lg in original.logs
    )
    playbook = load_playbook("diagnose")
    assert verdict(diagnose(again, playbook)) == verdict(diagnose(original, playbook))


def test_bundle_refuses_a_non_empty_directory(
    kube: FakeKube, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kubeconfig = seeded(kube, "healthy", tmp_path)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("x")
    assert main(["bundle", "retail-ml", "--kubeconfig", str(kubeconfig), "-o", str(tmp_path / "full")]) == 2
    assert "not empty" in capsys.readouterr().err
    assert (tmp_path / "full" / "keep.txt").read_text() == "x"
