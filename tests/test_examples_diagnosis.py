"""Each example tenant names its own root cause, with evidence, and the right proposal.

Golden files (tests/golden/<example>.json) pin the whole Diagnosis document: review their diff like
code. Regenerate with `UPDATE_GOLDEN=1 python -m pytest tests/test_examples_diagnosis.py`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bot.cli import main
from bot.cluster.bundle import load_bundle
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


def run(example: str, playbook: str = "diagnose") -> Diagnosis:
    return diagnose(load_bundle(ROOT / "examples" / example), load_playbook(playbook))


def root_causes(diag: Diagnosis) -> list[str]:
    return [f.code for f in diag.findings if f.root_cause]


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_golden_diagnosis(example: str) -> None:
    golden = ROOT / "tests" / "golden" / f"{example}.json"
    # The source names the bundle path, which differs between checkouts.
    actual = run(example).model_dump(mode="json", exclude={"source"})
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(json.dumps(actual, indent=2, sort_keys=True) + "\n")
    assert actual == json.loads(golden.read_text())


def test_zero_capacity_names_the_missing_memory_request_and_patches_the_server_cr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["diagnose", "financial-ml", "--bundle", str(ROOT / "examples" / "zero-capacity"), "--output", "json"])
    assert code == 1
    diag = json.loads(capsys.readouterr().out)
    top = diag["findings"][0]
    assert top["code"] == "capacity.memory-request-missing" and top["root_cause"]
    assert top["subject"] == {
        "kind": "Server",
        "name": "mlserver",
        "namespace": "financial-ml",
        "api_version": "mlops.seldon.io/v1alpha1",
    }
    assert top["data"]["container"] == "mlserver"
    summaries = " | ".join(e["summary"] for e in top["evidence"])
    assert "container mlserver has no memory request or limit" in summaries
    assert "Setting memory request from env MEMORY_REQUEST with value 0" in summaries
    assert any(e["log"] and e["log"]["container"] == "agent" and e["log"]["time"] for e in top["evidence"])
    # Only the Models that set spec.memory are blocked; income-classifier has none and loads.
    assert top["explains"] == ["model/credit-risk", "model/fraud-detector"]

    [proposal] = [p for p in diag["proposals"] if p["finding_id"] == top["id"]]
    assert proposal["target"]["kind"] == "Server" and proposal["patch_type"] == "merge"
    containers = proposal["patch"]["spec"]["podSpec"]["containers"]
    server = load_bundle(ROOT / "examples" / "zero-capacity").get("servers", "mlserver")
    live = server.spec["podSpec"]["containers"]
    # Read-modify-write: every existing container entry survives, unchanged but for resources.
    assert [c["name"] for c in containers] == [c["name"] for c in live]
    for before, after in zip(live, containers, strict=True):
        assert {k: v for k, v in after.items() if k != "resources"} == before
    mlserver = next(c for c in containers if c["name"] == "mlserver")
    assert mlserver["resources"]["requests"]["memory"] == mlserver["resources"]["limits"]["memory"]
    assert proposal["target_resource_version"] == server.metadata.resource_version
    assert "+          memory:" in proposal["diff"]


def test_healthy_tenant_exits_0_with_no_findings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagnose", "retail-ml", "--bundle", str(ROOT / "examples" / "healthy")]) == 0
    out = capsys.readouterr().out
    assert "retail-ml is healthy" in out
    diag = run("healthy")
    assert not diag.findings and not diag.proposals
    assert {r.verdict for r in diag.connectivity} == {"ok"}


def test_netpol_example_blocks_agent_to_scheduler_and_proposes_one_additive_policy() -> None:
    diag = run("netpol-blocked")
    assert root_causes(diag)[0] == "networkpolicy.blocks-path"
    row = next(r for r in diag.connectivity if r.id == "agent-scheduler/mlserver")
    assert (row.verdict, row.port) == ("blocked", 9005)
    others = {r.id: r.verdict for r in diag.connectivity if r.id.endswith("-scheduler")}
    assert others["envoy-scheduler"] == "ok" and others["controller-scheduler"] == "ok"
    [proposal] = [p for p in diag.proposals if p.action == "create"]
    policy = proposal.manifest
    assert policy["kind"] == "NetworkPolicy" and policy["metadata"]["namespace"] == "risk-ml"
    assert policy["spec"]["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "seldon-scheduler"}}
    assert policy["spec"]["ingress"] == [
        {
            "from": [{"podSelector": {"matchLabels": {"seldon-server-name": "mlserver"}}}],
            "ports": [{"port": 9005, "protocol": "TCP"}],
        }
    ]


def test_inference_host_example_restores_loopback_through_the_server_cr() -> None:
    diag = run("inference-host-pod-ip")
    assert root_causes(diag) == ["agent.inference-host-not-loopback"]
    proposal = diag.proposals[0]
    assert proposal.target.kind == "Server"
    agent = next(c for c in proposal.patch["spec"]["podSpec"]["containers"] if c["name"] == "agent")
    assert not any(a.startswith("--inference-host") for a in agent.get("args", []))
    row = next(r for r in diag.connectivity if r.id == "agent-inference/mlserver")
    assert row.verdict == "blocked"
    assert any("10.42.3.17:9500" in (e.log.line if e.log else "") for e in diag.findings[0].evidence)


def test_no_runtime_example_gives_a_manifest_for_a_human() -> None:
    diag = run("no-runtime")
    assert root_causes(diag) == ["runtime.missing"]
    proposal = diag.proposals[0]
    assert proposal.action == "create" and not proposal.automatic
    assert proposal.manifest["kind"] == "SeldonRuntime"
    assert proposal.manifest["metadata"]["namespace"] == "marketing-ml"
    evidence = " ".join(e.summary for e in diag.findings[0].evidence)
    assert 'serviceaccount "seldon-server" not found' in evidence


@pytest.mark.parametrize("playbook", ["connectivity", "capacity"])
def test_other_playbooks_run_their_own_steps(playbook: str) -> None:
    diag = run("zero-capacity", playbook)
    assert [s.id for s in diag.steps] == [s.id for s in load_playbook(playbook).steps]
    if playbook == "capacity":
        assert root_causes(diag) == ["capacity.memory-request-missing"]
        assert not diag.connectivity
    else:
        assert {r.id.split("/")[0] for r in diag.connectivity} >= {"agent-scheduler", "external-mesh"}


@pytest.mark.parametrize("output", ["text", "markdown"])
def test_terminal_and_markdown_outputs_show_matrix_and_root_cause(
    output: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diagnose", "risk-ml", "--bundle", str(ROOT / "examples" / "netpol-blocked"), "--output", output]) == 1
    out = capsys.readouterr().out
    assert "NetworkPolicy ingress blocks agent (mlserver) -> seldon-scheduler on port 9005/TCP" in out
    assert "blocked" in out and "allow-agent-scheduler-mlserver-9005" in out
