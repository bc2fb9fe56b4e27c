"""Judging patches against snapshots built from the real Seldon v2.10.2 YAML (see fixtures_seldon)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fixtures_seldon import TENANT, server, serverconfig, view

from bot.diagnosis.view import TenantView
from bot.errors import InputError
from bot.remediation.assess import Assessment, Judgement, apply_patch, assess_patch, load_patch
from bot.render.assessment import render_assessment

# Section 7 of docs/seldon-v2.md, as a runbook writes it.
FOLKLORE = """\
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: mlserver
  namespace: financial-ml
spec:
  template:
    spec:
      containers:
        - name: mlserver
          env:
            - name: MLSERVER_HOST
              value: "127.0.0.1"
        - name: agent
          env:
            - name: SELDON_SERVER_HOST
              value: "127.0.0.1"
"""
# Existing Server overrides, as the zero-capacity example has them.
OVERRIDES = {
    "containers": [
        {"name": "agent", "env": [{"name": "SELDON_LOG_LEVEL", "value": "info"}]},
        {"name": "mlserver", "env": [{"name": "MLSERVER_PARALLEL_WORKERS", "value": "2"}]},
    ]
}


def write(tmp_path: Path, text: str, name: str = "patch.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def server_patch(pod_spec: dict[str, Any], name: str = "mlserver") -> dict[str, Any]:
    return {
        "apiVersion": "mlops.seldon.io/v1alpha1",
        "kind": "Server",
        "metadata": {"name": name},
        "spec": {"podSpec": pod_spec},
    }


def sts_patch(pod_spec: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "mlserver"},
        "spec": {**spec, "template": {"spec": pod_spec}},
    }


def memory(request: str, limit: str | None = None) -> dict[str, Any]:
    resources: dict[str, Any] = {"requests": {"memory": request}}
    if limit:
        resources["limits"] = {"memory": limit}
    return {"name": "mlserver", "resources": resources}


def by_code(assessment: Assessment) -> dict[str, Judgement]:
    return {j.code: j for j in assessment.judgements}


# -- the folklore ---------------------------------------------------------------------------------


@pytest.fixture
def folklore(tmp_path: Path) -> Assessment:
    return assess_patch(view(), load_patch(write(tmp_path, FOLKLORE)))


def test_folklore_is_harmful_with_the_three_reasons(folklore: Assessment) -> None:
    assert folklore.verdict == "harmful"
    codes = by_code(folklore)
    assert {"mlserver-host-loopback", "seldon-server-host-unread", "statefulset-owned"} <= set(codes)
    assert codes["mlserver-host-loopback"].severity == "harmful"
    assert codes["seldon-server-host-unread"].severity == "no-op"
    assert codes["statefulset-owned"].severity == "not-durable"
    assert folklore.target.kind == "StatefulSet" and folklore.target.namespace == TENANT
    assert folklore.owner is not None and (folklore.owner.kind, folklore.owner.name) == ("Server", "mlserver")


def test_loopback_cites_the_startup_probe_and_its_deadline(folklore: Assessment) -> None:
    judgement = by_code(folklore)["mlserver-host-loopback"]
    assert "startupProbe" in judgement.summary and "~100 s" in judgement.summary
    text = judgement.explanation
    assert "failureThreshold 10 x periodSeconds 10 = 100 s" in text
    assert "server-http (9000)" in text and "pod IP" in text
    assert "EndpointSlice" in text and "2.10.2" in text  # the agent image tag decides F8
    assert "Prometheus" in text and "Istio" in text
    probe = next(e for e in judgement.evidence if e.field and e.field.endswith("startupProbe"))
    assert probe.object is not None and probe.object.kind == "Pod"
    assert probe.value["httpGet"]["port"] == "server-http"
    assert "unset" in (judgement.instead or "")


def test_seldon_server_host_is_read_by_no_agent(folklore: Assessment) -> None:
    judgement = by_code(folklore)["seldon-server-host-unread"]
    assert "--inference-host" in judgement.explanation and "0.0.0.0" in judgement.explanation
    assert any(e.value == "docker.io/seldonio/seldon-agent:2.10.2" for e in judgement.evidence)


def test_statefulset_edit_is_not_durable_and_nothing_is_carried_over(folklore: Assessment) -> None:
    judgement = by_code(folklore)["statefulset-owned"]
    assert "Purely additive" in judgement.explanation and "full Update" in judgement.explanation
    assert {e.field for e in judgement.evidence} >= {"metadata.ownerReferences"}
    instead = judgement.instead or ""
    assert "Nothing in this patch belongs in Server" in instead
    assert "MLSERVER_HOST" in instead and "ServerConfig seldon-mesh/mlserver" in instead
    assert folklore.effective_changes == [
        "agent: env SELDON_SERVER_HOST=127.0.0.1 (was unset)",
        "mlserver: env MLSERVER_HOST=127.0.0.1 (was unset)",
    ]


def test_statefulset_memory_edit_gets_the_equivalent_server_patch() -> None:
    patch = sts_patch({"containers": [memory("2Gi", "2Gi")]})
    assessment = assess_patch(view(server(pod_spec=OVERRIDES)), patch)
    owned = by_code(assessment)["statefulset-owned"]
    assert assessment.verdict == "not-durable"
    assert "reverted at once: mlserver resources" in owned.explanation
    body = json.loads((owned.instead or "").split("-p '")[1].split("'")[0])
    containers = {c["name"]: c for c in body["spec"]["podSpec"]["containers"]}
    # Read-modify-write: the existing agent override stays, the memory joins the mlserver entry.
    assert containers["agent"]["env"] == [{"name": "SELDON_LOG_LEVEL", "value": "info"}]
    assert containers["mlserver"]["resources"]["requests"]["memory"] == "2Gi"
    assert len(containers["mlserver"]["env"]) == 1


def test_render_folklore_leads_with_the_verdict_and_says_what_to_do_instead(folklore: Assessment) -> None:
    text = render_assessment(folklore)
    lines = text.splitlines()
    assert any(line.split() == ["Verdict:", "HARMFUL:", "would", "break", "the", "tenant"] for line in lines)
    assert "StatefulSet financial-ml/mlserver" in text and "Server financial-ml/mlserver" in text
    for judgement in folklore.judgements:
        assert f"Code: {judgement.code}" in text
        assert " ".join(judgement.summary.split()) in " ".join(text.split())  # wrapped, not cut
    assert text.count("Instead:") == 3
    assert "Pod financial-ml/mlserver-0 spec.containers[2].startupProbe = " in text  # evidence source
    assert "mlserver: env MLSERVER_HOST=127.0.0.1 (was unset)" in text
    assert max(len(line) for line in lines) <= 100


# -- Server CR patches ------------------------------------------------------------------------------


def test_server_memory_patch_is_ok_and_reports_capacity() -> None:
    assessment = assess_patch(view(), server_patch({"containers": [memory("2Gi", "2Gi")]}))
    assert assessment.verdict == "ok"
    capacity = by_code(assessment)["memory-capacity"]
    assert "2147483648 bytes" in capacity.summary and "was 1073741824" in capacity.summary
    assert "no manual restart" in capacity.explanation and "requests.memory of container mlserver" in (
        capacity.explanation
    )
    assert assessment.owner is None
    assert assessment.effective_changes == [
        "mlserver: limits.memory 1Gi -> 2Gi",
        "mlserver: requests.memory 1Gi -> 2Gi",
    ]


def test_example_memory_patch_repeats_existing_overrides_and_stays_ok() -> None:
    example = Path(__file__).resolve().parents[1] / "examples" / "patches" / "server-memory.yaml"
    if not example.is_file():
        pytest.skip("examples/patches/server-memory.yaml not generated yet")
    assessment = assess_patch(view(server(pod_spec=OVERRIDES)), load_patch(example))
    assert assessment.verdict == "ok"
    assert {"memory-capacity", "duplicate-env"} <= set(by_code(assessment))


def test_example_bundle_agrees() -> None:
    """The generated zero-capacity bundle, when present: folklore harmful, the Server memory fix ok."""
    examples = Path(__file__).resolve().parents[1] / "examples"
    if not (examples / "zero-capacity" / "manifest.yaml").is_file():
        pytest.skip("examples/zero-capacity not generated yet")
    from bot.cluster.bundle import load_bundle

    bundle = TenantView(load_bundle(examples / "zero-capacity"))
    folklore = assess_patch(bundle, load_patch(examples / "patches" / "folklore-statefulset.yaml"))
    assert folklore.verdict == "harmful" and "statefulset-owned" in by_code(folklore)
    fix = assess_patch(bundle, load_patch(examples / "patches" / "server-memory.yaml"))
    assert fix.verdict == "ok" and "2147483648 bytes" in by_code(fix)["memory-capacity"].summary


def test_raising_only_the_request_exceeds_the_serverconfig_limit() -> None:
    assessment = assess_patch(view(), server_patch({"containers": [memory("4Gi")]}))
    judgement = by_code(assessment)["memory-request-above-limit"]
    assert assessment.verdict == "harmful"
    assert "4Gi" in judgement.summary and "1Gi" in judgement.summary
    assert "UpdateFailed" in judgement.explanation


def test_removing_the_memory_request_means_zero_capacity() -> None:
    config = serverconfig()
    inference = next(c for c in config["spec"]["podSpec"]["containers"] if c["name"] == "mlserver")
    del inference["resources"]["limits"]
    assessment = assess_patch(
        view(config_doc=config),
        {
            "apiVersion": "mlops.seldon.io/v1alpha1",
            "kind": "ServerConfig",
            "metadata": {"name": "mlserver", "namespace": "seldon-mesh"},
            "spec": {
                "podSpec": {
                    "containers": [
                        *config["spec"]["podSpec"]["containers"][:2],
                        {**inference, "resources": {"requests": {"cpu": "100m"}}},
                    ]
                }
            },
        },
    )
    assert by_code(assessment)["memory-capacity-zero"].severity == "harmful"


def test_host_network_is_risky() -> None:
    netpol = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "default-deny", "namespace": TENANT},
        "spec": {"podSelector": {}},
    }
    assessment = assess_patch(
        view(extra={"networkpolicies": [netpol]}), server_patch({"hostNetwork": True, "containers": []})
    )
    judgement = by_code(assessment)["host-network"]
    assert assessment.verdict == "risky" and judgement.severity == "risky"
    assert "default-deny" in judgement.explanation and "node IP" in judgement.explanation
    assert "ClusterFirstWithHostNet" in judgement.explanation
    assert "pod: hostNetwork None -> True" in assessment.effective_changes


def test_merge_patch_that_drops_containers_is_risky() -> None:
    patch = server_patch({"containers": [memory("2Gi", "2Gi")]})
    assessment = assess_patch(view(server(pod_spec=OVERRIDES)), patch)
    judgement = by_code(assessment)["merge-patch-replaces-containers"]
    assert judgement.severity == "risky" and assessment.verdict == "risky"
    assert "container agent" in judgement.summary and "mlserver env" in judgement.summary
    assert '"name":"agent"' in (judgement.instead or "")
    # The dropped override is visible in the running pod: the ServerConfig's value is back.
    assert "mlserver: env MLSERVER_PARALLEL_WORKERS=1 (was MLSERVER_PARALLEL_WORKERS=2)" in (
        assessment.effective_changes
    )


def test_partial_serverconfig_merge_patch_is_harmful() -> None:
    patch = {
        "apiVersion": "mlops.seldon.io/v1alpha1",
        "kind": "ServerConfig",
        "metadata": {"name": "mlserver", "namespace": "seldon-mesh"},
        "spec": {"podSpec": {"containers": [memory("2Gi", "2Gi")]}},
    }
    assessment = assess_patch(view(), patch)
    judgement = by_code(assessment)["merge-patch-replaces-containers"]
    assert judgement.severity == "harmful" and "container agent" in judgement.summary
    assert "container agent removed" in assessment.effective_changes


def test_duplicate_env_and_parallel_workers_on_mlserver_only() -> None:
    patch = server_patch(
        {"containers": [{"name": "mlserver", "env": [{"name": "MLSERVER_PARALLEL_WORKERS", "value": "4"}]}]}
    )
    assessment = assess_patch(view(), patch)
    codes = by_code(assessment)
    assert codes["duplicate-env"].severity == "ok" and "twice" in codes["duplicate-env"].explanation
    assert codes["parallel-workers-agent-mismatch"].severity == "risky"
    assert "mlserver: env MLSERVER_PARALLEL_WORKERS defined 2 times (Kubernetes uses the last)" in (
        assessment.effective_changes
    )


@pytest.mark.parametrize(
    ("host", "code", "severity"),
    [
        ("10.42.0.7", "inference-host-not-loopback", "harmful"),
        ("0.0.0.0", "inference-host-default", "no-op"),
    ],
)
def test_inference_host_flag(host: str, code: str, severity: str) -> None:
    patch = server_patch({"containers": [{"name": "agent", "args": [f"--inference-host={host}"]}]})
    judgement = by_code(assess_patch(view(), patch))[code]
    assert judgement.severity == severity


def test_mlserver_host_pod_ip_is_harmful() -> None:
    patch = server_patch(
        {"containers": [{"name": "mlserver", "env": [{"name": "MLSERVER_HOST", "value": "10.42.0.7"}]}]}
    )
    judgement = by_code(assess_patch(view(), patch))["mlserver-host-pinned"]
    assert judgement.severity == "harmful" and "pod IPs change" in judgement.explanation


def test_older_agent_has_no_endpointslice_gate() -> None:
    config = serverconfig()
    agent = next(c for c in config["spec"]["podSpec"]["containers"] if c["name"] == "agent")
    agent["image"] = "docker.io/seldonio/seldon-agent:2.9.0"
    patch = server_patch(
        {"containers": [{"name": "mlserver", "env": [{"name": "MLSERVER_HOST", "value": "localhost"}]}]}
    )
    judgement = by_code(assess_patch(view(config_doc=config), patch))["mlserver-host-loopback"]
    assert "EndpointSlice" not in judgement.explanation and "CrashLoopBackOff" in judgement.explanation


def test_unchanged_patch_is_a_no_op() -> None:
    assessment = assess_patch(view(), sts_patch({"containers": [memory("1Gi", "1Gi")]}))
    assert "no-effective-change" in by_code(assessment)
    assert assessment.effective_changes == []


def test_strategic_merge_merges_env_by_name_and_merge_patch_replaces() -> None:
    base = {"containers": [{"name": "a", "env": [{"name": "X", "value": "1"}], "args": ["--p"]}]}
    patch = {"containers": [{"name": "a", "env": [{"name": "X", "value": "2"}], "args": ["--q"]}]}
    merged = apply_patch(base, patch, strategic=True)
    assert merged["containers"][0]["env"] == [{"name": "X", "value": "2"}]
    assert merged["containers"][0]["args"] == ["--q"]  # args have no merge key: replaced
    replaced = apply_patch(base, {"containers": [{"name": "b"}]}, strategic=False)
    assert replaced == {"containers": [{"name": "b"}]}
    assert apply_patch({"a": 1, "b": 2}, {"a": None}, strategic=False) == {"b": 2}


# -- bad input -------------------------------------------------------------------------------------


def test_json_patch_file_loads(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(server_patch({"containers": [memory("2Gi", "2Gi")]})), "patch.json")
    assert load_patch(path)["kind"] == "Server"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kind: [unclosed", "not valid YAML"),
        ("apiVersion: v1\nmetadata: {name: x}\n", "missing kind"),
        ("apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {}\n", "missing metadata.name"),
        ("- a\n- b\n", "must be a mapping"),
        ("", "expected one manifest, found 0"),
        ("a: 1\n---\nb: 2\n", "found 2"),
    ],
)
def test_bad_patch_files_name_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError, match=message) as err:
        load_patch(path)
    assert str(path) in str(err.value)


def test_missing_patch_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.yaml: no such file"):
        load_patch(tmp_path / "nope.yaml")


def test_other_namespace_is_refused() -> None:
    patch = server_patch({"containers": []})
    patch["metadata"]["namespace"] = "other-team"
    with pytest.raises(InputError, match="Server other-team/mlserver is outside the snapshot"):
        assess_patch(view(), patch)


def test_unknown_target_lists_what_exists() -> None:
    patch = sts_patch({"containers": []})
    patch["metadata"]["name"] = "mlserverr"
    with pytest.raises(InputError, match="StatefulSet financial-ml/mlserverr is not in the snapshot") as err:
        assess_patch(view(), patch)
    assert "StatefulSets there: mlserver" in str(err.value) and "Servers: mlserver" in str(err.value)


def test_container_without_name_is_refused() -> None:
    with pytest.raises(InputError, match=r"spec.podSpec.containers\[0\] has no name"):
        assess_patch(view(), server_patch({"containers": [{"resources": {}}]}))


def test_unsupported_kind_is_refused() -> None:
    with pytest.raises(InputError, match="cannot assess a ConfigMap patch"):
        assess_patch(view(), {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})
