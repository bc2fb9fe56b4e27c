"""Contract of the live collector, run against the fake API server and, when configured, a real cluster.

Real cluster (read-only; nothing is created or changed):

    KUBECONFIG=~/.kube/config SELDON_CHATOPS_TEST_NAMESPACE=<a Seldon tenant> python -m pytest -m cluster

Without both variables the `cluster` cases are skipped; the fake-server cases always run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fakekube import FakeKube

from bot.cli import main
from bot.cluster.bundle import load_bundle

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Target:
    kubeconfig: Path
    namespace: str
    fake: FakeKube | None = None


@pytest.fixture(params=["fake", pytest.param("real", marks=pytest.mark.cluster)])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    if request.param == "real":
        kubeconfig, namespace = os.environ.get("KUBECONFIG"), os.environ.get("SELDON_CHATOPS_TEST_NAMESPACE")
        if not kubeconfig or not namespace:
            pytest.skip("set KUBECONFIG and SELDON_CHATOPS_TEST_NAMESPACE to run against a real cluster")
        yield Target(Path(kubeconfig.split(os.pathsep)[0]), namespace)
        return
    with FakeKube() as fake:
        fake.seed_bundle(ROOT / "examples" / "zero-capacity")
        yield Target(fake.write_kubeconfig(tmp_path / "kubeconfig"), "financial-ml", fake)


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code = main(list(argv))
    return code, json.loads(capsys.readouterr().out)


def test_live_diagnosis_completes_and_names_its_source(target: Target, capsys: pytest.CaptureFixture[str]) -> None:
    code, diag = run_json(
        capsys, "diagnose", target.namespace, "--kubeconfig", str(target.kubeconfig), "--output", "json"
    )
    assert code in (0, 1)
    assert diag["namespace"] == target.namespace and diag["source"].startswith("live:")
    assert {c["status"] for c in diag["checks"]} <= {"pass", "fail", "warn", "skip", "error"}
    for problem in diag["collection_errors"]:  # a real cluster may deny a kind: it must say which permission
        assert problem["message"]


def test_bundle_then_offline_diagnosis_gives_the_same_findings(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bundle"
    assert main(["bundle", target.namespace, "--kubeconfig", str(target.kubeconfig), "-o", str(out)]) == 0
    capsys.readouterr()
    bundle = load_bundle(out)
    assert bundle.namespace == target.namespace
    assert not (out / "objects" / "secrets.yaml").exists()
    _, offline = run_json(capsys, "diagnose", target.namespace, "--bundle", str(out), "--output", "json")
    _, live = run_json(capsys, "diagnose", target.namespace, "--kubeconfig", str(target.kubeconfig), "--output", "json")
    assert [f["id"] for f in offline["findings"]] == [f["id"] for f in live["findings"]]
    assert [p["id"] for p in offline["proposals"]] == [p["id"] for p in live["proposals"]]


def test_invalid_and_unknown_namespaces(target: Target, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagnose", "Not_A_Namespace", "--kubeconfig", str(target.kubeconfig)]) == 2
    assert "DNS-1123" in capsys.readouterr().err
    assert main(["diagnose", "seldon-chatops-no-such-ns", "--kubeconfig", str(target.kubeconfig)]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_collection_sends_only_reads(target: Target, capsys: pytest.CaptureFixture[str]) -> None:
    if target.fake is None:
        pytest.skip("request accounting needs the fake server")
    main(["diagnose", target.namespace, "--kubeconfig", str(target.kubeconfig), "--output", "json"])
    capsys.readouterr()
    assert {r.method for r in target.fake.requests} == {"GET"}
