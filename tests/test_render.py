"""What a user sees in the terminal and in a pasted ticket, on a hand-built zero-capacity Diagnosis."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from bot.diagnosis.models import (
    CheckResult,
    CollectionProblem,
    ConnectivityRow,
    Diagnosis,
    Evidence,
    Finding,
    LogExcerpt,
    ObjectRef,
    Proposal,
    StepResult,
    Symptom,
)
from bot.render.markdown import render_markdown
from bot.render.text import render_text

NS = "financial-ml"
ANSI = re.compile(r"\x1b\[")
SERVER = ObjectRef(kind="Server", name="mlserver", namespace=NS, api_version="mlops.seldon.io/v1alpha1")
MODEL = ObjectRef(kind="Model", name="iris", namespace=NS)
POD = ObjectRef(kind="Pod", name="mlserver-0", namespace=NS)
ROOT_ID = "capacity.memory-request-missing@server/mlserver"
CONSEQUENCE_ID = "model.not-scheduled@model/iris"
DIFF = """--- a/Server financial-ml/mlserver
+++ b/Server financial-ml/mlserver
@@ -8,3 +8,6 @@
   podSpec:
     containers:
     - name: mlserver
+      resources:
+        requests:
+          memory: 2Gi
"""


def _evidence() -> list[Evidence]:
    return [
        Evidence(
            summary="mlserver container has no memory request",
            object=POD,
            field="spec.containers[1].resources.requests.memory",
            value=None,
        ),
        Evidence(
            summary="agent advertises zero memory to the scheduler",
            log=LogExcerpt(
                pod="mlserver-0",
                container="agent",
                time="2024-05-02T10:14:03Z",
                line='level=info msg="Load model" memoryBytes=0 capacity=0',
            ),
        ),
    ]


def _row(name: str, port: int, verdict: str, summary: str, target_port: int | None = None) -> ConnectivityRow:
    source, target = name.split("/")
    return ConnectivityRow(
        id=name, source=source, target=target, port=port, target_port=target_port, verdict=verdict, summary=summary
    )


def _findings() -> list[Finding]:
    consequence = Finding(
        id=CONSEQUENCE_ID,
        code="model.not-scheduled",
        severity="high",
        rank=2,
        summary="Model iris cannot be scheduled: no Server has capacity",
        subject=MODEL,
        explains=["model-iris"],
        evidence=[
            Evidence(
                summary="Model iris status ModelReady=False",
                object=MODEL,
                field="status.conditions[0].reason",
                value="ScheduleFailed",
            )
        ],
    )
    root = Finding(
        id=ROOT_ID,
        code="capacity.memory-request-missing",
        severity="critical",
        rank=1,
        root_cause=True,
        summary="Server mlserver advertises zero memory capacity",
        failure_mode="F3",
        subject=SERVER,
        explanation="Without a memory request on the inference container the agent reports 0 bytes of "
        "capacity, so the scheduler can place no model on this Server.",
        explains=["model-iris"],
        evidence=_evidence(),
        data={"container": "mlserver"},
    )
    return [consequence, root]  # deliberately out of order: renderers must rank them


def _proposals() -> list[Proposal]:
    manual = Proposal(
        id="model.not-scheduled/manual",
        finding_id=CONSEQUENCE_ID,
        action="manual",
        target=MODEL,
        title="Re-apply Model iris once capacity exists",
        rationale="The scheduler retries on its own, but a stale ScheduleFailed status can linger.",
        steps=["Wait for Server mlserver to be Ready", "kubectl -n financial-ml annotate model iris retry=1"],
    )
    patch = Proposal(
        id="capacity.memory-request-missing/server/mlserver",
        finding_id=ROOT_ID,
        action="patch",
        title="Set a 2Gi memory request on Server mlserver",
        target=SERVER,
        target_resource_version="48213",
        patch_type="merge",
        patch={"spec": {"podSpec": {"containers": [{"name": "mlserver"}]}}},
        diff=DIFF,
        rationale="The agent derives capacity from the inference container's memory request.",
        risks=["Pods restart one at a time; models on them are unavailable meanwhile"],
        verify=["agent log shows memoryBytes > 0", "Model iris becomes Ready"],
        automatic=True,
    )
    return [manual, patch]


@pytest.fixture
def zero_capacity() -> Diagnosis:
    checks = [
        CheckResult(
            id="capacity.server-memory",
            title="Server memory capacity",
            status="fail",
            summary="Server mlserver advertises zero memory",
            failure_modes=["F3"],
            evidence=_evidence(),
            finding_ids=[ROOT_ID],
        ),
        CheckResult(
            id="scheduler.reachable",
            title="Scheduler reachable",
            status="pass",
            summary="agents connect to the scheduler",
        ),
    ]
    rows = [
        _row("agent/scheduler", 9005, "ok", "allowed by allow-seldon"),
        _row("envoy/mlserver", 9000, "ok", "allowed"),
        _row(
            "agent/mlserver",
            9500,
            "blocked",
            "NetworkPolicy default-deny drops ingress to the agent port",
            target_port=9510,
        ),
        _row("modelgateway/kafka", 9092, "unknown", "Kafka is outside the cluster"),
    ]
    steps = [
        StepResult(
            id="capacity",
            title="Server capacity",
            intro="Can any Server host the Model?",
            status="fail",
            summary="no Server has capacity",
            check_ids=["capacity.server-memory"],
        ),
        StepResult(
            id="network",
            title="Network paths",
            intro="Can the components reach each other?",
            status="fail",
            summary="1 path blocked",
            check_ids=["scheduler.reachable"],
            connectivity_ids=[r.id for r in rows],
        ),
    ]
    return Diagnosis(
        namespace=NS,
        playbook="model-not-ready",
        collected_at=datetime(2024, 5, 2, 10, 15, tzinfo=UTC),
        source="live cluster (context prod-eu)",
        tool_version="0.1.0",
        healthy=False,
        headline="Model iris is not Ready: Server mlserver advertises zero memory capacity",
        steps=steps,
        checks=checks,
        connectivity=rows,
        symptoms=[Symptom(id="model-iris", summary="Model not Ready", object=MODEL)],
        findings=_findings(),
        proposals=_proposals(),
        collection_errors=[
            CollectionProblem(
                kind="events", message="forbidden", missing_permission="list events in namespace financial-ml"
            )
        ],
    )


@pytest.fixture
def healthy() -> Diagnosis:
    return Diagnosis(
        namespace=NS,
        playbook="model-not-ready",
        collected_at=datetime(2024, 5, 2, 10, 15, tzinfo=UTC),
        source="bundle.tar.gz",
        tool_version="0.1.0",
        healthy=True,
        headline="All 3 Models are Ready",
        steps=[
            StepResult(
                id="capacity",
                title="Server capacity",
                intro="",
                status="pass",
                summary="ok",
                check_ids=["capacity.server-memory"],
            )
        ],
        checks=[
            CheckResult(
                id="capacity.server-memory",
                title="Server memory capacity",
                status="pass",
                summary="every Server advertises memory",
            )
        ],
    )


def test_root_cause_comes_first_and_is_marked(zero_capacity: Diagnosis) -> None:
    out = render_text(zero_capacity)
    findings = out[out.index("FINDINGS") : out.index("PROPOSALS")]
    root = findings.index("Server mlserver advertises zero memory capacity")
    assert root < findings.index("Model iris cannot be scheduled")
    assert "ROOT CAUSE" in findings[:root]
    assert findings.count("ROOT CAUSE") == 1
    assert "Failure mode: F3" in findings


def test_header_and_collection_errors(zero_capacity: Diagnosis) -> None:
    out = render_text(zero_capacity)
    assert NS in out and "model-not-ready" in out and "2024-05-02 10:15:00 UTC" in out
    assert "2 findings (1 root cause)" in out
    assert "missing permission: list events in namespace financial-ml" in out


def test_steps_show_status_icons_and_checks(zero_capacity: Diagnosis) -> None:
    out = render_text(zero_capacity)
    assert re.search(r"\[FAIL\] 1\. Server capacity", out)
    assert re.search(r"\[FAIL\] Server memory capacity: Server mlserver advertises zero memory", out)
    assert re.search(r"\[PASS\] Scheduler reachable", out)
    assert "4 paths checked" in out


def test_matrix_has_a_row_per_path_with_its_verdict(zero_capacity: Diagnosis) -> None:
    out = render_text(zero_capacity)
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.strip().startswith("PATH"))
    table = lines[header + 1 : header + 5]
    expected = [
        ("agent -> scheduler", "9005", "ok"),
        ("envoy -> mlserver", "9000", "ok"),
        ("agent -> mlserver", "9500->9510", "blocked"),
        ("modelgateway -> kafka", "9092", "unknown"),
    ]
    for line, (path, port, verdict) in zip(table, expected, strict=True):
        assert re.match(rf"\s+{re.escape(path)}\s+{re.escape(port)}\s+{verdict}\s", line), line
    verdict_column = lines[header].index("VERDICT")
    assert all(line[verdict_column:].split()[0] in ("ok", "blocked", "unknown") for line in table)
    assert all(len(line) <= 100 for line in lines if "\x1b" not in line)


def test_proposals_show_diff_steps_and_target(zero_capacity: Diagnosis) -> None:
    out = render_text(zero_capacity)
    proposals = out[out.index("PROPOSALS") :]
    assert proposals.index("Set a 2Gi memory request") < proposals.index("Re-apply Model iris")
    for line in ("+++ b/Server financial-ml/mlserver", "+        requests:", "+          memory: 2Gi"):
        assert line in proposals
    assert "Server financial-ml/mlserver (resourceVersion 48213)" in proposals
    assert "Patch type: merge" in proposals
    assert "1. Wait for Server mlserver to be Ready" in proposals
    assert "Model iris becomes Ready" in proposals and "Pods restart one at a time" in proposals


def test_evidence_only_with_verbose(zero_capacity: Diagnosis) -> None:
    pod_field = "Pod financial-ml/mlserver-0 spec.containers[1].resources.requests.memory = null"
    log_line = 'mlserver-0/agent [2024-05-02T10:14:03Z] level=info msg="Load model" memoryBytes=0'
    quiet, verbose = render_text(zero_capacity), render_text(zero_capacity, verbose=True)
    steps = verbose[verbose.index("STEPS") : verbose.index("CONNECTIVITY")]
    assert pod_field in steps and log_line in steps
    assert pod_field not in quiet[quiet.index("STEPS") : quiet.index("CONNECTIVITY")]
    assert pod_field in quiet[quiet.index("FINDINGS") :]  # findings always carry their evidence


def test_ansi_only_with_color(zero_capacity: Diagnosis) -> None:
    assert not ANSI.search(render_text(zero_capacity, verbose=True))
    assert not ANSI.search(render_markdown(zero_capacity))
    assert ANSI.search(render_text(zero_capacity, color=True))


def test_markdown_has_tables_and_fenced_diff(zero_capacity: Diagnosis) -> None:
    md = render_markdown(zero_capacity)
    assert "| Path | Port | Verdict | Summary |" in md
    assert "| agent → mlserver | 9500->9510 | **blocked** |" in md
    assert "| Status | Check | Summary |" in md
    assert "```diff\n--- a/Server financial-ml/mlserver\n" in md and "+          memory: 2Gi\n```" in md
    assert md.index("[ROOT CAUSE · critical]") < md.index("Model iris cannot be scheduled")
    assert "1. Wait for Server mlserver to be Ready" in md


def test_create_proposal_shows_manifest_as_yaml(zero_capacity: Diagnosis) -> None:
    manifest = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "allow-agent", "namespace": NS},
    }
    zero_capacity.proposals = [
        Proposal(
            id="p",
            finding_id=ROOT_ID,
            title="Allow the agent",
            action="create",
            rationale="r",
            target=ObjectRef(kind="NetworkPolicy", name="allow-agent", namespace=NS),
            manifest=manifest,
        )
    ]
    assert "kind: NetworkPolicy" in render_text(zero_capacity)
    yaml_block = "```yaml\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
    assert yaml_block in render_markdown(zero_capacity)


def test_healthy_is_short(healthy: Diagnosis) -> None:
    for out in (render_text(healthy), render_markdown(healthy)):
        assert "HEALTHY" in out
        assert "FINDINGS" not in out.upper() and "PROPOSALS" not in out.upper()
        assert "CONNECTIVITY" not in out.upper()
        assert len(out.splitlines()) < 25
