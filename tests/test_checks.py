"""Every check of the catalogue, on tenants built from the real Seldon v2.10.2 YAML (fixtures_seldon).

Each check gets at least one failing and one passing case. The assertions are what a user reads: the
check status, the finding code and severity, the object/field/log line named as evidence, and which
symptoms a finding explains (the ranking uses those). Failure modes F1-F16 are those of section 6 of
shared/docs/seldon-v2.md.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import fixtures_seldon as fx
import pytest
import yaml

from bot.diagnosis.checks import CATALOGUE
from bot.diagnosis.findings import rank
from bot.diagnosis.models import CheckResult, Evidence, Finding
from bot.diagnosis.symptoms import collect
from bot.diagnosis.view import TenantView
from bot.seldon.operator import render_replica_services
from bot.snapshot import CollectionError, ContainerLog, KubeObject, TenantSnapshot

NS = fx.TENANT
T0 = fx.COLLECTED_AT
NOT_ENOUGH = "Failed to schedule model as no matching server had enough suitable replicas"
NO_SERVERS = "Failed to schedule model as no matching servers are available"
IRIS_URI = "gs://seldon-models/scv2/samples/mlserver_1.6.0/iris-sklearn"
SCHEDULER_PORTS = [
    ("xds", 9002),
    ("scheduler", 9004),
    ("scheduler-mtls", 9044),
    ("agent", 9005),
    ("agent-mtls", 9055),
    ("dataflow", 9008),
]
RUNTIME_CONDITIONS = {
    "SchedulerReady": "StatefulSet replicas matches desired replicas",
    "DataflowEngineReady": "Deployment replicas matches desired replicas",
    "ModelGatewayReady": "Deployment replicas matches desired replicas",
    "PipelineGatewayReady": "Deployment replicas matches desired replicas",
    "EnvoyReady": "Deployment replicas matches desired replicas",
    "HodometerReady": "Deployment replicas matches desired replicas",
    "Ready": "",
}

# ----------------------------------------------------------------------------------------------
# Builders: API-shaped dicts, as `kubectl get -o json` shows them.
# ----------------------------------------------------------------------------------------------


def ts(seconds_before: float) -> str:
    return (T0 - timedelta(seconds=seconds_before)).strftime("%Y-%m-%dT%H:%M:%SZ")


def logrus(msg: str, level: str = "info", at: float = 60, **fields: str) -> str:
    """A logrus text-formatter line: time, level, msg, then the fields (quoted when needed)."""

    def quote(value: str) -> str:
        if value and all(c.isalnum() or c in "-._/@^+:" for c in value):
            return value
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    return " ".join(
        [f'time="{ts(at)}"', f"level={level}", f"msg={quote(msg)}", *(f"{k}={quote(v)}" for k, v in fields.items())]
    )


def agent_line(
    msg: str,
    level: str = "info",
    at: float = 60,
    error: str | None = None,
    name: str = "Client",
    func: str = "StartService",
) -> str:
    return logrus(msg, level, at, Name=name, **({"error": error} if error else {}), func=func)


def model(
    name: str,
    *,
    memory: str | None = None,
    server: str | None = None,
    requirements: list[str] | None = None,
    replicas: int | None = None,
    min_replicas: int | None = None,
    state: str = "ModelAvailable",
    reason: str = "",
    storage_uri: str = IRIS_URI,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "storageUri": storage_uri,
        "requirements": ["sklearn"] if requirements is None else requirements,
    }
    for key, value in (("memory", memory), ("server", server), ("replicas", replicas), ("minReplicas", min_replicas)):
        if value is not None:
            spec[key] = value
    ready = "True" if state == "ModelAvailable" else "False"
    cond = {
        "type": "ModelReady",
        "status": ready,
        "message": state,
        "lastTransitionTime": ts(300),
        **({"reason": reason} if reason else {}),
    }
    return {
        "apiVersion": "mlops.seldon.io/v1alpha1",
        "kind": "Model",
        "metadata": {"name": name, "namespace": NS, "uid": f"uid-model-{name}", "generation": 1},
        "spec": spec,
        "status": {
            "conditions": [cond, {**cond, "type": "Ready"}],
            "replicas": replicas or 1,
            "availableReplicas": (replicas or 1) if ready == "True" else 0,
            "modelgwReady": "ModelAvailable" if ready == "True" else f"ModelFailed({reason}) ",
        },
    }


def runtime(conditions: dict[str, str] | None = None, grpc_prefix: str | None = None) -> dict[str, Any]:
    """SeldonRuntime `seldon` as the Helm chart seldon-core-v2-runtime renders it, with a status."""
    docs = yaml.safe_load_all((fx.RENDERED / "runtime.yaml").read_text(encoding="utf-8"))
    doc = next(d for d in docs if d and d["kind"] == "SeldonRuntime")
    # Created weeks ago: a scheduler that started recently has restarted (F16), not just arrived.
    doc["metadata"].update(namespace=NS, uid="uid-runtime", creationTimestamp="2026-10-01T08:00:00Z")
    if grpc_prefix is not None:
        doc["spec"]["config"]["serviceConfig"]["grpcServicePrefix"] = grpc_prefix
    statuses = {**{k: "True" for k in RUNTIME_CONDITIONS}, **(conditions or {})}
    doc["status"] = {
        "conditions": [
            {
                "type": t,
                "status": s,
                "reason": RUNTIME_CONDITIONS[t].replace("matches", "matches" if s == "True" else "does not match"),
            }
            for t, s in statuses.items()
        ]
    }
    return doc


def service(name: str, ports: list[tuple[str, int]], selector: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "type": "LoadBalancer",
            "selector": selector,
            "ports": [{"name": n, "port": p, "protocol": "TCP", "targetPort": p} for n, p in ports],
        },
    }


def endpointslice(svc: str, ips: list[str], ready: bool = True) -> dict[str, Any]:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "addressType": "IPv4",
        "metadata": {"name": f"{svc}-x7k2p", "namespace": NS, "labels": {"kubernetes.io/service-name": svc}},
        "endpoints": [
            {"addresses": [ip], "conditions": {"ready": ready, "serving": ready, "terminating": False}} for ip in ips
        ],
    }


def scheduler_pod(version: str = "2.10.2", started_before: float = 3 * 86400, ready: bool = True) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "seldon-scheduler-0",
            "namespace": NS,
            "labels": {"app.kubernetes.io/name": "seldon-scheduler", "app.kubernetes.io/managed-by": "seldon-core"},
        },
        "spec": {
            "serviceAccountName": "seldon-scheduler",
            "containers": [
                {
                    "name": "scheduler",
                    "image": f"docker.io/seldonio/seldon-scheduler:{version}",
                    "ports": [{"containerPort": p, "name": n} for n, p in SCHEDULER_PORTS],
                }
            ],
        },
        "status": {
            "phase": "Running" if ready else "Pending",
            "podIP": "10.42.5.15",
            "conditions": [{"type": "Ready", "status": str(ready)}],
            "containerStatuses": [
                {
                    "name": "scheduler",
                    "ready": ready,
                    "restartCount": 0,
                    "state": {"running": {"startedAt": ts(started_before)}},
                }
            ],
        },
    }


def agent_role(endpointslices: bool = True, verbs: list[str] | None = None) -> dict[str, Any]:
    rules = [{"apiGroups": [""], "resources": ["configmaps", "secrets"], "verbs": ["get", "list", "watch"]}]
    if endpointslices:
        rules.append(
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": verbs or ["list", "watch"]}
        )
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "agent-role", "namespace": NS},
        "rules": rules,
    }


def event(kind: str, name: str, reason: str, message: str, type_: str = "Warning") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{name}.18a2b", "namespace": NS},
        "involvedObject": {"kind": kind, "name": name, "namespace": NS},
        "reason": reason,
        "message": message,
        "type": type_,
        "count": 12,
        "lastTimestamp": ts(30),
    }


def meta_only(kind: str, name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "namespace": NS}}


# ----------------------------------------------------------------------------------------------
# Tenants
# ----------------------------------------------------------------------------------------------


def container_of(doc: dict[str, Any], name: str) -> dict[str, Any]:
    """A container of a ServerConfig (spec.podSpec) or of a pod spec dict."""
    spec = doc["spec"]["podSpec"] if doc.get("kind") == "ServerConfig" else doc
    return next(c for c in spec["containers"] if c["name"] == name)


def set_env(c: dict[str, Any], name: str, value: str | None = None, **entry: Any) -> None:
    """Replace (or remove, value=None and no entry) one env var of a container in place."""
    c["env"] = [e for e in c.get("env", []) if e["name"] != name]
    if value is not None or entry:
        c["env"].append({"name": name, **({"value": value} if value is not None else entry)})


def config_with(mutate: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    doc = fx.serverconfig()
    mutate(doc)
    return doc


def tenant(
    server_doc: dict[str, Any] | None = None,
    config_doc: dict[str, Any] | None = None,
    *,
    models: list[dict[str, Any]] = (),
    with_runtime: bool = True,
    extra: dict[str, list[dict[str, Any]]] | None = None,
) -> TenantSnapshot:
    """A healthy tenant: the Server Ready, pods running, and (unless with_runtime=False) a Ready
    SeldonRuntime with its scheduler pod, Services, EndpointSlices and agent Role."""
    server_doc = copy.deepcopy(server_doc or fx.server())
    replicas = server_doc["spec"]["replicas"]
    server_doc["status"] = {
        "conditions": [
            {"type": t, "status": "True", "reason": "StatefulSet replicas matches desired replicas"}
            for t in ("StatefulSetOrDeploymentReady", "Ready")
        ],
        "loadedModels": 0,
        "replicas": replicas,
        "selector": "seldon-server-name=mlserver",
    }
    base: dict[str, list[dict[str, Any]]] = {"models": list(models), "events": []}
    if with_runtime:
        base.update(
            seldonruntimes=[runtime()],
            services=[
                service("seldon-scheduler", SCHEDULER_PORTS, {"app.kubernetes.io/name": "seldon-scheduler"}),
                service("seldon-mesh", [("data", 80), ("stats", 9003)], {"app.kubernetes.io/name": "seldon-envoy"}),
                *render_replica_services(server_doc),
            ],
            endpointslices=[
                endpointslice("seldon-scheduler", ["10.42.5.15"]),
                endpointslice("seldon-mesh", ["10.42.5.22"]),
            ],
            roles=[agent_role()],
            serviceaccounts=[meta_only("ServiceAccount", n) for n in ("seldon-scheduler", "seldon-server")],
            configmaps=[meta_only("ConfigMap", n) for n in ("seldon-agent", "seldon-tracing", "seldon-kafka")],
        )
    snap = fx.snapshot(server_doc, config_doc, extra={**base, **(extra or {})})
    for sts in snap.of("statefulsets"):
        sts.status.update(replicas=replicas, readyReplicas=replicas, availableReplicas=replicas)
    for pod in server_pods(snap):
        for status in pod.status["containerStatuses"]:
            status["state"] = {"running": {"startedAt": ts(3600)}}
    if with_runtime and not (extra and "pods" in extra):
        add(snap, "pods", scheduler_pod())
    return snap


def add(snap: TenantSnapshot, kind: str, *docs: dict[str, Any]) -> None:
    snap.objects.setdefault(kind, []).extend(KubeObject.model_validate(d) for d in docs)


def server_pods(snap: TenantSnapshot) -> list[KubeObject]:
    return [p for p in snap.of("pods") if "seldon-server-name" in p.labels]


def pod(snap: TenantSnapshot, name: str = "mlserver-0") -> KubeObject:
    return next(p for p in snap.of("pods") if p.name == name)


def cstatus(snap: TenantSnapshot, pod_name: str, container: str) -> dict[str, Any]:
    return next(s for s in pod(snap, pod_name).status["containerStatuses"] if s["name"] == container)


def set_pod_not_ready(snap: TenantSnapshot, pod_name: str, container: str) -> None:
    cstatus(snap, pod_name, container)["ready"] = False
    pod(snap, pod_name).status["conditions"] = [{"type": "Ready", "status": "False", "reason": "ContainersNotReady"}]


def crashed(snap: TenantSnapshot, pod_name: str, container: str, reason: str, restarts: int) -> None:
    status = cstatus(snap, pod_name, container)
    status.update(
        restartCount=restarts,
        ready=False,
        lastState={"terminated": {"reason": reason, "exitCode": 137, "finishedAt": ts(40)}},
        state={
            "waiting": {
                "reason": "CrashLoopBackOff",
                "message": f"back-off 5m0s restarting failed container={container}",
            }
        },
    )


def server_not_ready(snap: TenantSnapshot, ready_replicas: int) -> None:
    snap.objects["servers"][0].status["conditions"][1].update(
        status="False", reason="StatefulSet replicas does not match desired replicas"
    )
    snap.objects["statefulsets"][0].status["readyReplicas"] = ready_replicas


def add_log(snap: TenantSnapshot, pod_name: str, container: str, *lines: str, previous: bool = False) -> None:
    snap.logs.append(ContainerLog(pod=pod_name, container=container, previous=previous, lines=list(lines)))


def run(check_id: str, snap: TenantSnapshot) -> tuple[CheckResult, list[Finding]]:
    return CATALOGUE[check_id].run(TenantView(snap))


def one(findings: list[Finding], code: str) -> Finding:
    matching = [f for f in findings if f.code == code]
    assert len(matching) == 1, [f.code for f in findings]
    return matching[0]


def field_ev(evidence: list[Evidence], field: str) -> Evidence:
    found = [e for e in evidence if e.field == field]
    assert found, [e.field for e in evidence]
    return found[0]


def log_ev(evidence: list[Evidence], needle: str) -> Evidence:
    found = [e for e in evidence if e.log and needle in e.log.line]
    assert found, [e.summary for e in evidence]
    return found[0]


def summaries(evidence: list[Evidence]) -> str:
    return "\n".join(e.summary for e in evidence)


def symptom_ids(snap: TenantSnapshot) -> set[str]:
    return {s.id for s in collect(TenantView(snap))}


COVERED: set[str] = set()


def covers(*ids: str) -> None:
    COVERED.update(ids)


# ----------------------------------------------------------------------------------------------
# F1 capacity.memory-request
# ----------------------------------------------------------------------------------------------

covers("capacity.memory-request")


def mlserver_resources(resources: dict[str, Any]) -> dict[str, Any]:
    return config_with(lambda doc: container_of(doc, "mlserver").__setitem__("resources", resources))


def f1_tenant() -> TenantSnapshot:
    snap = tenant(
        config_doc=mlserver_resources({"requests": {"cpu": "100m"}}),
        models=[
            model("income", memory="100Mi", state="ScheduleFailed", reason=NOT_ENOUGH),
            model("fraud", memory="200Mi", state="ScheduleFailed", reason=NOT_ENOUGH),
            model("iris"),  # no spec.memory: needs 0 bytes and loads on a zero-capacity server
            model("iris-v2", state="ScheduleFailed", reason=NO_SERVERS),  # no memory, failing for another reason
            model("tf", memory="100Mi", requirements=["tensorflow"], state="ScheduleFailed", reason=NO_SERVERS),
        ],
    )
    for p in ("mlserver-0", "mlserver-1"):
        add_log(
            snap,
            p,
            "agent",
            logrus("Setting memory request from env MEMORY_REQUEST with value 0", at=3500),
            logrus("Setting overcommit percentage from env SELDON_OVERCOMMIT_PERCENTAGE with value 10", at=3500),
            agent_line("Subscribed to scheduler", at=3400),
        )
    return snap


def test_f1_no_memory_request_is_critical_and_explains_only_models_with_memory() -> None:
    snap = f1_tenant()
    result, findings = run("capacity.memory-request", snap)

    assert result.status == "fail"
    found = one(findings, "capacity.memory-request-missing")
    assert (found.severity, found.failure_mode) == ("critical", "F1")
    assert found.id == "capacity.memory-request-missing@server/mlserver"
    assert sorted(found.explains) == ["model/fraud", "model/income"]  # not iris, iris-v2 or tf
    assert found.data["blocked_models"] == ["fraud", "income"]
    assert found.data["serverconfig"] == "mlserver"
    assert found.data["container"] == "mlserver"

    resources = field_ev(found.evidence, "spec.containers[name=mlserver].resources")
    assert resources.object.kind == "Pod" and resources.object.name == "mlserver-0"
    assert resources.value == {"requests": {"cpu": "100m"}}
    source = field_ev(found.evidence, "spec.containers[name=agent].env[name=MEMORY_REQUEST].valueFrom")
    assert source.value == {"containerName": "mlserver", "resource": "requests.memory"}
    line = log_ev(found.evidence, "Setting memory request from env MEMORY_REQUEST with value 0")
    assert line.log.container == "agent" and line.log.pod in {"mlserver-0", "mlserver-1"}
    origin = field_ev(found.evidence, "spec.podSpec.containers[name=mlserver].resources")
    assert origin.object.kind == "ServerConfig" and origin.object.namespace == fx.OPERATOR_NS
    text = summaries(found.evidence)
    assert "Model income (spec.memory 100Mi): ScheduleFailed" in text
    assert "Models without spec.memory still load" in text and "iris" in text
    assert result.evidence == found.evidence


def test_f1_finding_is_the_root_cause_of_the_memory_models() -> None:
    snap = f1_tenant()
    _, findings = run("capacity.memory-request", snap)
    symptoms = collect(TenantView(snap))
    ranked = rank(findings, symptoms)
    top = ranked[0]
    assert top.code == "capacity.memory-request-missing" and top.root_cause
    unexplained = {f.explains[0] for f in ranked if f.code == "symptom.unexplained"}
    assert unexplained == {"model/iris-v2", "model/tf"}


@pytest.mark.parametrize(
    ("resources", "capacity"),
    [
        (None, "1Gi"),  # the default ServerConfig: request and limit 1Gi
        ({"requests": {"cpu": "100m"}, "limits": {"memory": "2Gi"}}, "2Gi"),  # the API server copies a lone limit
        ({"requests": {"cpu": "1", "memory": "1G"}}, "954Mi"),  # kustomize base: 1G, no limit
    ],
    ids=["helm-default", "lone-limit", "kustomize-1G"],
)
def test_f1_memory_set_passes_with_the_capacity_in_the_evidence(resources: dict | None, capacity: str) -> None:
    config = fx.serverconfig() if resources is None else mlserver_resources(resources)
    snap = tenant(
        config_doc=config, models=[model("income", memory="100Mi", state="ScheduleFailed", reason=NOT_ENOUGH)]
    )
    result, findings = run("capacity.memory-request", snap)
    assert result.status == "pass" and findings == []
    assert f"Server mlserver: capacity {capacity} per replica" in summaries(result.evidence)
    assert result.evidence[0].object.name == "mlserver-0"


def test_f1_request_set_through_the_server_podspec_passes() -> None:
    server = fx.server(pod_spec={"containers": [{"name": "mlserver", "resources": {"requests": {"memory": "2Gi"}}}]})
    snap = tenant(server, mlserver_resources({"requests": {"cpu": "100m"}}))
    result, _ = run("capacity.memory-request", snap)
    assert result.status == "pass"
    assert "Server mlserver: capacity 2Gi per replica" in summaries(result.evidence)


def test_f1_evidence_from_the_statefulset_names_the_template_field() -> None:
    snap = tenant(config_doc=mlserver_resources({"requests": {"cpu": "100m"}}), extra={"pods": []})
    _, findings = run("capacity.memory-request", snap)
    found = one(findings, "capacity.memory-request-missing")
    ev = field_ev(found.evidence, "spec.template.spec.containers[name=mlserver].resources")
    assert ev.object.kind == "StatefulSet"


# ----------------------------------------------------------------------------------------------
# F2 capacity.memory-config
# ----------------------------------------------------------------------------------------------

covers("capacity.memory-config")


def _memory_ref(**changes: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        agent = container_of(doc, "agent")
        ref = {"containerName": "mlserver", "resource": "requests.memory", **changes}
        set_env(agent, "MEMORY_REQUEST", valueFrom={"resourceFieldRef": ref})

    return mutate


F2_CASES = {
    "memory-request-removed": (
        lambda doc: set_env(container_of(doc, "agent"), "MEMORY_REQUEST"),
        "1,000,000 bytes",
        "env[name=MEMORY_REQUEST]",
        None,
    ),
    "divisor-1Mi": (
        _memory_ref(divisor="1Mi"),
        "divisor 1Mi",
        "env[name=MEMORY_REQUEST].valueFrom.resourceFieldRef.divisor",
        "1Mi",
    ),
    "container-rclone": (
        _memory_ref(containerName="rclone"),
        "follows container 'rclone'",
        "env[name=MEMORY_REQUEST].valueFrom.resourceFieldRef.containerName",
        "rclone",
    ),
    "container-missing": (
        _memory_ref(containerName="inference"),
        "CreateContainerConfigError",
        "env[name=MEMORY_REQUEST].valueFrom.resourceFieldRef.containerName",
        "inference",
    ),
    "replica-config-no-memory": (
        lambda doc: set_env(
            container_of(doc, "agent"),
            "SELDON_REPLICA_CONFIG",
            json.dumps(
                {
                    "inferenceSvc": "mlserver-0",
                    "inferenceHttpPort": 9000,
                    "inferenceGrpcPort": 9500,
                    "capabilities": ["mlserver", "sklearn"],
                    "overCommitPercentage": 10,
                }
            ),
        ),
        "has no memoryBytes: capacity 0",
        "env[name=SELDON_REPLICA_CONFIG]",
        "inferenceSvc",
    ),
}


@pytest.mark.parametrize("case", sorted(F2_CASES))
def test_f2_wrong_capacity_wiring_is_reported_on_the_agent_env(case: str) -> None:
    mutate, phrase, field, value = F2_CASES[case]
    snap = tenant(
        config_doc=config_with(mutate),
        models=[model("income", memory="100Mi", state="ScheduleFailed", reason=NOT_ENOUGH)],
    )
    result, findings = run("capacity.memory-config", snap)

    assert result.status == "fail"
    found = one(findings, "capacity.memory-config-wrong")
    assert (found.severity, found.failure_mode) == ("high", "F2")
    assert phrase in found.summary and found.summary.startswith("Server mlserver: ")
    ev = field_ev(found.evidence, f"spec.containers[name=agent].{field}")
    assert ev.object.kind == "Pod" and ev.object.name == "mlserver-0"
    if case.startswith("replica-config"):
        assert value in ev.value and "memoryBytes" not in ev.value
    else:
        assert ev.value == value
    assert found.data["serverconfig"] == "mlserver"
    assert found.explains == ["model/income"]


def test_f2_divisor_is_left_to_memory_config_by_memory_request() -> None:
    """Memory is set but resolves to a tiny number: memory-request must not call it 'missing'."""
    snap = tenant(config_doc=config_with(_memory_ref(divisor="1Mi")))
    result, findings = run("capacity.memory-request", snap)
    assert findings == [] and result.status == "pass"
    assert "capacity 1Ki per replica" in summaries(result.evidence)  # 1Gi / 1Mi = 1024 "bytes"


def test_f2_default_wiring_passes() -> None:
    result, findings = run("capacity.memory-config", tenant())
    assert (result.status, findings) == ("pass", [])
    assert "MEMORY_REQUEST is wired" in result.summary


def test_f2_replica_config_with_memory_bytes_passes() -> None:
    config = config_with(
        lambda doc: set_env(
            container_of(doc, "agent"), "SELDON_REPLICA_CONFIG", json.dumps({"memoryBytes": "2147483648"})
        )
    )
    result, _ = run("capacity.memory-config", tenant(config_doc=config))
    assert result.status == "pass"


def test_f2_literal_memory_request_with_a_suffix_is_reported() -> None:
    config = config_with(lambda doc: set_env(container_of(doc, "agent"), "MEMORY_REQUEST", "1Gi"))
    _, findings = run("capacity.memory-config", tenant(config_doc=config))
    assert one(findings, "capacity.memory-config-wrong")


def test_f2_replica_config_with_proto_field_name_passes() -> None:
    config = config_with(
        lambda doc: set_env(
            container_of(doc, "agent"), "SELDON_REPLICA_CONFIG", json.dumps({"memory_bytes": 2147483648})
        )
    )
    result, _ = run("capacity.memory-config", tenant(config_doc=config))
    assert result.status == "pass"


# ----------------------------------------------------------------------------------------------
# F3 capacity.sufficient
# ----------------------------------------------------------------------------------------------

covers("capacity.sufficient")


def test_f3_model_larger_than_request_plus_overcommit() -> None:
    # 1Gi request x 1.10 overcommit = 1.1Gi per replica; 2Gi cannot fit.
    snap = tenant(
        models=[
            model("llm", memory="2Gi", server="mlserver", state="ScheduleFailed", reason=NOT_ENOUGH),
            model("iris", memory="1Gi", server="mlserver"),
        ]
    )
    result, findings = run("capacity.sufficient", snap)
    assert result.status == "fail"
    found = one(findings, "capacity.model-too-large")
    assert (found.severity, found.failure_mode, found.explains) == ("high", "F3", ["model/llm"])
    assert found.subject.kind == "Model" and found.subject.name == "llm"
    assert "needs 2Gi" in found.summary and "offers 1.1Gi" in found.summary
    assert field_ev(found.evidence, "spec.memory").value == "2Gi"
    assert NOT_ENOUGH in field_ev(found.evidence, "status.conditions[type=ModelReady]").summary


def test_f3_model_that_fits_passes() -> None:
    snap = tenant(models=[model("iris", memory="1100Mi", server="mlserver")])  # 1100Mi <= 1.1Gi
    result, findings = run("capacity.sufficient", snap)
    assert (result.status, findings) == ("pass", [])


def test_f3_parallel_workers_multiplier_is_read_from_the_agent_env() -> None:
    server = fx.server(
        pod_spec={"containers": [{"name": "agent", "env": [{"name": "MLSERVER_PARALLEL_WORKERS", "value": "2"}]}]}
    )
    snap = tenant(
        server, models=[model("bert", memory="600Mi", server="mlserver", state="ScheduleFailed", reason=NOT_ENOUGH)]
    )
    _, findings = run("capacity.sufficient", snap)
    found = one(findings, "capacity.model-too-large")
    assert "needs 1.17Gi" in found.summary
    assert field_ev(found.evidence, "spec.memory").summary == "spec.memory 600Mi x 2 workers"


def test_f3_parallel_workers_on_the_mlserver_container_do_not_multiply() -> None:
    server = fx.server(
        pod_spec={"containers": [{"name": "mlserver", "env": [{"name": "MLSERVER_PARALLEL_WORKERS", "value": "4"}]}]}
    )
    snap = tenant(server, models=[model("bert", memory="600Mi", server="mlserver")])
    result, findings = run("capacity.sufficient", snap)
    assert (result.status, findings) == ("pass", [])


def test_f3_memory_will_go_below_zero_is_reported_even_when_the_model_fits_on_paper() -> None:
    snap = tenant(
        models=[
            model(
                "xgb",
                memory="500Mi",
                server="mlserver",
                state="ModelFailed",
                reason="Memory will go below zero 1048576000",
            )
        ]
    )
    _, findings = run("capacity.sufficient", snap)
    assert one(findings, "capacity.model-too-large").explains == ["model/xgb"]


def test_f3_model_without_spec_server_larger_than_every_replica() -> None:
    snap = tenant(models=[model("llm", memory="2Gi", state="ScheduleFailed", reason=NOT_ENOUGH)])
    _, findings = run("capacity.sufficient", snap)
    assert one(findings, "capacity.model-too-large").explains == ["model/llm"]


# ----------------------------------------------------------------------------------------------
# F4 agent.inference-server
# ----------------------------------------------------------------------------------------------

covers("agent.inference-server")

REFUSED_9500 = (
    'rpc error: code = Unavailable desc = connection error: desc = "transport: Error while '
    'dialing: dial tcp 0.0.0.0:9500: connect: connection refused"'
)


def waiting_inference(snap: TenantSnapshot, pod_name: str, error: str = REFUSED_9500, n: int = 3) -> None:
    add_log(
        snap,
        pod_name,
        "agent",
        *[
            agent_line(
                "Waiting for Inference Server service to become ready... next check in 1.5s",
                at=120 - i,
                error=error,
                name="AgentServiceManager",
                func="WaitReadySubServices",
            )
            for i in range(n)
        ],
    )


def test_f4_inference_host_arg_in_the_server_cr() -> None:
    server = fx.server(pod_spec={"containers": [{"name": "agent", "args": ["--inference-host=10.42.3.17"]}]})
    snap = tenant(server, models=[model("iris", state="ScheduleFailed", reason=NO_SERVERS)])
    waiting_inference(
        snap,
        "mlserver-0",
        error=REFUSED_9500.replace("0.0.0.0:9500: connect: connection refused", "10.42.3.17:9500: i/o timeout"),
    )
    set_pod_not_ready(snap, "mlserver-0", "agent")
    server_not_ready(snap, 1)
    result, findings = run("agent.inference-server", snap)

    assert result.status == "fail"
    found = one(findings, "agent.inference-host-not-loopback")
    assert (found.severity, found.failure_mode) == ("critical", "F4")
    assert found.data == {"server": "mlserver", "host": "10.42.3.17", "defined_in": "server"}
    arg = field_ev(found.evidence, "spec.containers[name=agent].args")
    assert arg.value == "--inference-host=10.42.3.17"
    assert "no current pod has IP 10.42.3.17" in arg.summary
    assert log_ev(found.evidence, "10.42.3.17:9500: i/o timeout").log.pod == "mlserver-0"
    assert {"server/mlserver", "pod/mlserver-0", "pod/mlserver-1", "model/iris"} <= set(found.explains)
    assert {"server/mlserver", "pod/mlserver-0", "model/iris"} <= symptom_ids(snap)


@pytest.mark.parametrize("layer", ["server", "serverconfig", "statefulset"])
def test_f4_inference_host_names_the_layer_that_sets_it(layer: str) -> None:
    arg = "--inference-host=10.42.3.17"
    server, config = fx.server(), fx.serverconfig()
    if layer == "server":
        server = fx.server(pod_spec={"containers": [{"name": "agent", "args": [arg]}]})
    elif layer == "serverconfig":
        container_of(config, "agent")["args"].append(arg)
    snap = tenant(server, config)
    if layer == "statefulset":  # someone edited the StatefulSet directly: only the pods have it
        for p in server_pods(snap):
            container_of(p.spec, "agent")["args"].append(arg)
    _, findings = run("agent.inference-server", snap)
    assert one(findings, "agent.inference-host-not-loopback").data["defined_in"] == layer


@pytest.mark.parametrize(
    ("host", "phrase"),
    [
        ("127.0.0.1", "hides MLServer from the kubelet probes (startupProbe, readinessProbe, livenessProbe)"),
        ("10.42.0.7", "binds MLServer where the agent does not dial"),
    ],
)
def test_f4_mlserver_host(host: str, phrase: str) -> None:
    server = fx.server(
        pod_spec={"containers": [{"name": "mlserver", "env": [{"name": "MLSERVER_HOST", "value": host}]}]}
    )
    snap = tenant(server)
    crashed(snap, "mlserver-0", "mlserver", "Error", 6)
    add_log(
        snap,
        "mlserver-0",
        "mlserver",
        f"2026-11-26 08:58:41,512 [mlserver.rest] INFO - HTTP server running on http://{host}:9000",
        f"2026-11-26 08:58:41,530 [mlserver.grpc] INFO - gRPC server running on http://{host}:9500",
    )
    result, findings = run("agent.inference-server", snap)

    assert result.status == "fail"
    found = one(findings, "agent.mlserver-host")
    assert (found.severity, found.failure_mode) == ("critical", "F4")
    assert phrase in found.summary
    assert found.data == {"server": "mlserver", "container": "mlserver", "host": host, "defined_in": "server"}
    assert field_ev(found.evidence, "spec.containers[name=mlserver].env[name=MLSERVER_HOST]").value == host
    assert log_ev(found.evidence, f"gRPC server running on http://{host}:9500").log.container == "mlserver"
    assert "pod mlserver-0: mlserver restarted 6 times, last exit Error" in summaries(found.evidence)
    if host == "127.0.0.1":
        assert "httpGet probes call the pod IP" in found.explanation
        assert "Remove MLSERVER_HOST" in found.explanation


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("server-cr", ["SELDON_SERVER_GRPC_PORT", "MLSERVER_GRPC_PORT", "9500", "8081"]),
        ("unset-in-serverconfig", ["SELDON_SERVER_GRPC_PORT", "MLSERVER_GRPC_PORT", "9500", "8081"]),
        ("agent-http", ["SELDON_SERVER_HTTP_PORT", "MLSERVER_HTTP_PORT", "9001", "9000"]),
    ],
)
def test_f4_port_mismatch_between_agent_and_mlserver(where: str, expected: list[str]) -> None:
    server, config = fx.server(), fx.serverconfig()
    if where == "server-cr":
        server = fx.server(
            pod_spec={"containers": [{"name": "mlserver", "env": [{"name": "MLSERVER_GRPC_PORT", "value": "8081"}]}]}
        )
    elif where == "unset-in-serverconfig":  # MLServer's own default gRPC port is 8081
        set_env(container_of(config, "mlserver"), "MLSERVER_GRPC_PORT")
    else:
        set_env(container_of(config, "agent"), "SELDON_SERVER_HTTP_PORT", "9001")
    result, findings = run("agent.inference-server", tenant(server, config))
    assert result.status == "fail"
    found = one(findings, "agent.inference-port-mismatch")
    assert (found.severity, found.failure_mode) == ("critical", "F4")
    assert found.data["mismatches"] == [expected]
    ev = field_ev(found.evidence, f"spec.containers[name=agent].env[name={expected[0]}]")
    assert ev.value == expected[2] and f"{expected[1]}={expected[3]}" in ev.summary


def test_f4_generic_waiting_lines_with_default_config_blame_the_inference_server() -> None:
    snap = tenant(models=[model("iris", state="ScheduleFailed", reason=NO_SERVERS)])
    waiting_inference(snap, "mlserver-0")
    add_log(
        snap,
        "mlserver-0",
        "agent",
        agent_line(
            "Giving up on waiting for Inference Server service to become ready; service marked as failed",
            level="error",
            at=20,
            name="AgentServiceManager",
            func="WaitReadySubServices",
        ),
        previous=True,
    )
    crashed(snap, "mlserver-0", "mlserver", "OOMKilled", 3)
    result, findings = run("agent.inference-server", snap)

    assert result.status == "fail"
    found = one(findings, "agent.inference-server-down")
    assert (found.severity, found.failure_mode) == ("high", "F4")
    assert "the agent cannot reach the inference server" in found.summary
    assert found.summary.endswith('dial tcp 0.0.0.0:9500: connect: connection refused")')
    assert "connection refused" in log_ev(found.evidence, "Waiting for Inference Server service").log.line
    assert "pod mlserver-0: mlserver restarted 3 times, last exit OOMKilled" in summaries(found.evidence)
    assert "model/iris" in found.explains and "server/mlserver" in found.explains


def test_f4_waiting_lines_during_a_normal_startup_pass() -> None:
    """MLServer takes a few seconds to boot: 'Waiting for ...' followed by success is not F4."""
    snap = tenant()
    waiting_inference(snap, "mlserver-0")
    add_log(
        snap,
        "mlserver-0",
        "agent",
        agent_line("All critical agent subservices ready.", at=100, name="AgentServiceManager"),
    )
    result, findings = run("agent.inference-server", snap)
    assert (result.status, findings) == ("pass", [])


@pytest.mark.parametrize("extra_arg", [None, "--inference-host=127.0.0.1", "--inference-host=0.0.0.0"])
def test_f4_default_and_loopback_hosts_pass(extra_arg: str | None) -> None:
    server = None
    if extra_arg is not None:
        server = fx.server(pod_spec={"containers": [{"name": "agent", "args": [extra_arg]}]})
    result, findings = run("agent.inference-server", tenant(server))
    assert (result.status, findings) == ("pass", [])


# ----------------------------------------------------------------------------------------------
# F5 agent.rclone
# ----------------------------------------------------------------------------------------------

covers("agent.rclone")


def test_f5_rclone_not_ready() -> None:
    snap = tenant()
    add_log(
        snap,
        "mlserver-1",
        "agent",
        *[
            agent_line(
                "Waiting for Model Repository (rclone) service to become ready... next check in 3s",
                at=90 - i,
                error='Post "http://0.0.0.0:5572/rc/noop": dial tcp 0.0.0.0:5572: connect: connection refused',
                name="AgentServiceManager",
                func="WaitReadySubServices",
            )
            for i in range(3)
        ],
    )
    crashed(snap, "mlserver-1", "rclone", "Error", 5)
    set_pod_not_ready(snap, "mlserver-1", "rclone")
    result, findings = run("agent.rclone", snap)

    assert result.status == "fail"
    found = one(findings, "agent.rclone-not-ready")
    assert (found.severity, found.failure_mode) == ("high", "F5")
    assert log_ev(found.evidence, "rc/noop").log.pod == "mlserver-1"
    ready = field_ev(found.evidence, "status.containerStatuses[name=rclone].ready")
    assert ready.object.name == "mlserver-1" and ready.value is False
    assert "pod mlserver-1: rclone restarted 5 times, last exit Error" in summaries(found.evidence)
    assert "pod/mlserver-1" in found.explains


def test_f5_rclone_ready_passes() -> None:
    result, findings = run("agent.rclone", tenant())
    assert (result.status, findings) == ("pass", [])


# ----------------------------------------------------------------------------------------------
# F6 agent.scheduler
# ----------------------------------------------------------------------------------------------

covers("agent.scheduler")

DIAL = 'rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: {}"'
SCHEDULER_ERRORS = {
    "no-such-host": (DIAL.format("dial tcp: lookup seldon-scheduler on 10.43.0.10:53: no such host"), "DNS"),
    "io-timeout": (DIAL.format("dial tcp 10.43.88.14:9005: i/o timeout"), "NetworkPolicy or firewall"),
    "refused": (DIAL.format("dial tcp 10.43.88.14:9005: connect: connection refused"), "not listening"),
    "tls": (
        'rpc error: code = Unavailable desc = connection error: desc = "transport: authentication '
        'handshake failed: tls: first record does not look like a TLS handshake"',
        "TLS mismatch",
    ),
}


def scheduler_log(snap: TenantSnapshot, *lines: str) -> None:
    add_log(snap, "seldon-scheduler-0", "scheduler", logrus("Scheduler is ready", at=86000, Name="Scheduler"), *lines)


def subscribe(replica: str, at: float = 3000) -> str:
    return logrus(f"Received agent subscribe request from {replica}", at=at, Name="AgentServer", func="Subscribe")


def disconnect(replica: str, at: float) -> str:
    return logrus(
        f"Client replica {replica} has disconnected", level="warning", at=at, Name="AgentServer", func="Subscribe"
    )


@pytest.mark.parametrize("case", sorted(SCHEDULER_ERRORS))
def test_f6_agent_cannot_reach_the_scheduler_and_the_error_is_classified(case: str) -> None:
    error, meaning = SCHEDULER_ERRORS[case]
    snap = tenant(models=[model("iris", state="ScheduleFailed", reason=NO_SERVERS)])
    for p in ("mlserver-0", "mlserver-1"):
        add_log(
            snap,
            p,
            "agent",
            agent_line("Connecting (non-blocking) to scheduler at seldon-scheduler:9005", at=600),
            *[agent_line("Scheduler not ready", level="error", at=500 - 15 * i, error=error) for i in range(3)],
        )
        set_pod_not_ready(snap, p, "agent")
    scheduler_log(snap)
    result, findings = run("agent.scheduler", snap)

    assert result.status == "fail"
    found = one(findings, "agent.scheduler-unreachable")
    assert (found.severity, found.failure_mode) == ("high", "F6")
    assert found.data["error"] == error
    assert meaning in found.data["cause"] and meaning in found.summary
    assert log_ev(found.evidence, "Scheduler not ready").log.container == "agent"
    no_subscribe = "scheduler log: no 'Received agent subscribe request from mlserver:<i>'"
    assert no_subscribe in summaries(found.evidence)
    assert field_ev(found.evidence, "status.conditions[type=Ready]").object.name == "mlserver-0"
    assert {"server/mlserver", "pod/mlserver-0", "pod/mlserver-1", "model/iris"} <= set(found.explains)


def test_f6_subscribed_agents_pass_with_the_scheduler_lines_as_evidence() -> None:
    snap = tenant()
    for p in ("mlserver-0", "mlserver-1"):
        add_log(
            snap,
            p,
            "agent",
            agent_line("Call subscribe to scheduler", at=3001),
            agent_line("Subscribed to scheduler", at=3000),
        )
    scheduler_log(snap, subscribe("mlserver:0"), subscribe("mlserver:1"))
    result, findings = run("agent.scheduler", snap)
    assert (result.status, findings) == ("pass", [])
    assert "scheduler saw subscriptions from mlserver:0, mlserver:1" in summaries(result.evidence)


def test_f6_endpointslice_errors_are_left_to_the_gate_check() -> None:
    snap = tenant()
    add_log(snap, "mlserver-0", "agent", agent_line("Scheduler not ready", level="error", error=GATE_TIMEOUT))
    _, findings = run("agent.scheduler", snap)
    assert findings == []


def test_f6_transient_error_followed_by_a_subscription_passes() -> None:
    """A startup retry before the scheduler answered is not F6 once the agent subscribed."""
    snap = tenant()
    add_log(
        snap,
        "mlserver-0",
        "agent",
        agent_line("Scheduler not ready", level="error", at=3100, error=SCHEDULER_ERRORS["refused"][0]),
        agent_line("Subscribed to scheduler", at=3000),
    )
    scheduler_log(snap, subscribe("mlserver:0"), subscribe("mlserver:1"))
    result, _ = run("agent.scheduler", snap)
    assert result.status == "pass"


# ----------------------------------------------------------------------------------------------
# F8 agent.endpointslice-gate
# ----------------------------------------------------------------------------------------------

covers("agent.endpointslice-gate")

GATE_ERROR = "failed waiting to check if pod's IP is published to endpoints: "
GATE_TIMEOUT = GATE_ERROR + "context deadline exceeded"
FORBIDDEN = (
    GATE_ERROR + "endpointslices.discovery.k8s.io is forbidden: "
    'User "system:serviceaccount:financial-ml:seldon-server" cannot list resource '
    '"endpointslices" in API group "discovery.k8s.io" in the namespace "financial-ml"'
)


def flapping(snap: TenantSnapshot, error: str = FORBIDDEN) -> None:
    for p in ("mlserver-0", "mlserver-1"):
        add_log(
            snap,
            p,
            "agent",
            agent_line("Subscribed to scheduler", at=400),
            agent_line("Checking pod has IP published in endpoints", at=399),
            agent_line("Scheduler not ready", level="error", at=339, error=error),
            agent_line("Subscribed to scheduler", at=320),
        )
    scheduler_log(
        snap,
        subscribe("mlserver:0", 400),
        disconnect("mlserver:0", 339),
        subscribe("mlserver:0", 320),
        disconnect("mlserver:0", 260),
    )


def test_f8_agent_210_without_endpointslice_rbac() -> None:
    snap = tenant(extra={"roles": [agent_role(endpointslices=False)]}, models=[model("iris", state="ModelProgressing")])
    flapping(snap)
    result, findings = run("agent.endpointslice-gate", snap)

    assert result.status == "fail"
    found = one(findings, "agent.endpointslice-gate")
    assert (found.severity, found.failure_mode) == ("high", "F8")
    assert found.data["causes"] == ["Role agent-role lacks list/watch on endpointslices (runtime older than the agent)"]
    assert "lacks list/watch on endpointslices" in found.summary
    assert log_ev(found.evidence, "cannot list resource").log.container == "agent"
    assert log_ev(found.evidence, "Client replica mlserver:0 has disconnected").log.container == "scheduler"
    assert {"server/mlserver", "model/iris"} <= set(found.explains)


def test_f8_missing_replica_service_is_a_cause() -> None:
    snap = tenant()
    snap.objects["services"] = [s for s in snap.objects["services"] if s.name != "mlserver-1"]
    flapping(snap, error=GATE_TIMEOUT)
    _, findings = run("agent.endpointslice-gate", snap)
    causes = one(findings, "agent.endpointslice-gate").data["causes"]
    assert causes == ["per-replica Service(s) missing: mlserver-1"]


def test_f8_agent_291_is_not_judged() -> None:
    config = config_with(
        lambda d: container_of(d, "agent").__setitem__("image", "docker.io/seldonio/seldon-agent:2.9.1")
    )
    snap = tenant(config_doc=config, extra={"roles": [agent_role(endpointslices=False)]})
    flapping(snap)  # the same lines as the 2.10 case: only the image tag tells them apart
    result, findings = run("agent.endpointslice-gate", snap)
    assert (result.status, findings) == ("pass", [])


def test_f8_gate_error_followed_by_a_model_load_passes() -> None:
    snap = tenant()
    add_log(
        snap,
        "mlserver-0",
        "agent",
        agent_line("Scheduler not ready", level="error", at=400, error=GATE_TIMEOUT),
        agent_line("Subscribed to scheduler", at=380),
        agent_line("Load model iris:1", at=370, name="Client", func="LoadModel"),
        agent_line("Load model iris:1 success", at=360, name="Client", func="LoadModel"),
    )
    result, findings = run("agent.endpointslice-gate", snap)
    assert (result.status, findings) == ("pass", [])


def test_f8_default_passes() -> None:
    snap = tenant()
    scheduler_log(snap, subscribe("mlserver:0"), subscribe("mlserver:1"))
    result, findings = run("agent.endpointslice-gate", snap)
    assert (result.status, findings) == ("pass", [])


def test_f8_wildcard_verbs_grant_list_and_watch() -> None:
    snap = tenant(extra={"roles": [agent_role(verbs=["*"])]})
    flapping(snap, error=GATE_TIMEOUT)
    _, findings = run("agent.endpointslice-gate", snap)
    assert not any("agent-role" in c for c in one(findings, "agent.endpointslice-gate").data["causes"])


# ----------------------------------------------------------------------------------------------
# F9 agent.zombie
# ----------------------------------------------------------------------------------------------

covers("agent.zombie")


def zombie_tenant(agent_image: str = "docker.io/seldonio/seldon-agent:2.10.2") -> TenantSnapshot:
    config = config_with(lambda d: container_of(d, "agent").__setitem__("image", agent_image))
    snap = tenant(
        config_doc=config,
        extra={
            "events": [
                event(
                    "Pod", "mlserver-0", "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 404"
                )
            ]
        },
    )
    add_log(
        snap,
        "mlserver-0",
        "agent",
        agent_line("All critical agent subservices ready.", at=7000, name="AgentServiceManager"),
        agent_line("Subscribed to scheduler", at=6990),
        agent_line(
            "Waiting for Inference Server service to become ready... next check in 4s",
            at=700,
            error=REFUSED_9500,
            name="AgentServiceManager",
            func="WaitReadySubServices",
        ),
        agent_line(
            "Giving up on waiting for Inference Server service to become ready; service marked as failed",
            level="error",
            at=670,
            name="AgentServiceManager",
        ),
        agent_line("Shutting down stream to scheduler", at=669),
        agent_line("Stopping", at=669, name="AgentServiceManager"),
        *[
            logrus(
                "Agent readiness HTTP handler failed, target not set",
                level="warning",
                at=600 - 5 * i,
                Name="ReadinessService",
            )
            for i in range(3)
        ],
    )
    crashed(snap, "mlserver-0", "mlserver", "OOMKilled", 1)
    cstatus(snap, "mlserver-0", "mlserver").update(ready=True, state={"running": {"startedAt": ts(650)}})
    set_pod_not_ready(snap, "mlserver-0", "agent")
    return snap


def test_f9_zombie_agent() -> None:
    snap = zombie_tenant()
    result, findings = run("agent.zombie", snap)
    assert result.status == "fail"
    found = one(findings, "agent.zombie")
    assert (found.severity, found.failure_mode) == ("high", "F9")
    assert found.id == "agent.zombie@pod/mlserver-0"
    assert found.explains == ["pod/mlserver-0", "server/mlserver"]
    assert "pod/mlserver-0" in symptom_ids(snap)
    log_ev(found.evidence, "Giving up on waiting for Inference Server")
    log_ev(found.evidence, "target not set")
    assert field_ev(found.evidence, "status.containerStatuses[name=agent]").value == {"running": True, "ready": False}
    assert "statuscode: 404" in field_ev(found.evidence, "message").value
    assert "Restart the pod" in found.explanation


def _agent_recovered(snap: TenantSnapshot) -> None:
    cstatus(snap, "mlserver-0", "agent")["ready"] = True


def _agent_restarting(snap: TenantSnapshot) -> None:
    cstatus(snap, "mlserver-0", "agent")["state"] = {"waiting": {"reason": "CrashLoopBackOff"}}


def _never_subscribed(snap: TenantSnapshot) -> None:
    snap.logs[0].lines = [ln for ln in snap.logs[0].lines if "Subscribed to scheduler" not in ln]


@pytest.mark.parametrize(
    "change",
    [_agent_recovered, _agent_restarting, _never_subscribed],
    ids=["agent-ready", "agent-not-running", "never-subscribed"],
)
def test_f9_not_a_zombie(change: Callable[[TenantSnapshot], None]) -> None:
    snap = zombie_tenant()
    change(snap)
    result, findings = run("agent.zombie", snap)
    assert (result.status, findings) == ("pass", [])


def test_f9_agent_291_exits_instead_and_is_not_judged() -> None:
    result, findings = run("agent.zombie", zombie_tenant("docker.io/seldonio/seldon-agent:2.9.1"))
    assert (result.status, findings) == ("pass", [])


# ----------------------------------------------------------------------------------------------
# F15 agent.version-skew
# ----------------------------------------------------------------------------------------------

covers("agent.version-skew")


def versions(agent: str, scheduler: str | None, drop_readiness_port: bool = False) -> TenantSnapshot:
    def mutate(doc: dict[str, Any]) -> None:
        c = container_of(doc, "agent")
        c["image"] = f"docker.io/seldonio/seldon-agent:{agent}"
        if drop_readiness_port:
            set_env(c, "SELDON_READINESS_PORT")

    snap = tenant(config_doc=config_with(mutate))
    snap.objects["pods"] = [p for p in snap.objects["pods"] if p.name != "seldon-scheduler-0"]
    if scheduler:
        add(snap, "pods", scheduler_pod(scheduler))
    return snap


@pytest.mark.parametrize(
    ("agent", "scheduler", "drop_port", "problem"),
    [
        ("2.10.2", "2.9.1", False, "agent 2.10.2 with scheduler 2.9.1"),
        ("2.8.0", "2.8.0", False, "agent 2.8.0 predates the /ready endpoint its probe calls on 9008"),
        ("2.10.2", "2.10.2", True, "agent 2.10.2 needs SELDON_READINESS_PORT (no flag exists; default 0)"),
    ],
)
def test_f15_version_skew(agent: str, scheduler: str, drop_port: bool, problem: str) -> None:
    snap = versions(agent, scheduler, drop_port)
    result, findings = run("agent.version-skew", snap)
    assert result.status == "fail"
    found = one(findings, "agent.version-skew")
    assert (found.severity, found.failure_mode) == ("medium", "F15")
    assert found.data["problems"] == [problem]
    image = field_ev(found.evidence, "spec.containers[name=agent].image")
    assert image.value == f"docker.io/seldonio/seldon-agent:{agent}" and image.object.name == "mlserver-0"
    assert not any(s.startswith("model/") for s in found.explains)


def test_f15_291_agent_does_not_need_endpointslice_rbac() -> None:
    snap = versions("2.9.1", "2.9.1")
    snap.objects["roles"] = [KubeObject.model_validate(agent_role(endpointslices=False))]
    result, findings = run("agent.version-skew", snap)
    assert (result.status, findings) == ("pass", [])


def test_f15_210_agent_with_an_old_runtime_role() -> None:
    snap = versions("2.10.2", "2.10.2")
    snap.objects["roles"] = [KubeObject.model_validate(agent_role(endpointslices=False))]
    _, findings = run("agent.version-skew", snap)
    assert one(findings, "agent.version-skew").data["problems"] == [
        "agent 2.10.2 needs list/watch on endpointslices in Role agent-role"
    ]


@pytest.mark.parametrize("scheduler", ["2.10.2", "2.10.0", None])
def test_f15_same_minor_version_passes(scheduler: str | None) -> None:
    result, findings = run("agent.version-skew", versions("2.10.2", scheduler))
    assert (result.status, findings) == ("pass", [])


# ----------------------------------------------------------------------------------------------
# F6/F7 runtime.present, runtime.ready, runtime.services
# ----------------------------------------------------------------------------------------------

covers("runtime.present", "runtime.ready", "runtime.services")

SA_NOT_FOUND = (
    'create Pod mlserver-0 in StatefulSet mlserver failed error: pods "mlserver-0" is forbidden: '
    'error looking up service account financial-ml/seldon-server: serviceaccount "seldon-server" '
    "not found"
)


def test_f7_servers_without_a_seldonruntime() -> None:
    server = fx.server()
    no_host = DIAL.format("dial tcp: lookup seldon-scheduler.financial-ml on 10.96.0.10:53: no such host")
    leftovers: dict[str, list[dict[str, Any]]] = {
        "seldonruntimes": [],
        "pods": [],
        "services": render_replica_services(server),
        "serviceaccounts": [],
        "configmaps": [meta_only("ConfigMap", "kube-root-ca.crt")],
        "events": [event("StatefulSet", "mlserver", "FailedCreate", SA_NOT_FOUND)],
    }
    snap = tenant(
        server, with_runtime=False, extra=leftovers, models=[model("iris", state="ModelProgressing", reason=no_host)]
    )
    server_not_ready(snap, 0)
    result, findings = run("runtime.present", snap)

    assert result.status == "fail"
    found = one(findings, "runtime.missing")
    assert (found.severity, found.failure_mode) == ("critical", "F7")
    assert found.id == "runtime.missing@namespace/financial-ml"
    assert {"server/mlserver", "model/iris"} <= set(found.explains)
    assert symptom_ids(snap) <= set(found.explains)
    text = summaries(found.evidence)
    assert "no SeldonRuntime in namespace financial-ml" in text
    assert "service seldon-scheduler does not exist" in text
    assert "serviceaccount seldon-server does not exist" in text
    assert "configmap seldon-agent does not exist" in text
    assert field_ev(found.evidence, "message").value == SA_NOT_FOUND


def test_f7_runtime_present_passes() -> None:
    result, findings = run("runtime.present", tenant())
    assert (result.status, findings) == ("pass", [])
    assert result.evidence[0].object.kind == "SeldonRuntime" and result.evidence[0].object.name == "seldon"


def test_f7_empty_namespace_is_skipped() -> None:
    empty: dict[str, list[dict[str, Any]]] = {
        kind: [] for kind in ("seldonruntimes", "servers", "statefulsets", "pods")
    }
    snap = tenant(with_runtime=False, extra=empty)
    result, findings = run("runtime.present", snap)
    assert (result.status, findings) == ("skip", [])
    assert "not a Seldon tenant" in result.summary


@pytest.mark.parametrize(
    ("condition", "component", "severity", "explains_all"),
    [
        ("SchedulerReady", "seldon-scheduler", "critical", True),
        ("EnvoyReady", "seldon-envoy", "high", False),
        ("HodometerReady", "hodometer", "low", False),
    ],
)
def test_runtime_component_not_ready(condition: str, component: str, severity: str, explains_all: bool) -> None:
    snap = tenant(
        models=[model("iris", state="ScheduleFailed", reason=NO_SERVERS)],
        extra={"seldonruntimes": [runtime({condition: "False", "Ready": "False"})]},
    )
    if component == "seldon-scheduler":
        snap.objects["pods"] = [p for p in snap.objects["pods"] if p.name != "seldon-scheduler-0"]
        add(snap, "pods", scheduler_pod(ready=False))
    result, findings = run("runtime.ready", snap)

    assert result.status == ("warn" if severity == "low" else "fail")
    found = one(findings, "runtime.component-not-ready")
    assert found.severity == severity
    assert found.subject.name == component
    cond = field_ev(found.evidence, f"status.conditions[type={condition}]")
    assert cond.value == "False" and "does not match desired replicas" in cond.summary
    if explains_all:
        assert {"server/mlserver", "model/iris", "pod/mlserver-0"} <= set(found.explains)
        assert "pod seldon-scheduler-0 phase Pending" in summaries(found.evidence)
    else:
        assert found.explains == ["runtime/seldon"]
        assert "runtime/seldon" in symptom_ids(snap)


def test_runtime_ready_passes() -> None:
    result, findings = run("runtime.ready", tenant())
    assert (result.status, findings) == ("pass", [])


def test_runtime_without_status_is_not_ready() -> None:
    doc = runtime()
    doc["status"] = {}
    result, _ = run("runtime.ready", tenant(extra={"seldonruntimes": [doc]}))
    assert result.status != "pass"


def test_runtime_scheduler_service_missing() -> None:
    snap = tenant(models=[model("iris", state="ScheduleFailed", reason=NO_SERVERS)])
    snap.objects["services"] = [s for s in snap.objects["services"] if s.name != "seldon-scheduler"]
    result, findings = run("runtime.services", snap)
    assert result.status == "fail"
    found = one(findings, "runtime.service-missing")
    assert found.severity == "critical"
    assert (found.subject.kind, found.subject.name) == ("Service", "seldon-scheduler")
    assert {"server/mlserver", "model/iris", "pod/mlserver-0"} <= set(found.explains)
    assert "no Service seldon-scheduler in financial-ml" in summaries(found.evidence)


def test_runtime_scheduler_service_without_ready_endpoints() -> None:
    snap = tenant(
        extra={
            "endpointslices": [
                endpointslice("seldon-scheduler", ["10.42.5.15"], ready=False),
                endpointslice("seldon-mesh", ["10.42.5.22"]),
            ]
        }
    )
    _, findings = run("runtime.services", snap)
    found = one(findings, "runtime.service-no-endpoints")
    assert (found.severity, found.subject.name) == ("critical", "seldon-scheduler")
    ev = field_ev(found.evidence, "endpoints")
    assert ev.value == 0 and ev.object.name == "seldon-scheduler"


def test_runtime_mesh_without_endpoints_and_scheduler_missing_agent_port() -> None:
    snap = tenant(extra={"endpointslices": [endpointslice("seldon-scheduler", ["10.42.5.15"])]})
    svc = next(s for s in snap.objects["services"] if s.name == "seldon-scheduler")
    svc.spec["ports"] = [p for p in svc.spec["ports"] if p["port"] != 9005]
    _, findings = run("runtime.services", snap)
    ports = one(findings, "runtime.service-ports")
    assert ports.severity == "high" and "[9005]" in ports.summary
    mesh = one(findings, "runtime.service-no-endpoints")
    assert (mesh.severity, mesh.subject.name, mesh.explains) == ("high", "seldon-mesh", [])


def test_runtime_services_pass() -> None:
    result, findings = run("runtime.services", tenant())
    assert (result.status, findings) == ("pass", [])
    assert "seldon-scheduler: ports [9002, 9004, 9005, 9008, 9044, 9055], 1 ready endpoint(s)" in summaries(
        result.evidence
    )


# ----------------------------------------------------------------------------------------------
# server.ready, server.serverconfig, server.pods, server.ownership
# ----------------------------------------------------------------------------------------------

covers("server.ready", "server.serverconfig", "server.pods", "server.ownership")


def test_server_not_ready() -> None:
    snap = tenant()
    server_not_ready(snap, 1)
    result, findings = run("server.ready", snap)
    assert (result.status, result.summary, findings) == ("fail", "0/1 Servers Ready", [])
    ev = field_ev(result.evidence, "status.conditions[type=Ready]")
    assert ev.object.name == "mlserver" and ev.value == "False"
    assert "1/2 pods ready (StatefulSet replicas does not match desired replicas)" in ev.summary


def test_server_ready_passes() -> None:
    result, _ = run("server.ready", tenant())
    assert (result.status, result.summary) == ("pass", "1/1 Servers Ready")
    assert "Ready=True, 2/2 pods ready" in result.evidence[0].summary


def test_serverconfig_missing() -> None:
    server = fx.server()
    server["spec"]["serverConfig"] = "mlserver-gpu"
    snap = tenant(server, fx.serverconfig(), extra={"serverconfigs": [fx.serverconfig()]})
    result, findings = run("server.serverconfig", snap)
    assert result.status == "fail"
    found = one(findings, "server.serverconfig-missing")
    assert (found.severity, found.explains) == ("critical", ["server/mlserver"])
    assert "'mlserver-gpu', which is not in namespace seldon-mesh" in found.summary
    assert field_ev(found.evidence, "spec.serverConfig").value == "mlserver-gpu"
    assert "ServerConfigs there: mlserver" in summaries(found.evidence)


def test_serverconfig_present_passes() -> None:
    result, findings = run("server.serverconfig", tenant())
    assert (result.status, findings) == ("pass", [])


def _config_error(snap: TenantSnapshot) -> str:
    cstatus(snap, "mlserver-0", "agent").update(
        ready=False,
        state={"waiting": {"reason": "CreateContainerConfigError", "message": 'secret "minio-credentials" not found'}},
    )
    return 'pod mlserver-0: agent CreateContainerConfigError: secret "minio-credentials" not found'


def _oom(snap: TenantSnapshot) -> str:
    crashed(snap, "mlserver-0", "mlserver", "OOMKilled", 4)
    return "pod mlserver-0: mlserver was OOMKilled (4 restarts)"


@pytest.mark.parametrize("breaks", [_config_error, _oom], ids=["CreateContainerConfigError", "OOMKilled"])
def test_server_pod_failing(breaks: Callable[[TenantSnapshot], str]) -> None:
    snap = tenant()
    expected = breaks(snap)
    set_pod_not_ready(snap, "mlserver-0", "mlserver")
    result, findings = run("server.pods", snap)
    assert result.status == "fail"
    found = one(findings, "server.pod-failing")
    assert (found.severity, found.explains) == ("medium", ["pod/mlserver-0"])
    assert found.data == {"server": "mlserver"}
    assert found.subject.name == "mlserver-0"
    assert expected in summaries(found.evidence)
    assert "pod/mlserver-0" in symptom_ids(snap)


def test_statefulset_without_pods_and_a_failed_create_event() -> None:
    snap = tenant(
        extra={
            "pods": [],
            "events": [
                event(
                    "StatefulSet", "mlserver", "SuccessfulCreate", "create Claim mlserver-models-mlserver-0", "Normal"
                ),
                event("StatefulSet", "mlserver", "FailedCreate", SA_NOT_FOUND),
            ],
        }
    )
    result, findings = run("server.pods", snap)
    assert result.status == "fail"
    found = one(findings, "server.pods-not-created")
    assert (found.severity, found.explains) == ("high", ["server/mlserver"])
    assert found.summary == "StatefulSet mlserver has no pods: FailedCreate"
    assert [e.value for e in found.evidence] == [SA_NOT_FOUND]


def test_server_pods_pass() -> None:
    result, findings = run("server.pods", tenant())
    assert (result.status, findings) == ("pass", [])


def test_server_pod_stuck_on_a_missing_configmap_mount() -> None:
    snap = tenant(
        extra={
            "events": [
                event(
                    "Pod",
                    "mlserver-0",
                    "FailedMount",
                    'MountVolume.SetUp failed for volume "config-volume" : configmap "seldon-agent" not found',
                )
            ]
        }
    )
    for status in pod(snap).status["containerStatuses"]:
        status.update(ready=False, state={"waiting": {"reason": "ContainerCreating"}})
    pod(snap).status.update(phase="Pending", conditions=[{"type": "Ready", "status": "False"}])
    _, findings = run("server.pods", snap)
    assert "seldon-agent" in summaries(one(findings, "server.pod-failing").evidence)


def test_statefulset_owned_by_its_server_passes() -> None:
    result, findings = run("server.ownership", tenant())
    assert (result.status, findings) == ("pass", [])
    ev = field_ev(result.evidence, "metadata.ownerReferences")
    assert ev.value == "Server/mlserver" and "fix via the CR" in ev.summary


@pytest.mark.parametrize(
    "owners",
    [[], [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "argo", "uid": "u", "controller": True}]],
    ids=["no-owner", "other-owner"],
)
def test_statefulset_not_owned_by_its_server(owners: list[dict[str, Any]]) -> None:
    snap = tenant()
    sts = snap.objects["statefulsets"][0].to_dict()
    sts["metadata"]["ownerReferences"] = owners
    snap.objects["statefulsets"] = [KubeObject.model_validate(sts)]
    result, findings = run("server.ownership", snap)
    assert result.status == "warn"
    found = one(findings, "server.statefulset-unowned")
    assert found.severity == "low" and found.subject.kind == "StatefulSet"


# ----------------------------------------------------------------------------------------------
# F10 controller.scheduler
# ----------------------------------------------------------------------------------------------

covers("controller.scheduler")

OPERATOR_DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {
        "name": "seldon-v2-controller-manager",
        "namespace": fx.OPERATOR_NS,
        "labels": {"control-plane": "v2-controller-manager"},
    },
}


@pytest.mark.parametrize(
    ("detail", "cause"),
    [
        ("dial tcp: lookup seldon-scheduler.financial-ml on 10.96.0.10:53: no such host", "does not resolve"),
        ("dial tcp 10.43.88.14:9004: i/o timeout", "dropped"),
        ("dial tcp 10.43.88.14:9004: connect: connection refused", "refused or reset"),
    ],
)
def test_f10_controller_cannot_reach_the_scheduler(detail: str, cause: str) -> None:
    snap = tenant(
        models=[model("iris", state="ModelProgressing", reason=DIAL.format(detail)), model("ok")],
        extra={"operator_deployments": [OPERATOR_DEPLOYMENT]},
    )
    result, findings = run("controller.scheduler", snap)
    assert result.status == "fail"
    found = one(findings, "controller.scheduler-unreachable")
    assert (found.severity, found.failure_mode, found.explains) == ("high", "F10", ["model/iris"])
    assert found.subject.name == "seldon-v2-controller-manager"
    assert cause in found.data["cause"] and "seldon-scheduler.financial-ml:9004" in found.summary
    assert detail in field_ev(found.evidence, "status.conditions[type=ModelReady]").summary


def test_f10_no_controller_error_passes() -> None:
    snap = tenant(models=[model("iris"), model("big", memory="9Gi", state="ScheduleFailed", reason=NOT_ENOUGH)])
    result, findings = run("controller.scheduler", snap)
    assert (result.status, findings) == ("pass", [])


AGENT_GRPC_LOAD_ERROR = DIAL.format("dial tcp 0.0.0.0:9500: connect: connection refused")


def test_f10_agent_load_error_is_not_blamed_on_the_controller() -> None:
    snap = tenant(models=[model("qwen", state="ModelFailed", reason=AGENT_GRPC_LOAD_ERROR)])
    _, findings = run("controller.scheduler", snap)
    assert findings == []


# ----------------------------------------------------------------------------------------------
# F11 models.requirements, F12 models.replicas, F13 models.load-failures, models.ready
# ----------------------------------------------------------------------------------------------

covers("models.requirements", "models.replicas", "models.load-failures", "models.ready")


def test_f11_tensorflow_model_on_an_mlserver_server() -> None:
    snap = tenant(
        models=[
            model("tfsimple", requirements=["tensorflow"], state="ScheduleFailed", reason=NO_SERVERS),
            model("iris"),
        ]
    )
    result, findings = run("models.requirements", snap)
    assert result.status == "fail"
    found = one(findings, "models.requirements-unmet")
    assert (found.severity, found.failure_mode, found.explains) == ("high", "F11", ["model/tfsimple"])
    assert found.data == {"model": "tfsimple", "requirements": ["tensorflow"], "servers": ["mlserver"]}
    assert field_ev(found.evidence, "spec.requirements").value == ["tensorflow"]
    assert "Server mlserver capabilities: alibi-detect, alibi-explain" in summaries(found.evidence)


def test_f11_spec_server_names_a_missing_server() -> None:
    snap = tenant(
        models=[
            model("tfsimple", server="triton", requirements=["tensorflow"], state="ScheduleFailed", reason=NO_SERVERS)
        ]
    )
    _, findings = run("models.requirements", snap)
    found = one(findings, "models.server-missing")
    assert (found.severity, found.explains) == ("high", ["model/tfsimple"])
    ev = field_ev(found.evidence, "spec.server")
    assert ev.value == "triton" and "Servers: ['mlserver']" in ev.summary


def test_f11_server_spec_capabilities_replace_the_agent_env() -> None:
    server = fx.server()
    server["spec"]["capabilities"] = ["mlserver", "tensorflow"]
    snap = tenant(
        server,
        models=[
            model("tfsimple", requirements=["tensorflow"]),
            model("iris", requirements=["sklearn"], state="ScheduleFailed", reason=NO_SERVERS),
        ],
    )
    _, findings = run("models.requirements", snap)
    assert [f.subject.name for f in findings] == ["iris"]


def test_f11_requirements_met_pass() -> None:
    snap = tenant(models=[model("iris", requirements=["sklearn"]), model("llm", requirements=["mlserver", "python"])])
    result, findings = run("models.requirements", snap)
    assert (result.status, findings) == ("pass", [])


@pytest.mark.parametrize(
    ("spec", "state", "severity", "status", "explains"),
    [
        ({"replicas": 3}, ("ScheduleFailed", NOT_ENOUGH), "medium", "fail", ["model/iris"]),
        (
            {"replicas": 3, "min_replicas": 1},
            ("ModelAvailable", NOT_ENOUGH + ", managed to schedule with min replicas"),
            "low",
            "warn",
            [],
        ),
    ],
)
def test_f12_more_model_replicas_than_server_replicas(
    spec: dict, state: tuple, severity: str, status: str, explains: list[str]
) -> None:
    snap = tenant(models=[model("iris", state=state[0], reason=state[1], **spec)])
    result, findings = run("models.replicas", snap)
    assert result.status == status
    found = one(findings, "models.too-many-replicas")
    assert (found.severity, found.failure_mode, found.explains) == (severity, "F12", explains)
    assert "wants 3 replicas but its Server has 2" in found.summary
    assert field_ev(found.evidence, "spec.replicas").value == 3


def test_f12_replicas_that_fit_pass() -> None:
    result, findings = run("models.replicas", tenant(models=[model("iris", replicas=2)]))
    assert (result.status, findings) == ("pass", [])


RCLONE_FAILURE = (
    "Failed to sync/copy gs://acme-models/fraud/v3 to /mnt/agent/rclone/1495806312 "
    "Failed rclone request to host:0.0.0.0 port:5572 path:/sync/copy"
)


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        (RCLONE_FAILURE, "storage: rclone could not copy the artifact"),
        ("Memory will go below zero -52428800", "memory: the replica ran out of capacity"),
        ('V2 server error: {"error":"Model fraud with version 1 failed to load"}', "the inference server refused"),
    ],
    ids=["rclone", "memory", "mlserver"],
)
def test_f13_load_failures_are_classified(reason: str, kind: str) -> None:
    snap = tenant(
        models=[
            model("fraud", state="ModelFailed", reason=reason, storage_uri="gs://acme-models/fraud/v3"),
            model("iris"),
        ]
    )
    result, findings = run("models.load-failures", snap)
    assert result.status == "fail"
    found = one(findings, "models.load-failed")
    assert (found.severity, found.failure_mode, found.explains) == ("high", "F13", ["model/fraud"])
    assert kind in found.summary
    assert field_ev(found.evidence, "spec.storageUri").value == "gs://acme-models/fraud/v3"
    assert reason in field_ev(found.evidence, "status.conditions[type=ModelReady]").summary


def test_f13_no_failed_model_passes() -> None:
    snap = tenant(models=[model("iris"), model("x", state="ScheduleFailed", reason=NOT_ENOUGH)])
    result, findings = run("models.load-failures", snap)
    assert (result.status, findings) == ("pass", [])


def test_f13_grpc_load_error_from_mlserver_is_a_load_failure() -> None:
    snap = tenant(models=[model("qwen", state="ModelFailed", reason=AGENT_GRPC_LOAD_ERROR)])
    _, findings = run("models.load-failures", snap)
    assert one(findings, "models.load-failed").explains == ["model/qwen"]


def test_models_ready_fails_with_the_states_and_no_finding() -> None:
    snap = tenant(
        models=[
            model("iris"),
            model("income", memory="100Mi", state="ScheduleFailed", reason=NOT_ENOUGH),
            model("fraud", state="ScheduleFailed", reason=NO_SERVERS),
            model("bert", state="ModelFailed", reason=RCLONE_FAILURE),
        ]
    )
    result, findings = run("models.ready", snap)
    assert (result.status, findings) == ("fail", [])
    assert result.summary == "1/4 Models Ready (2 ScheduleFailed, 1 ModelFailed)"
    ev = next(e for e in result.evidence if e.object.name == "income")
    assert ev.field == "status.conditions[type=ModelReady]" and ev.value == "ScheduleFailed"
    assert NOT_ENOUGH in ev.summary


def test_models_ready_passes() -> None:
    result, _ = run("models.ready", tenant(models=[model("iris"), model("income", memory="100Mi")]))
    assert (result.status, result.summary) == ("pass", "2/2 Models Ready")


# ----------------------------------------------------------------------------------------------
# F14 istio.sidecars, F16 scheduler.restart
# ----------------------------------------------------------------------------------------------

covers("istio.sidecars", "scheduler.restart")


def with_sidecars(snap: TenantSnapshot) -> None:
    for p in server_pods(snap):
        p.spec["containers"].append(
            {"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.22.3", "args": ["proxy", "sidecar"]}
        )


def test_f14_sidecars_without_grpc_port_prefix() -> None:
    snap = tenant()
    with_sidecars(snap)
    result, findings = run("istio.sidecars", snap)
    assert result.status == "warn"
    found = one(findings, "istio.grpc-port-names")
    assert (found.severity, found.failure_mode) == ("low", "F14")
    assert found.subject.kind == "SeldonRuntime" and found.subject.name == "seldon"
    assert "2 pod(s) with istio-proxy" in summaries(found.evidence)


def test_f14_injection_label_on_the_namespace_counts() -> None:
    snap = tenant(
        extra={
            "namespaces": [
                {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {
                        "name": NS,
                        "labels": {"istio-injection": "enabled", "kubernetes.io/metadata.name": NS},
                    },
                }
            ]
        }
    )
    _, findings = run("istio.sidecars", snap)
    assert one(findings, "istio.grpc-port-names")


@pytest.mark.parametrize("sidecars", [False, True], ids=["no-istio", "istio-with-grpc-prefix"])
def test_f14_passes(sidecars: bool) -> None:
    snap = tenant(extra={"seldonruntimes": [runtime(grpc_prefix="grpc-")]})
    if sidecars:
        with_sidecars(snap)
    result, findings = run("istio.sidecars", snap)
    assert (result.status, findings) == ("pass", [])


def test_f16_scheduler_restarted_120s_before_collection() -> None:
    snap = tenant(models=[model("iris", state="ModelProgressing"), model("ok")])
    snap.objects["pods"] = [p for p in snap.objects["pods"] if p.name != "seldon-scheduler-0"]
    add(snap, "pods", scheduler_pod(started_before=120))
    result, findings = run("scheduler.restart", snap)
    assert result.status == "warn"
    found = one(findings, "scheduler.recently-restarted")
    assert (found.severity, found.failure_mode, found.explains) == ("low", "F16", ["model/iris"])
    assert "started 120 s before collection" in found.summary
    ev = field_ev(found.evidence, "status.containerStatuses[name=scheduler].state.running.startedAt")
    assert ev.value == "2026-11-26T08:58:00+00:00" and ev.object.name == "seldon-scheduler-0"


@pytest.mark.parametrize(
    ("started_before", "state"),
    [(3 * 86400, "ModelProgressing"), (120, "ModelAvailable")],
    ids=["up-for-days", "restarted-but-all-ready"],
)
def test_f16_passes(started_before: float, state: str) -> None:
    snap = tenant(models=[model("iris", state=state)])
    snap.objects["pods"] = [p for p in snap.objects["pods"] if p.name != "seldon-scheduler-0"]
    add(snap, "pods", scheduler_pod(started_before=started_before))
    result, findings = run("scheduler.restart", snap)
    assert (result.status, findings) == ("pass", [])


def test_f16_new_tenant_scheduler_is_not_a_restart() -> None:
    snap = tenant(models=[model("iris", state="ModelProgressing")])
    snap.objects["seldonruntimes"][0].metadata.creation_timestamp = fx.COLLECTED_AT
    snap.objects["pods"] = [p for p in snap.objects["pods"] if p.name != "seldon-scheduler-0"]
    add(snap, "pods", scheduler_pod(started_before=120))
    result, findings = run("scheduler.restart", snap)
    assert (result.status, findings) == ("pass", [])


# ----------------------------------------------------------------------------------------------
# Missing and malformed data
# ----------------------------------------------------------------------------------------------

NEEDS = sorted((cid, kind) for cid, check in CATALOGUE.items() for kind in check.needs)


@pytest.mark.parametrize(("check_id", "kind"), NEEDS, ids=[f"{c}-{k}" for c, k in NEEDS])
def test_needed_kind_not_collected_is_a_skip(check_id: str, kind: str) -> None:
    snap = tenant(models=[model("iris")])
    del snap.objects[kind]
    result, findings = run(check_id, snap)
    assert (result.status, findings) == ("skip", [])
    assert result.summary == f"cannot judge: {kind} were not collected"


@pytest.mark.parametrize(("check_id", "kind"), NEEDS, ids=[f"{c}-{k}" for c, k in NEEDS])
def test_needed_kind_forbidden_is_an_error_naming_the_permission(check_id: str, kind: str) -> None:
    permission = f"list {kind} in namespace {NS}"
    snap = tenant(models=[model("iris")])
    snap.objects[kind] = []
    snap.errors[kind] = CollectionError(
        kind=kind,
        code=403,
        reason="Forbidden",
        missing_permission=permission,
        message=f'{kind} is forbidden: User "bot" cannot list resource "{kind}"',
    )
    result, findings = run(check_id, snap)
    assert (result.status, findings) == ("error", [])
    assert f"(missing permission: {permission})" in result.summary
    assert result.summary.startswith(f"cannot judge: {kind} could not be read")


def malformed_pod(snap: TenantSnapshot) -> None:
    pod(snap).status["containerStatuses"] = "agent ready"


def malformed_env(snap: TenantSnapshot) -> None:
    container_of(pod(snap).spec, "agent")["env"] = "MEMORY_REQUEST=1Gi"


@pytest.mark.parametrize("check_id", ["server.pods", "agent.rclone", "agent.zombie"])
def test_malformed_container_statuses_are_an_error_not_a_crash(check_id: str) -> None:
    snap = zombie_tenant()  # the zombie check reaches the container statuses only with agent logs
    malformed_pod(snap)
    result, findings = run(check_id, snap)
    assert (result.status, findings) == ("error", [])
    assert result.summary.startswith("check failed on unexpected data: AttributeError")


@pytest.mark.parametrize("check_id", sorted(CATALOGUE))
@pytest.mark.parametrize("breaks", [malformed_pod, malformed_env], ids=["containerStatuses-str", "env-str"])
def test_no_check_raises_on_malformed_data(check_id: str, breaks: Callable[[TenantSnapshot], None]) -> None:
    snap = tenant(models=[model("iris", memory="1Gi", server="mlserver")])
    breaks(snap)
    result, _ = CATALOGUE[check_id].run(TenantView(snap))  # must not raise
    assert result.status in {"pass", "fail", "warn", "skip", "error"}
    if result.status == "error":
        assert result.summary.startswith("check failed on unexpected data")


def test_every_check_in_the_catalogue_is_tested() -> None:
    assert set(CATALOGUE) == COVERED


@pytest.mark.parametrize("check_id", sorted(CATALOGUE))
def test_healthy_tenant_raises_no_finding(check_id: str) -> None:
    snap = tenant(models=[model("iris", memory="100Mi"), model("income", memory="1Gi", server="mlserver")])
    for p in ("mlserver-0", "mlserver-1"):
        add_log(
            snap,
            p,
            "agent",
            logrus("Setting memory request from env MEMORY_REQUEST with value 1073741824"),
            agent_line("Subscribed to scheduler"),
        )
    scheduler_log(snap, subscribe("mlserver:0"), subscribe("mlserver:1"))
    result, findings = run(check_id, snap)
    assert findings == [] and result.status == "pass", result.summary


def test_fixture_uses_the_real_seldon_yaml() -> None:
    """Guard: the tests above rely on these facts of the rendered v2.10.2 ServerConfig."""
    assert Path(fx.RENDERED, "serverconfig-mlserver.yaml").exists()
    agent = container_of(fx.serverconfig(), "agent")
    assert agent["image"] == "docker.io/seldonio/seldon-agent:2.10.2"
    assert {"name": "SELDON_OVERCOMMIT_PERCENTAGE", "value": "10"} in agent["env"]
    assert container_of(fx.serverconfig(), "mlserver")["resources"]["requests"]["memory"] == "1Gi"
