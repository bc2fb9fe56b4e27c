"""Remediation proposals: the change at the layer that owns the problem, and nothing more.

Patches are checked by applying them: a JSON merge patch on the Server CR, then the operator's merge of
ServerConfig + Server (bot.seldon.operator), then the check that raised the finding. Manifests are checked
against the real CRD schema (SeldonRuntime) or against the NetworkPolicy evaluator (test_connectivity).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import fixtures_seldon as fx
import pytest
import yaml
from test_checks import (
    NO_SERVERS,
    NOT_ENOUGH,
    add_log,
    agent_line,
    config_with,
    container_of,
    mlserver_resources,
    model,
    run,
    server_pods,
    set_env,
    summaries,
    tenant,
    zombie_tenant,
)
from test_connectivity import (
    apply_netpol_proposals,
    controller_only_from_tenant,
    egress_deny_on_servers,
    envoy_without_9000,
    example,
    without_9005,
)
from test_connectivity import run as diagnose_tenant

from bot.cluster.bundle import load_bundle
from bot.diagnosis.models import Diagnosis, ObjectRef, Proposal
from bot.remediation.proposals import BUILDERS, RESTARTED_AT, proposal_id
from bot.seldon.objects import arg_value, container, env_value
from bot.seldon.operator import server_pod_spec
from bot.seldon.quantity import to_bytes
from bot.snapshot import TenantSnapshot

ROOT = Path(__file__).resolve().parents[1]
GI = 2**30
ID = re.compile(r"^p-[0-9a-f]{10}$")
HELM_RELEASE = "meta.helm.sh/release-name"
NO_MEMORY = {"requests": {"cpu": "100m"}}

# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch, as the API server applies `patch_type: merge` to a CR."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def only(diag: Diagnosis, code: str) -> Proposal:
    found = [p for p in diag.proposals if p.finding_id.split("@")[0] == code]
    assert len(found) == 1, [p.finding_id for p in diag.proposals]
    return found[0]


def entry(containers: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(c for c in containers if c["name"] == name)


def effective(server_doc: dict[str, Any], config_doc: dict[str, Any], proposal: Proposal) -> dict[str, Any]:
    """The pod spec the operator builds once the proposal's merge patch is on the Server CR."""
    assert (proposal.action, proposal.patch_type, proposal.target.kind) == ("patch", "merge", "Server")
    return server_pod_spec(merge_patch(server_doc, proposal.patch), config_doc)


def with_version(doc: dict[str, Any], version: str = "4242") -> dict[str, Any]:
    doc["metadata"]["resourceVersion"] = version
    return doc


def walk(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for v in value.values():
            yield from walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v)


# ----------------------------------------------------------------------------------------------
# Proposal ids
# ----------------------------------------------------------------------------------------------

WITH_PROPOSALS = {"zero-capacity": 1, "netpol-blocked": 1, "inference-host-pod-ip": 1, "no-runtime": 1}


@pytest.mark.parametrize("name", sorted(WITH_PROPOSALS))
def test_proposal_ids_are_stable_across_diagnoses_of_the_same_bundle(name: str) -> None:
    # Two independent loads: nothing is shared between the runs but the files.
    first = diagnose_tenant(load_bundle(ROOT / "examples" / name))
    second = diagnose_tenant(load_bundle(ROOT / "examples" / name))
    ids = [p.id for p in first.proposals]
    assert len(ids) >= WITH_PROPOSALS[name]
    assert ids == [p.id for p in second.proposals]
    assert all(ID.match(i) for i in ids), ids
    assert len(set(ids)) == len(ids)


def two_servers(config: dict[str, Any]) -> TenantSnapshot:
    """Servers mlserver and mlserver-b, each with its StatefulSet, pods and replica Services."""
    snap = tenant(fx.server(), config)
    b = fx.server()
    b["metadata"].update(name="mlserver-b", uid="uid-server-mlserver-b")
    other = tenant(b, config)
    for kind in ("servers", "statefulsets", "pods", "services"):
        snap.objects[kind] += [o for o in other.of(kind) if o.name.startswith("mlserver-b")]
    return snap


def test_proposal_ids_differ_for_another_server() -> None:
    diag = diagnose_tenant(two_servers(mlserver_resources(NO_MEMORY)))
    patches = [p for p in diag.proposals if p.finding_id.startswith("capacity.memory-request-missing@")]
    assert sorted(p.target.name for p in patches) == ["mlserver", "mlserver-b"]
    assert len({p.id for p in patches}) == 2


def test_proposal_ids_differ_for_another_finding_on_the_same_server() -> None:
    server = fx.server(pod_spec={"containers": [{"name": "agent", "args": ["--inference-host=10.1.2.3"]}]})
    diag = diagnose_tenant(tenant(server, mlserver_resources(NO_MEMORY)))
    memory = only(diag, "capacity.memory-request-missing")
    host = only(diag, "agent.inference-host-not-loopback")
    assert memory.target == host.target and memory.target.name == "mlserver"
    assert memory.id != host.id


def test_proposal_id_depends_on_finding_and_target_only() -> None:
    server = ObjectRef(kind="Server", name="mlserver", namespace="financial-ml")
    assert proposal_id("f@server/mlserver", server) == proposal_id("f@server/mlserver", server.model_copy())
    assert proposal_id("f@server/mlserver", server) != proposal_id("g@server/mlserver", server)
    assert proposal_id("f@server/mlserver", server) != proposal_id(
        "f@server/mlserver", server.model_copy(update={"namespace": "risk-ml"})
    )
    assert ID.match(proposal_id("f@server/mlserver", server))


# ----------------------------------------------------------------------------------------------
# F1: memory request on the Server CR
# ----------------------------------------------------------------------------------------------

AGENT_ENTRY = {"name": "agent", "env": [{"name": "SELDON_LOG_LEVEL", "value": "debug"}]}
MLSERVER_ENTRY = {"name": "mlserver", "env": [{"name": "MLSERVER_DEBUG", "value": "true"}]}


@pytest.mark.parametrize(
    "pod_spec",
    [
        None,
        {"containers": [AGENT_ENTRY, MLSERVER_ENTRY]},
        {"containers": [MLSERVER_ENTRY, AGENT_ENTRY], "nodeSelector": {"pool": "inference"}},
        {"containers": [AGENT_ENTRY]},
    ],
    ids=["podSpec-null", "agent-mlserver", "mlserver-agent-nodeSelector", "agent-only"],
)
def test_f1_patch_keeps_every_container_entry_and_sets_memory_on_the_inference_container(
    pod_spec: dict[str, Any] | None,
) -> None:
    server = with_version(fx.server(pod_spec=copy.deepcopy(pod_spec)))
    config = mlserver_resources(NO_MEMORY)
    snap = tenant(server, config, models=[model("iris", memory="100Mi", state="ScheduleFailed", reason=NOT_ENOUGH)])
    proposal = only(diagnose_tenant(snap), "capacity.memory-request-missing")

    assert (proposal.action, proposal.patch_type, proposal.automatic) == ("patch", "merge", True)
    assert (proposal.target.kind, proposal.target.name, proposal.target.namespace) == ("Server", "mlserver", fx.TENANT)
    assert proposal.target_resource_version == "4242"
    assert list(proposal.patch) == ["spec"] and list(proposal.patch["spec"]) == ["podSpec"]
    patched = proposal.patch["spec"]["podSpec"]["containers"]
    live = (pod_spec or {}).get("containers", [])
    names = [c["name"] for c in live]
    assert [c["name"] for c in patched] == names + ([] if "mlserver" in names else ["mlserver"])
    for before in live:
        after = entry(patched, before["name"])
        assert {k: v for k, v in after.items() if k != "resources"} == before
        if before["name"] != "mlserver":
            assert "resources" not in after
    assert entry(patched, "mlserver")["resources"] == {"requests": {"memory": "1Gi"}, "limits": {"memory": "1Gi"}}

    diff = proposal.diff.splitlines()
    assert diff[:2] == ["--- Server mlserver (live)", "+++ Server mlserver (proposed)"]
    assert diff[2].startswith("@@ ")
    assert "+          memory: 1Gi" in diff
    assert not [ln for ln in diff[2:] if ln.startswith("-") and "name:" in ln]  # no entry removed

    # Applied, the operator's pod spec gives the agent a capacity, and the F1 check passes.
    patched_server = merge_patch(server, proposal.patch)
    if pod_spec and "nodeSelector" in pod_spec:
        assert patched_server["spec"]["podSpec"]["nodeSelector"] == {"pool": "inference"}
    result, findings = run("capacity.memory-request", tenant(patched_server, config))
    assert (result.status, findings) == ("pass", [])
    assert "Server mlserver: capacity 1Gi per replica" in summaries(result.evidence)


@pytest.mark.parametrize(
    ("memories", "size"),
    [
        ([], "1Gi"),
        (["100Mi"], "1Gi"),
        (["1500Mi"], "2Gi"),
        (["3Gi"], "3Gi"),
        (["3Gi", "3Gi"], "3Gi"),  # 2 replicas: an even share is 3Gi each
        (["3G"], "3Gi"),  # 2.79Gi rounded up
    ],
    ids=["no-models", "100Mi", "1500Mi", "3Gi", "2x3Gi", "3G"],
)
def test_f1_size_covers_the_largest_model_rounded_up_to_gi(memories: list[str], size: str) -> None:
    models = [model(f"m{i}", memory=m, state="ScheduleFailed", reason=NOT_ENOUGH) for i, m in enumerate(memories)]
    snap = tenant(config_doc=mlserver_resources(NO_MEMORY), models=models)
    proposal = only(diagnose_tenant(snap), "capacity.memory-request-missing")
    resources = entry(proposal.patch["spec"]["podSpec"]["containers"], "mlserver")["resources"]
    assert resources["requests"]["memory"] == resources["limits"]["memory"] == size
    assert to_bytes(size) >= max([GI, *(to_bytes(m) for m in memories)])
    assert to_bytes(size) % GI == 0
    assert size in proposal.title


def test_f1_size_counts_parallel_workers_on_the_agent() -> None:
    server = fx.server(
        pod_spec={"containers": [{"name": "agent", "env": [{"name": "MLSERVER_PARALLEL_WORKERS", "value": "2"}]}]}
    )
    snap = tenant(
        server,
        mlserver_resources(NO_MEMORY),
        models=[model("bert", memory="3Gi", state="ScheduleFailed", reason=NOT_ENOUGH)],
    )
    proposal = only(diagnose_tenant(snap), "capacity.memory-request-missing")
    resources = entry(proposal.patch["spec"]["podSpec"]["containers"], "mlserver")["resources"]
    size = to_bytes(resources["requests"]["memory"])
    assert size * 1.1 >= 2 * 3 * GI  # capacity x (1 + 10 % overcommit) >= spec.memory x workers


@pytest.mark.parametrize("release", [None, "seldon-core-v2-servers"])
def test_f1_helm_managed_server_adds_a_risk_naming_the_release(release: str | None) -> None:
    server = fx.server(annotations={HELM_RELEASE: release} if release else None)
    proposal = only(diagnose_tenant(tenant(server, mlserver_resources(NO_MEMORY))), "capacity.memory-request-missing")
    helm = [r for r in proposal.risks if "Helm" in r]
    if release:
        assert len(helm) == 1 and f"'{release}'" in helm[0] and "helm upgrade" in helm[0]
    else:
        assert helm == []


# ----------------------------------------------------------------------------------------------
# F4: --inference-host and MLSERVER_HOST, fixed at the layer that sets them
# ----------------------------------------------------------------------------------------------

BAD_HOST = "--inference-host=10.1.2.3"


def inference_host_tenant(layer: str, *server_args: str) -> tuple[dict[str, Any], dict[str, Any], TenantSnapshot]:
    server, config = fx.server(), fx.serverconfig()
    if layer in ("server", "both"):
        server = fx.server(pod_spec={"containers": [{"name": "agent", "args": ["--log-level=debug", *server_args]}]})
    if layer in ("serverconfig", "both"):
        container_of(config, "agent")["args"].append(BAD_HOST)
    if layer == "serverconfig":
        server = fx.server(pod_spec={"containers": [{"name": "agent", "args": ["--log-level=debug"]}]})
    snap = tenant(server, config)
    if layer == "statefulset":
        for p in server_pods(snap):
            container_of(p.spec, "agent")["args"].append(BAD_HOST)
    return server, config, snap


@pytest.mark.parametrize(
    ("layer", "args"),
    [
        ("server", ["--log-level=debug"]),
        ("serverconfig", ["--log-level=debug", "--inference-host=0.0.0.0"]),  # appended: the last flag wins
    ],
)
def test_inference_host_is_fixed_on_the_server_cr(layer: str, args: list[str]) -> None:
    server, config, snap = inference_host_tenant(layer, BAD_HOST)
    proposal = only(diagnose_tenant(snap), "agent.inference-host-not-loopback")
    assert proposal.automatic and proposal.target.kind == "Server"
    assert entry(proposal.patch["spec"]["podSpec"]["containers"], "agent")["args"] == args
    assert arg_value(container(effective(server, config, proposal), "agent"), "inference-host") in (None, "0.0.0.0")


def test_inference_host_only_on_the_statefulset_is_a_manual_proposal() -> None:
    _, _, snap = inference_host_tenant("statefulset")
    proposal = only(diagnose_tenant(snap), "agent.inference-host-not-loopback")
    assert (proposal.action, proposal.automatic, proposal.patch, proposal.manifest) == ("manual", False, None, None)
    assert proposal.target.kind == "Server" and proposal.target.name == "mlserver"
    assert proposal.steps and "StatefulSet only" in proposal.steps[0]


def test_inference_host_in_server_and_serverconfig_is_overridden() -> None:
    server, config, snap = inference_host_tenant("both", BAD_HOST)
    proposal = only(diagnose_tenant(snap), "agent.inference-host-not-loopback")
    assert arg_value(container(effective(server, config, proposal), "agent"), "inference-host") in (None, "0.0.0.0")


@pytest.mark.parametrize(
    "args", [["--inference-host", "10.1.2.3"], ["-inference-host=10.1.2.3"]], ids=["two-words", "single-dash"]
)
def test_inference_host_in_other_go_flag_forms_is_removed_cleanly(args: list[str]) -> None:
    server, config, snap = inference_host_tenant("server", *args)
    proposal = only(diagnose_tenant(snap), "agent.inference-host-not-loopback")
    assert entry(proposal.patch["spec"]["podSpec"]["containers"], "agent")["args"] == ["--log-level=debug"]
    assert arg_value(container(effective(server, config, proposal), "agent"), "inference-host") is None


def mlserver_host_tenant(layer: str, host: str) -> tuple[dict[str, Any], dict[str, Any], TenantSnapshot]:
    env = {"name": "MLSERVER_HOST", "value": host}
    server, config = fx.server(pod_spec={"containers": [copy.deepcopy(MLSERVER_ENTRY)]}), fx.serverconfig()
    if layer in ("server", "both"):
        entry(server["spec"]["podSpec"]["containers"], "mlserver")["env"].append(env)
    if layer in ("serverconfig", "both"):
        container_of(config, "mlserver")["env"].append(env)
    snap = tenant(server, config)
    if layer == "statefulset":
        for p in server_pods(snap):
            container_of(p.spec, "mlserver")["env"].append(env)
    return server, config, snap


def assert_never_loopback_bind(proposals: list[Proposal]) -> None:
    """The consultant's advice (doc 7.1) must never come back as a proposal, in any form."""
    for p in proposals:
        for node in walk(p.patch):
            if isinstance(node, dict) and node.get("name") == "MLSERVER_HOST":
                assert node.get("value") == "0.0.0.0", p
        added = [ln for ln in p.diff.splitlines() if ln.startswith("+")]
        assert not any("127.0.0.1" in ln or "localhost" in ln for ln in added), p.diff
        prose = " ".join([p.title, *p.steps])
        assert "MLSERVER_HOST=127.0.0.1" not in prose and "SELDON_SERVER_HOST" not in prose


HOSTS = ["127.0.0.1", "10.0.0.9"]


@pytest.mark.parametrize("host", HOSTS)
@pytest.mark.parametrize(
    ("layer", "env"),
    [
        ("server", [MLSERVER_ENTRY["env"][0]]),
        ("serverconfig", [MLSERVER_ENTRY["env"][0], {"name": "MLSERVER_HOST", "value": "0.0.0.0"}]),
    ],
)
def test_mlserver_host_is_fixed_on_the_server_cr(layer: str, env: list[dict[str, str]], host: str) -> None:
    server, config, snap = mlserver_host_tenant(layer, host)
    diag = diagnose_tenant(snap)
    proposal = only(diag, "agent.mlserver-host")
    assert proposal.automatic and proposal.target.kind == "Server"
    assert entry(proposal.patch["spec"]["podSpec"]["containers"], "mlserver")["env"] == env
    assert env_value(container(effective(server, config, proposal), "mlserver"), "MLSERVER_HOST") in (None, "0.0.0.0")
    assert_never_loopback_bind(diag.proposals)


@pytest.mark.parametrize("host", HOSTS)
def test_mlserver_host_only_on_the_statefulset_is_a_manual_proposal(host: str) -> None:
    _, _, snap = mlserver_host_tenant("statefulset", host)
    diag = diagnose_tenant(snap)
    proposal = only(diag, "agent.mlserver-host")
    assert (proposal.action, proposal.automatic, proposal.patch) == ("manual", False, None)
    assert proposal.steps and "StatefulSet directly" in proposal.steps[0]
    assert_never_loopback_bind(diag.proposals)


@pytest.mark.parametrize("host", HOSTS)
def test_mlserver_host_in_server_and_serverconfig_is_overridden(host: str) -> None:
    server, config, snap = mlserver_host_tenant("both", host)
    proposal = only(diagnose_tenant(snap), "agent.mlserver-host")
    assert env_value(container(effective(server, config, proposal), "mlserver"), "MLSERVER_HOST") in (None, "0.0.0.0")


def test_the_consultants_advice_is_never_proposed_for_zero_capacity() -> None:
    """Zero capacity with the advice's log line present: the fix is memory, never a host or a restart."""
    snap = tenant(
        config_doc=mlserver_resources(NO_MEMORY),
        models=[model("income", memory="500Mi", state="ScheduleFailed", reason=NOT_ENOUGH)],
    )
    for p in ("mlserver-0", "mlserver-1"):
        add_log(snap, p, "agent", agent_line("All critical agent subservices ready.", name="AgentServiceManager"))
    diag = diagnose_tenant(snap)
    assert [p.action for p in diag.proposals] == ["patch"]
    assert_never_loopback_bind(diag.proposals)
    assert not any(p.target.kind == "StatefulSet" for p in diag.proposals)


# ----------------------------------------------------------------------------------------------
# F9: restart the zombie
# ----------------------------------------------------------------------------------------------


def test_f9_zombie_gets_an_automatic_restart_of_its_statefulset() -> None:
    snap = zombie_tenant()
    sts = next(s for s in snap.of("statefulsets") if s.name == "mlserver")
    sts.metadata.resource_version = "777"
    proposal = only(diagnose_tenant(snap), "agent.zombie")
    assert (proposal.action, proposal.automatic, proposal.patch_type) == ("restart", True, "merge")
    assert (proposal.target.kind, proposal.target.name) == ("StatefulSet", "mlserver")
    assert proposal.target_resource_version == "777"
    assert proposal.patch == {
        "spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: fx.COLLECTED_AT.isoformat()}}}}
    }
    assert RESTARTED_AT == "kubectl.kubernetes.io/restartedAt"


# ----------------------------------------------------------------------------------------------
# F7: create the SeldonRuntime
# ----------------------------------------------------------------------------------------------


def schema_errors(value: Any, schema: dict[str, Any], path: str) -> list[str]:
    """Structural validation against a CRD openAPIV3Schema: types, required fields, unknown fields."""
    if schema.get("x-kubernetes-preserve-unknown-fields") or schema.get("x-kubernetes-int-or-string"):
        return []
    kind = schema.get("type")
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{path}: expected object"]
        errors = [f"{path}.{r}: required" for r in schema.get("required", []) if r not in value]
        props = schema.get("properties")
        for key, item in value.items():
            if props is not None and key in props:
                errors += schema_errors(item, props[key], f"{path}.{key}")
            elif isinstance(schema.get("additionalProperties"), dict):
                errors += schema_errors(item, schema["additionalProperties"], f"{path}.{key}")
            elif props is not None:
                errors.append(f"{path}.{key}: unknown field")
        return errors
    if kind == "array":
        if not isinstance(value, list):
            return [f"{path}: expected array"]
        return [e for i, item in enumerate(value) for e in schema_errors(item, schema.get("items", {}), f"{path}[{i}]")]
    expected = {"string": str, "boolean": bool, "integer": int, "number": (int, float)}.get(kind)
    if expected and (not isinstance(value, expected) or (kind != "boolean" and isinstance(value, bool))):
        return [f"{path}: expected {kind}"]
    return []


def runtime_schema() -> dict[str, Any]:
    crd = yaml.safe_load((fx.SELDON / "crds" / "mlops.seldon.io_seldonruntimes.yaml").read_text(encoding="utf-8"))
    return next(v for v in crd["spec"]["versions"] if v.get("storage"))["schema"]["openAPIV3Schema"]


def test_runtime_missing_proposes_a_seldonruntime_manifest_for_a_human() -> None:
    snap = example("no-runtime")
    proposal = only(diagnose_tenant(snap), "runtime.missing")
    assert (proposal.action, proposal.automatic, proposal.patch) == ("create", False, None)
    manifest = proposal.manifest
    assert (manifest["apiVersion"], manifest["kind"]) == ("mlops.seldon.io/v1alpha1", "SeldonRuntime")
    assert manifest["metadata"]["namespace"] == snap.namespace == proposal.target.namespace
    assert manifest["metadata"]["name"] == proposal.target.name
    assert manifest["spec"]["seldonConfig"] == "default"
    schema = runtime_schema()
    assert schema_errors(manifest["spec"], schema["properties"]["spec"], "spec") == []
    # The validator is not vacuous: it rejects what the API server would.
    bad = {"config": {"agentConfig": {"rclone": {"bogus": 1}}}}
    assert schema_errors(bad, schema["properties"]["spec"], "spec") == [
        "spec.seldonConfig: required",
        "spec.config.agentConfig.rclone.bogus: unknown field",
    ]
    assert proposal.diff.startswith(f"--- SeldonRuntime {snap.namespace}/seldon (live)")
    assert any("seldon-core-v2-runtime" in s for s in proposal.steps)


# ----------------------------------------------------------------------------------------------
# NetworkPolicy: one more policy, never an edit
# ----------------------------------------------------------------------------------------------

NETPOL_CASES: dict[str, Callable[[TenantSnapshot], None]] = {
    "ingress-9005": without_9005,
    "egress-9005": egress_deny_on_servers,
    "controller-9004": controller_only_from_tenant,
    "external-9000": envoy_without_9000,
}


def netpol_proposals(diag: Diagnosis) -> list[Proposal]:
    return [p for p in diag.proposals if p.finding_id.startswith("networkpolicy.blocks-path@")]


def assert_additive(snap: TenantSnapshot, proposals: list[Proposal]) -> None:
    existing = {p.name for p in snap.of("networkpolicies")}
    for p in proposals:
        assert (p.action, p.patch, p.patch_type, p.automatic) == ("create", None, "none", False)
        assert p.target.kind == "NetworkPolicy" and p.target.name not in existing, (p.target.name, existing)
        assert p.manifest["metadata"]["name"] == p.target.name
        assert p.manifest["metadata"]["namespace"] == p.target.namespace == snap.namespace
        assert p.manifest["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "seldon-chatops"}
        removed = [ln for ln in p.diff.splitlines()[2:] if ln.startswith("-")]
        assert removed == ["-{}"]  # a diff from nothing
        assert not any("delete" in s or "edit" in s or "patch" in s for s in p.steps)


@pytest.mark.parametrize("case", sorted(NETPOL_CASES))
def test_netpol_proposals_create_a_new_policy_and_touch_no_existing_one(case: str) -> None:
    snap = example()
    NETPOL_CASES[case](snap)
    proposals = netpol_proposals(diagnose_tenant(snap))
    assert len(proposals) == 1
    assert_additive(snap, proposals)


def test_netpol_blocked_example_proposal_is_additive() -> None:
    snap = example("netpol-blocked")
    proposals = netpol_proposals(diagnose_tenant(snap))
    assert [p.target.name for p in proposals] == ["allow-agent-scheduler-mlserver-9005-ingress"]
    assert_additive(snap, proposals)


def test_second_round_netpol_proposal_does_not_replace_the_first() -> None:
    snap = example()
    without_9005(snap)
    egress_deny_on_servers(snap)
    for _ in range(3):
        diag = diagnose_tenant(snap)
        proposals = netpol_proposals(diag)
        if not proposals:
            break
        assert_additive(snap, proposals)
        apply_netpol_proposals(snap, diag)
    assert netpol_proposals(diagnose_tenant(snap)) == []


# ----------------------------------------------------------------------------------------------
# Findings a human fixes: manual proposals with steps
# ----------------------------------------------------------------------------------------------


def _divisor(doc: dict[str, Any]) -> None:
    ref = {"containerName": "mlserver", "resource": "requests.memory", "divisor": "1Mi"}
    set_env(container_of(doc, "agent"), "MEMORY_REQUEST", valueFrom={"resourceFieldRef": ref})


MANUAL_CASES = {
    "capacity.memory-config-wrong": (
        lambda: tenant(config_doc=config_with(_divisor)),
        ("Server", "mlserver"),
        ["ServerConfig mlserver", "seldon-mesh"],
    ),
    "models.requirements-unmet": (
        lambda: tenant(models=[model("tf", requirements=["tensorflow"], state="ScheduleFailed", reason=NO_SERVERS)]),
        ("Model", "tf"),
        ["spec.requirements", "spec.capabilities"],
    ),
    "models.server-missing": (
        lambda: tenant(models=[model("iris", server="triton", state="ScheduleFailed", reason=NO_SERVERS)]),
        ("Model", "iris"),
        ["spec.server"],
    ),
}


@pytest.mark.parametrize("code", sorted(MANUAL_CASES))
def test_configuration_findings_get_manual_proposals_with_steps(code: str) -> None:
    build, (kind, name), phrases = MANUAL_CASES[code]
    diag = diagnose_tenant(build())
    proposal = only(diag, code)
    found = next(f for f in diag.findings if f.id == proposal.finding_id)
    assert (proposal.action, proposal.automatic, proposal.patch, proposal.manifest) == ("manual", False, None, None)
    assert proposal.target == found.subject and (proposal.target.kind, proposal.target.name) == (kind, name)
    assert proposal.steps
    for phrase in phrases:
        assert phrase in " ".join(proposal.steps), phrase
    assert proposal.rationale == (found.explanation or found.summary)


def test_every_builder_is_exercised_here() -> None:
    """Guard: a new builder needs a case in this file."""
    exercised = {
        "capacity.memory-request-missing",
        "agent.inference-host-not-loopback",
        "agent.mlserver-host",
        "agent.zombie",
        "networkpolicy.blocks-path",
        "runtime.missing",
        *MANUAL_CASES,
    }
    assert set(BUILDERS) == exercised
