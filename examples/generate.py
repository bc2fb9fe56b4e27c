#!/usr/bin/env python3
"""Generate the example support bundles in examples/ from Seldon Core v2.10.2's real YAML.

    python examples/generate.py [--shared ../shared/seldon] [--out examples]

Every object derives from the Helm-rendered ServerConfigs, SeldonConfig, SeldonRuntime and Server
in <shared>/rendered-v2.10.2 (Business Source License 1.1, see <shared>/SOURCE.md): StatefulSets
and per-replica Services come from bot.seldon.operator, runtime workloads from the SeldonConfig
components, pods from those templates plus the API server's defaults. A small event simulation of
the scheduler (subscribe, disconnect, memory filter) decides where models land, and the log lines
follow from it, so objects, statuses, events and logs tell one consistent story per scenario.

The output is deterministic: no randomness, no clock; ids and hashes derive from names. Each
example directory is deleted and rewritten with bot.cluster.bundle.write_bundle. Do not edit the
bundles by hand: change this script and run it again.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import shutil
import sys
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from functools import partial
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script without `pip install -e .`
    sys.path.insert(0, str(REPO))

from bot.cluster.bundle import write_bundle  # noqa: E402
from bot.seldon.operator import (  # noqa: E402
    K8S_NAME_LABEL,
    LAST_APPLIED_ANNOTATION,
    POD_NAME_LABEL,
    SERVER_NAME_LABEL,
    encode_last_applied,
    merge_pod_spec,
    owner_reference,
    render_replica_services,
    render_statefulset,
)
from bot.seldon.quantity import to_bytes  # noqa: E402
from bot.snapshot import ALL_KINDS, ContainerLog, KubeObject, TenantSnapshot  # noqa: E402

Json = dict[str, Any]

SELDON_VERSION = "2.10.2"
OPERATOR_NS = "seldon-mesh"
SERVER = "mlserver"
COLLECTED_AT = datetime(2026, 11, 26, 9, 15, tzinfo=UTC)
INSTALL_TIME = datetime(2026, 11, 3, 10, 4, 37, tzinfo=UTC)  # helm install seldon-core-v2-setup
RUNTIME_CREATED = datetime(2026, 11, 19, 14, 2, 11, tzinfo=UTC)  # the tenant's onboarding
SERVER_CREATED = RUNTIME_CREATED + timedelta(minutes=6)
MODELS_CREATED = RUNTIME_CREATED + timedelta(minutes=21)
EVENT_TTL = timedelta(hours=1)  # the API server's default event retention
LOG_LIMIT = 60  # lines kept per log, like a collector using tailLines=60
GiB = 2**30

SAMPLE_URI = "gs://seldon-models/scv2/samples/mlserver_1.6.0/iris-sklearn"
SAMPLE_FILES = ("model-settings.json", "model.joblib")
STALE_POD_IP = "10.42.3.17"  # mlserver-0's pod IP last week, pinned by hand in inference-host-pod-ip
CLUSTER_DNS = "10.96.0.10"

# Worker nodes: (name, node IP, pod CIDR prefix). Pod IPs are handed out from .20 upwards.
NODES = (
    ("worker-1", "10.0.1.11", "10.42.1"),
    ("worker-2", "10.0.1.12", "10.42.2"),
    ("worker-3", "10.0.1.13", "10.42.3"),
)
_K8S_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # what kube uses for generated name suffixes
_UID_NAMESPACE = uuid.UUID("6f1c2a4e-0b7d-5e8a-9c3f-2d4b6a8c0e1f")


# --- small helpers ------------------------------------------------------------------------------


def ts(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def digest(*parts: object) -> str:
    return hashlib.sha256("/".join(str(p) for p in parts).encode()).hexdigest()


def fraction(*parts: object) -> float:
    """A deterministic number in [0, 1) standing in for randomness."""
    return int(digest(*parts)[:8], 16) / 2**32


def k8s_suffix(*parts: object, length: int = 5) -> str:
    number = int(digest(*parts), 16)
    chars = []
    for _ in range(length):
        number, i = divmod(number, len(_K8S_ALPHABET))
        chars.append(_K8S_ALPHABET[i])
    return "".join(chars)


def drop_nulls(value: Any) -> Any:
    """The API server drops nulls (the rendered Helm YAML has many), and maps left empty by that."""
    if isinstance(value, dict):
        cleaned = {}
        for key, item in value.items():
            kept = drop_nulls(item)
            if item is None or (isinstance(item, dict) and item and not kept):
                continue
            cleaned[key] = kept
        return cleaned
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value


def helm_meta(release: str, namespace: str) -> tuple[dict[str, str], dict[str, str]]:
    """Labels and annotations Helm 3 puts on every object it installs."""
    return (
        {"app.kubernetes.io/managed-by": "Helm"},
        {"meta.helm.sh/release-name": release, "meta.helm.sh/release-namespace": namespace},
    )


def condition(type_: str, status: bool, when: datetime, reason: str = "", message: str = "") -> Json:
    cond: Json = {"type": type_, "status": "True" if status else "False", "lastTransitionTime": ts(when)}
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


def container(spec: Json, name: str) -> Json:
    return next(c for c in spec["containers"] if c["name"] == name)


def env_value(container_: Json, name: str) -> str | None:
    """Kubernetes uses the last definition of a duplicated env var."""
    value = None
    for var in container_.get("env") or []:
        if var["name"] == name and "value" in var:
            value = var["value"]
    return value


def memory_request_bytes(pod_spec: Json) -> int:
    """The agent's MEMORY_REQUEST: the named container's memory request (the limit stands in for
    a missing request, as the API server copies it), "0" when neither is set."""
    agent = container(pod_spec, "agent")
    ref = next(
        (
            v["valueFrom"]["resourceFieldRef"]
            for v in agent.get("env") or []
            if v["name"] == "MEMORY_REQUEST" and "resourceFieldRef" in v.get("valueFrom", {})
        ),
        None,
    )
    if ref is None:
        return 1_000_000  # the agent's --memory-bytes default
    resources = container(pod_spec, ref["containerName"]).get("resources") or {}
    quantity = (resources.get("requests") or {}).get("memory") or (resources.get("limits") or {}).get(
        "memory"
    )
    return to_bytes(quantity) if quantity else 0


def arg_value(container_: Json, flag: str) -> str | None:
    prefix = f"--{flag}="
    return next(
        (a[len(prefix) :] for a in reversed(container_.get("args") or []) if a.startswith(prefix)), None
    )


# --- the collected objects ----------------------------------------------------------------------


class Bundle:
    """Objects and logs of one example, with deterministic uids, versions and pod IPs."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.objects: dict[str, list[Json]] = {}
        self.logs: list[ContainerLog] = []
        self._next_host = {node[0]: 20 for node in NODES}

    def meta(
        self,
        kind: str,
        name: str,
        created: datetime,
        *,
        namespace: str | None = None,
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
        generation: int | None = None,
        owner: Json | None = None,
    ) -> Json:
        ns = self.namespace if namespace is None else namespace
        uid = str(uuid.uuid5(_UID_NAMESPACE, f"{ns}/{kind}/{name}"))
        meta: Json = {"name": name, **({"namespace": ns} if ns else {})}
        meta["uid"] = uid
        meta["resourceVersion"] = str(100_000 + int(digest(uid, "rv")[:6], 16) % 900_000)
        if generation is not None:
            meta["generation"] = generation
        meta["creationTimestamp"] = ts(created)
        if labels:
            meta["labels"] = dict(labels)
        if annotations:
            meta["annotations"] = dict(annotations)
        if owner is not None:
            meta["ownerReferences"] = [owner_reference(owner)]
        return meta

    def add(self, key: str, obj: Json) -> Json:
        self.objects.setdefault(key, []).append(obj)
        return obj

    def get(self, key: str, name: str) -> Json:
        return next(o for o in self.objects.get(key, []) if o["metadata"]["name"] == name)

    def pod_ip(self, node: str) -> str:
        prefix = next(n[2] for n in NODES if n[0] == node)
        host = self._next_host[node]
        self._next_host[node] += 1
        return f"{prefix}.{host}"

    def log(self, pod: str, container_: str, lines: list[str], previous: bool = False) -> None:
        truncated = len(lines) > LOG_LIMIT
        self.logs.append(
            ContainerLog(
                pod=pod,
                container=container_,
                previous=previous,
                lines=lines[-LOG_LIMIT:],
                truncated=truncated,
            )
        )

    def snapshot(self, example: str) -> TenantSnapshot:
        return TenantSnapshot(
            namespace=self.namespace,
            operator_namespace=OPERATOR_NS,
            collected_at=COLLECTED_AT,
            source=f"generated:examples/generate.py {example}",
            tool_version="generate.py",
            objects={k: [KubeObject.model_validate(o) for o in self.objects.get(k, [])] for k in ALL_KINDS},
            logs=self.logs,
        )


# --- the Seldon YAML this all derives from ------------------------------------------------------


@dataclass(frozen=True)
class Sources:
    serverconfigs: dict[str, Json]
    seldonconfig: Json
    runtime: Json
    server: Json


def load_sources(shared: Path) -> Sources:
    rendered = shared / "rendered-v2.10.2"

    def documents(name: str) -> list[Json]:
        text = (rendered / name).read_text(encoding="utf-8")
        return [drop_nulls(d) for d in yaml.safe_load_all(text) if d]

    def one(name: str, kind: str, obj_name: str) -> Json:
        return next(d for d in documents(name) if d["kind"] == kind and d["metadata"]["name"] == obj_name)

    return Sources(
        serverconfigs={
            "mlserver": one("serverconfig-mlserver.yaml", "ServerConfig", "mlserver"),
            "triton": one("serverconfig-triton.yaml", "ServerConfig", "triton"),
        },
        seldonconfig=one("seldonconfig-default.yaml", "SeldonConfig", "default"),
        runtime=one("runtime.yaml", "SeldonRuntime", "seldon"),
        server=one("servers.yaml", "Server", SERVER),
    )


# --- scenarios ----------------------------------------------------------------------------------


class Agent(Enum):
    CONNECTED = "connected"
    SCHEDULER_BLOCKED = "scheduler-blocked"
    INFERENCE_UNREACHABLE = "inference-unreachable"


@dataclass(frozen=True)
class ModelDef:
    name: str
    memory: str | None


@dataclass(frozen=True)
class Scenario:
    example: str
    namespace: str
    models: tuple[ModelDef, ...]
    rollout: datetime  # when the current server pods were created (the first of them)
    runtime_created: datetime = RUNTIME_CREATED
    server_created: datetime = SERVER_CREATED
    models_created: datetime = MODELS_CREATED
    replicas: int = 2
    serverconfig: str = "mlserver"
    server_pod_spec: Json | None = None
    server_generation: int = 1
    helm_server: bool = True
    runtime: bool = True
    agent: Agent = Agent.CONNECTED
    stagger: timedelta = timedelta(0)  # delay between replacing consecutive replicas
    rolling: bool = True  # replaced by the StatefulSet controller (else evicted or deleted by hand)
    policies: Callable[[], list[tuple[str, Json, list[Json]]]] = list
    policies_created: datetime | None = None  # default: two hours after the runtime
    fresh: bool = False  # the current server pods are the first ones (a new tenant)
    extra_serverconfigs: Callable[[Sources], list[Json]] = lambda _src: []


def burstable_serverconfig(src: Sources) -> list[Json]:
    """The platform team's low-footprint copy of the default config: CPU request only."""
    config = copy.deepcopy(src.serverconfigs["mlserver"])
    config["metadata"] = {
        "name": "mlserver-burstable",
        "annotations": {
            "ml-platform.example.com/owner": "ml-platform-team",
            "ml-platform.example.com/description": (
                "Low-footprint MLServer for burstable node pools: "
                "CPU request only, no memory request or limit"
            ),
        },
    }
    container(config["spec"]["podSpec"], "mlserver")["resources"] = {"requests": {"cpu": "100m"}}
    return [config]


def _port(*numbers: int) -> list[Json]:
    return [{"protocol": "TCP", "port": n} for n in numbers]


def _pods(component: str) -> Json:
    return {"podSelector": {"matchLabels": {K8S_NAME_LABEL: component}}}


_ALL_TENANT_PODS: Json = {"podSelector": {}}
_OPERATOR_NAMESPACE: Json = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": OPERATOR_NS}}
}
_DEFAULT_DENY = ("default-deny-ingress", {}, [])


def _common_allows() -> list[tuple[str, Json, list[Json]]]:
    """Ingress every tenant needs besides the scheduler: envoy to agents, clients to envoy,
    envoy to the pipeline gateway's pod IP."""
    return [
        (
            "allow-envoy-to-servers",
            {K8S_NAME_LABEL: "seldon-server"},
            [{"from": [_pods("seldon-envoy")], "ports": _port(9001, 9501)}],
        ),
        ("allow-inference-to-envoy", {K8S_NAME_LABEL: "seldon-envoy"}, [{"ports": _port(9000)}]),
        (
            "allow-envoy-to-pipelinegateway",
            {K8S_NAME_LABEL: "seldon-pipelinegateway"},
            [{"from": [_pods("seldon-envoy")], "ports": _port(9010, 9011)}],
        ),
    ]


def complete_policies() -> list[tuple[str, Json, list[Json]]]:
    scheduler = [
        {"from": [_ALL_TENANT_PODS], "ports": _port(9002, 9004, 9005, 9008)},
        {"from": [_OPERATOR_NAMESPACE], "ports": _port(9004)},
    ]
    return [
        _DEFAULT_DENY,
        ("allow-seldon-scheduler", {K8S_NAME_LABEL: "seldon-scheduler"}, scheduler),
        *_common_allows(),
    ]


def policies_without_agent_port() -> list[tuple[str, Json, list[Json]]]:
    """Written per client, and the agents (server pods -> 9005) were forgotten."""
    gateways = [_pods("seldon-modelgateway"), _pods("seldon-pipelinegateway"), _pods("hodometer")]
    scheduler = [
        {"from": [_pods("seldon-envoy")], "ports": _port(9002)},
        {"from": [_OPERATOR_NAMESPACE, *gateways], "ports": _port(9004)},
        {"from": [_pods("seldon-dataflow-engine")], "ports": _port(9008)},
    ]
    return [
        _DEFAULT_DENY,
        ("allow-seldon-scheduler", {K8S_NAME_LABEL: "seldon-scheduler"}, scheduler),
        *_common_allows(),
    ]


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        example="healthy",
        namespace="retail-ml",
        models=(
            ModelDef("product-recommender", "300Mi"),
            ModelDef("demand-forecast", "500Mi"),
            ModelDef("churn-classifier", "200Mi"),
        ),
        rollout=datetime(2026, 11, 25, 16, 40, 5, tzinfo=UTC),
        stagger=timedelta(seconds=22),
        policies=complete_policies,
    ),
    Scenario(
        example="zero-capacity",
        namespace="financial-ml",
        models=(
            ModelDef("credit-risk", "500Mi"),
            ModelDef("fraud-detector", "1Gi"),
            ModelDef("income-classifier", None),
        ),
        rollout=datetime(2026, 11, 26, 8, 47, 10, tzinfo=UTC),
        serverconfig="mlserver-burstable",
        server_pod_spec={
            "containers": [
                {"name": "agent", "env": [{"name": "SELDON_LOG_LEVEL", "value": "info"}]},
                {"name": "mlserver", "env": [{"name": "MLSERVER_PARALLEL_WORKERS", "value": "2"}]},
            ],
            "nodeSelector": {"workload-class": "ml-inference"},
        },
        server_generation=2,
        helm_server=False,
        stagger=timedelta(seconds=24),
        extra_serverconfigs=burstable_serverconfig,
    ),
    Scenario(
        example="netpol-blocked",
        namespace="risk-ml",
        models=(
            ModelDef("market-risk-var", "400Mi"),
            ModelDef("counterparty-exposure", "300Mi"),
            ModelDef("liquidity-forecast", "250Mi"),
        ),
        # A tenant onboarded this morning; its namespace template brings the NetworkPolicies.
        rollout=datetime(2026, 11, 26, 9, 11, 32, tzinfo=UTC),
        runtime_created=datetime(2026, 11, 26, 9, 9, 20, tzinfo=UTC),
        server_created=datetime(2026, 11, 26, 9, 11, 30, tzinfo=UTC),
        models_created=datetime(2026, 11, 26, 9, 12, 5, tzinfo=UTC),
        agent=Agent.SCHEDULER_BLOCKED,
        rolling=False,
        fresh=True,
        policies=policies_without_agent_port,
        policies_created=datetime(2026, 11, 26, 9, 9, 2, tzinfo=UTC),
    ),
    Scenario(
        example="inference-host-pod-ip",
        namespace="fraud-ml",
        models=(ModelDef("txn-fraud-scorer", "512Mi"), ModelDef("card-anomaly", "256Mi")),
        rollout=datetime(2026, 11, 26, 8, 20, 2, tzinfo=UTC),
        server_pod_spec={"containers": [{"name": "agent", "args": [f"--inference-host={STALE_POD_IP}"]}]},
        server_generation=2,
        agent=Agent.INFERENCE_UNREACHABLE,
        stagger=timedelta(seconds=68),
        rolling=False,
    ),
    Scenario(
        example="no-runtime",
        namespace="marketing-ml",
        models=(ModelDef("campaign-uplift", "300Mi"), ModelDef("customer-ltv", "200Mi")),
        rollout=datetime(2026, 11, 26, 8, 58, 4, tzinfo=UTC),
        server_created=datetime(2026, 11, 26, 8, 58, 3, tzinfo=UTC),
        models_created=datetime(2026, 11, 26, 8, 58, 41, tzinfo=UTC),
        replicas=1,
        runtime=False,
    ),
)


# --- what the API server adds to pod specs and workloads ----------------------------------------


def _default_probe(probe: Json | None) -> None:
    if not probe:
        return
    for key, value in (
        ("timeoutSeconds", 1),
        ("periodSeconds", 10),
        ("successThreshold", 1),
        ("failureThreshold", 3),
    ):
        probe.setdefault(key, value)
    if "httpGet" in probe:
        probe["httpGet"].setdefault("scheme", "HTTP")


def _default_container(c: Json) -> None:
    c.setdefault("imagePullPolicy", "IfNotPresent")
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    resources = c.setdefault("resources", {})
    for name, limit in (resources.get("limits") or {}).items():
        resources.setdefault("requests", {}).setdefault(name, limit)  # a lone limit becomes the request
    for port in c.get("ports") or []:
        port.setdefault("protocol", "TCP")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        _default_probe(c.get(probe))


def default_pod_spec(spec: Json) -> Json:
    spec = copy.deepcopy(spec)
    for c in spec["containers"]:
        _default_container(c)
    for key, value in (
        ("restartPolicy", "Always"),
        ("terminationGracePeriodSeconds", 30),
        ("dnsPolicy", "ClusterFirst"),
        ("securityContext", {}),
        ("schedulerName", "default-scheduler"),
    ):
        spec.setdefault(key, value)
    return spec


def default_statefulset(sts: Json) -> Json:
    """A live StatefulSet: the desired object plus the API server's defaults."""
    sts = copy.deepcopy(sts)
    spec = sts["spec"]
    spec["template"]["spec"] = default_pod_spec(spec["template"]["spec"])
    spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"})
    for vct in spec.get("volumeClaimTemplates") or []:
        vct.update(apiVersion="v1", kind="PersistentVolumeClaim")
        vct["spec"].setdefault("volumeMode", "Filesystem")
        vct["status"] = {"phase": "Pending"}
    return sts


def qos_class(spec: Json) -> str:
    resources = [c.get("resources") or {} for c in spec["containers"]]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    guaranteed = all(
        (r.get("limits") or {}).get(k) and (r.get("limits") or {}).get(k) == (r.get("requests") or {}).get(k)
        for r in resources
        for k in ("cpu", "memory")
    )
    return "Guaranteed" if guaranteed else "Burstable"


# --- pods ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One container at collection time: current instance and, after a restart, the previous one."""

    started: datetime
    ready_at: datetime | None
    previous: tuple[datetime, datetime] | None = None  # (started, finished) of the last instance
    restarts: int = 0


def _image_id(image: str) -> str:
    repository = image.rsplit(":", 1)[0]
    return f"{repository}@sha256:{digest('image', image)}"


def _container_status(c: Json, run: Run, pod_uid: str) -> Json:
    started = run.ready_at is not None or "startupProbe" not in c
    status: Json = {
        "name": c["name"],
        "ready": run.ready_at is not None,
        "restartCount": run.restarts,
        "started": started,
        "image": c["image"],
        "imageID": _image_id(c["image"]),
        "containerID": f"containerd://{digest(pod_uid, c['name'], run.restarts)}",
        "state": {"running": {"startedAt": ts(run.started)}},
        "lastState": {},
    }
    if run.previous:
        begin, end = run.previous
        status["lastState"] = {
            "terminated": {
                "exitCode": 1,
                "reason": "Error",
                "startedAt": ts(begin),
                "finishedAt": ts(end),
                "containerID": f"containerd://{digest(pod_uid, c['name'], run.restarts - 1)}",
            }
        }
    return status


def _pod_conditions(created: datetime, runs: dict[str, Run]) -> list[Json]:
    unready = sorted(name for name, run in runs.items() if run.ready_at is None)
    scheduled = created
    if unready:
        message = f"containers with unready status: [{' '.join(unready)}]"
        last = max(run.started for run in runs.values())
        ready = [
            condition(t, False, last, "ContainersNotReady", message) for t in ("Ready", "ContainersReady")
        ]
    else:
        last = max(run.ready_at for run in runs.values() if run.ready_at)
        ready = [condition(t, True, last) for t in ("Ready", "ContainersReady")]
    return [
        condition("PodReadyToStartContainers", True, created + timedelta(seconds=1)),
        condition("Initialized", True, created),
        *ready,
        condition("PodScheduled", True, scheduled),
    ]


@dataclass(frozen=True)
class PodPlan:
    name: str
    node: str
    created: datetime
    runs: dict[str, Run]


def _token_volume(name: str) -> Json:
    """The projected service-account token volume the API server adds to every pod."""
    namespace_ref = {"apiVersion": "v1", "fieldPath": "metadata.namespace"}
    return {
        "name": name,
        "projected": {
            "defaultMode": 420,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": namespace_ref}]}},
            ],
        },
    }


def _admitted_pod_spec(template_spec: Json, plan: PodPlan, uid: str, claims: Iterable[str]) -> Json:
    """The template's spec as admitted and scheduled: defaults, PVC and token volumes, node."""
    spec = default_pod_spec(template_spec)
    token = f"kube-api-access-{k8s_suffix(uid)}"
    for c in spec["containers"]:
        c.setdefault("volumeMounts", []).append(
            {"name": token, "readOnly": True, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}
        )
    spec["volumes"] = [
        *(
            {"name": claim, "persistentVolumeClaim": {"claimName": f"{claim}-{plan.name}"}}
            for claim in claims
        ),
        *(spec.get("volumes") or []),
        _token_volume(token),
    ]
    spec["nodeName"] = plan.node
    if "serviceAccountName" in spec:
        spec["serviceAccount"] = spec["serviceAccountName"]
    spec.update(enableServiceLinks=True, preemptionPolicy="PreemptLowerPriority", priority=0)
    spec["tolerations"] = [
        {
            "key": f"node.kubernetes.io/{t}",
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": 300,
        }
        for t in ("not-ready", "unreachable")
    ]
    return spec


def _pod_status(b: Bundle, plan: PodPlan, spec: Json, uid: str) -> Json:
    node_ip = next(n[1] for n in NODES if n[0] == plan.node)
    pod_ip = b.pod_ip(plan.node)
    return {
        "phase": "Running",
        "conditions": _pod_conditions(plan.created, plan.runs),
        "hostIP": node_ip,
        "hostIPs": [{"ip": node_ip}],
        "podIP": pod_ip,
        "podIPs": [{"ip": pod_ip}],
        "startTime": ts(plan.created),
        # the kubelet reports container statuses sorted by name
        "containerStatuses": [
            _container_status(c, plan.runs[c["name"]], uid)
            for c in sorted(spec["containers"], key=lambda c: c["name"])
        ],
        "qosClass": qos_class(spec),
    }


def make_pod(
    b: Bundle,
    owner: Json,
    template: Json,
    plan: PodPlan,
    extra_labels: dict[str, str],
    claims: Iterable[str] = (),
) -> Json:
    """A running pod of a workload: its template admitted, scheduled and started as `plan` says."""
    labels = {**template["metadata"].get("labels", {}), **extra_labels}
    meta = b.meta(
        "Pod", plan.name, plan.created, labels=labels, annotations=template["metadata"].get("annotations")
    )
    meta["ownerReferences"] = [owner_reference(owner)]
    spec = _admitted_pod_spec(template["spec"], plan, meta["uid"], claims)
    if owner["kind"] == "StatefulSet":
        spec.update(hostname=plan.name, subdomain=owner["spec"]["serviceName"])
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": spec,
        "status": _pod_status(b, plan, spec, meta["uid"]),
    }
    return b.add("pods", pod)


def healthy_runs(spec: Json, created: datetime) -> dict[str, Run]:
    """Every container started two or three seconds in and Ready a few seconds later."""
    runs = {}
    for i, c in enumerate(spec["containers"]):
        started = created + timedelta(seconds=2 + i % 2)
        runs[c["name"]] = Run(started=started, ready_at=started + timedelta(seconds=8 + 2 * i))
    return runs


# --- services and endpoint slices ---------------------------------------------------------------


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def cluster_ip(namespace: str, name: str) -> str:
    h = int(digest("svc", namespace, name)[:6], 16)
    return f"10.96.{h % 250 + 1}.{h // 250 % 250 + 2}"


def live_service(b: Bundle, svc: Json, created: datetime, owner: Json) -> Json:
    """The Service as the API server stores it: IP family, defaults, node ports for LoadBalancers."""
    svc = copy.deepcopy(svc)
    name = svc["metadata"]["name"]
    svc["metadata"] = b.meta("Service", name, created, labels=svc["metadata"].get("labels"), owner=owner)
    spec = svc["spec"]
    spec.setdefault("type", "ClusterIP")
    ip = spec.get("clusterIP") or cluster_ip(b.namespace, name)
    spec.update(
        clusterIP=ip,
        clusterIPs=[ip],
        ipFamilies=["IPv4"],
        ipFamilyPolicy="SingleStack",
        sessionAffinity="None",
        internalTrafficPolicy="Cluster",
    )
    for port in spec["ports"]:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port["port"])
        if spec["type"] == "LoadBalancer":
            port["nodePort"] = 30000 + int(digest(b.namespace, name, port["port"])[:6], 16) % 2767
    svc["status"] = {"loadBalancer": {}}
    if spec["type"] == "LoadBalancer":
        spec.update(externalTrafficPolicy="Cluster", allocateLoadBalancerNodePorts=True)
        lb_ip = f"10.0.200.{int(digest('lb', b.namespace, name)[:4], 16) % 200 + 20}"
        svc["status"] = {"loadBalancer": {"ingress": [{"ip": lb_ip, "ipMode": "VIP"}]}}
    return b.add("services", svc)


def _target_port(pod: Json, target: int | str) -> int | None:
    if isinstance(target, int):
        return target
    ports = (p for c in pod["spec"]["containers"] for p in c.get("ports") or [])
    return next((p["containerPort"] for p in ports if p.get("name") == target), None)


def endpoint_slice(b: Bundle, svc: Json) -> Json:
    """What the EndpointSlice controller publishes for a Service: every selected pod, with its
    readiness; not-ready pods stay listed with ready/serving false."""
    name = svc["metadata"]["name"]
    pods = [
        p
        for p in b.objects.get("pods", [])
        if selects(svc["spec"].get("selector", {}), p["metadata"].get("labels", {}))
    ]
    endpoints = []
    for pod in pods:
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"]["conditions"])
        endpoints.append(
            {
                "addresses": [pod["status"]["podIP"]],
                "conditions": {"ready": ready, "serving": ready, "terminating": False},
                "nodeName": pod["spec"]["nodeName"],
                "targetRef": {
                    "kind": "Pod",
                    "namespace": b.namespace,
                    "name": pod["metadata"]["name"],
                    "uid": pod["metadata"]["uid"],
                },
            }
        )
    ports = (
        [
            {"name": p["name"], "port": _target_port(pods[0], p["targetPort"]), "protocol": p["protocol"]}
            for p in svc["spec"]["ports"]
        ]
        if pods
        else None
    )
    slice_name = f"{name}-{k8s_suffix(svc['metadata']['uid'])}"
    meta = b.meta(
        "EndpointSlice",
        slice_name,
        datetime.fromisoformat(svc["metadata"]["creationTimestamp"]),
        labels={
            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
            "kubernetes.io/service-name": name,
            **svc["metadata"].get("labels", {}),
        },
        generation=1,
    )
    meta["ownerReferences"] = [owner_reference(svc)]
    return b.add(
        "endpointslices",
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": meta,
            "addressType": "IPv4",
            "endpoints": endpoints or None,
            "ports": ports,
        },
    )


# --- events -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ev:
    obj: Json
    reason: str
    message: str
    first: datetime
    last: datetime | None = None
    count: int = 1
    warning: bool = False
    component: str = "kubelet"
    field_path: str | None = None


def add_events(b: Bundle, events: Iterable[Ev]) -> None:
    """Events as the API keeps them: only those updated within the last hour survive."""
    for i, ev in enumerate(sorted(events, key=lambda e: (e.first, e.reason))):
        last = ev.last or ev.first
        if last < COLLECTED_AT - EVENT_TTL:
            continue
        meta = ev.obj["metadata"]
        involved: Json = {
            "apiVersion": ev.obj["apiVersion"],
            "kind": ev.obj["kind"],
            "name": meta["name"],
            "namespace": b.namespace,
            "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"],
        }
        if ev.field_path:
            involved["fieldPath"] = ev.field_path
        name = f"{meta['name']}.{int(ev.first.timestamp() * 1e9) + i:x}"
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": b.meta("Event", name, ev.first),
            "involvedObject": involved,
            "reason": ev.reason,
            "message": ev.message,
            "source": {
                "component": ev.component,
                **({"host": ev.obj["spec"]["nodeName"]} if ev.component == "kubelet" else {}),
            },
            "firstTimestamp": ts(ev.first),
            "lastTimestamp": ts(last),
            "count": ev.count,
            "type": "Warning" if ev.warning else "Normal",
            "reportingComponent": ev.component,
            "reportingInstance": ev.obj["spec"].get("nodeName", "") if ev.component == "kubelet" else "",
        }
        b.add("events", event)


def pod_start_events(pod: Json) -> list[Ev]:
    """Scheduled, then pulled/created/started per container (images are cached on the nodes)."""
    meta = pod["metadata"]
    created = datetime.fromisoformat(meta["creationTimestamp"])
    events = [
        Ev(
            pod,
            "Scheduled",
            f"Successfully assigned {meta['namespace']}/{meta['name']} to {pod['spec']['nodeName']}",
            created,
            component="default-scheduler",
        )
    ]
    for c in pod["status"]["containerStatuses"]:
        count = c["restartCount"] + 1
        last = datetime.fromisoformat(c["state"]["running"]["startedAt"])
        first = last if count == 1 else created + timedelta(seconds=3)  # see agent_instances
        path = f"spec.containers{{{c['name']}}}"
        for reason, message in (
            ("Pulled", f'Container image "{c["image"]}" already present on machine'),
            ("Created", f"Created container {c['name']}"),
            ("Started", f"Started container {c['name']}"),
        ):
            events.append(Ev(pod, reason, message, first, last, count, field_path=path))
    return events


# --- log formats --------------------------------------------------------------------------------


_LOGRUS_SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._/@^+")


def _logrus_value(text: str) -> str:
    """logrus quotes a value (Go %q) when it holds anything outside [a-zA-Z0-9-._/@^+]."""
    if all(ch in _LOGRUS_SAFE for ch in text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def logrus(t: datetime, level: str, msg: str, **fields: str) -> str:
    """One line of logrus' TextFormatter: time, level, msg, then the fields sorted by key."""
    parts = [f'time="{ts(t)}"', f"level={level}", f"msg={_logrus_value(msg)}"]
    parts += [f"{key}={_logrus_value(value)}" for key, value in sorted(fields.items())]
    return " ".join(parts)


def go_duration(seconds: float) -> str:
    """time.Duration.String() for the sub-minute values backoff prints."""
    ns = round(seconds * 1e9)
    if ns < 1_000_000_000:
        return f"{ns / 1e6:.6f}".rstrip("0").rstrip(".") + "ms"
    return f"{ns / 1e9:.9f}".rstrip("0").rstrip(".") + "s"


def pylog(t: datetime, logger: str, level: str, msg: str, ms: int, model: str = "") -> str:
    """MLServer's format: `%(asctime)s [%(name)s]%(model)s %(levelname)s - %(message)s`."""
    context = f"[{model}]" if model else ""
    return f"{t.strftime('%Y-%m-%d %H:%M:%S')},{ms:03d} [{logger}]{context} {level} - {msg}"


def rclone_line(t: datetime, level: str, msg: str) -> str:
    return f"{t.strftime('%Y/%m/%d %H:%M:%S')} {level:<6}: {msg}"


# --- the scheduler, simulated just enough ---------------------------------------------------------

NO_SERVERS = "Failed to schedule model as no matching servers are available"
NOT_ENOUGH = "Failed to schedule model as no matching server had enough suitable replicas"


@dataclass
class SchedulerSim:
    """Connected replicas and their free memory, model placement, and what the scheduler logs.

    Mirrors the parts of scheduler.go the scenarios exercise: a replica qualifies when its free
    memory (capacity + overcommit, minus loaded models) covers the model's `spec.memory`; the
    freest replica wins, then the lowest index; failed models are retried on every subscribe.
    """

    models: tuple[ModelDef, ...]
    overcommit: float = 0.10
    free: dict[int, int] = field(default_factory=dict)
    placement: dict[str, int | None] = field(default_factory=dict)
    reason: dict[str, str] = field(default_factory=dict)  # the failure reason of unplaced models
    since: dict[str, datetime] = field(default_factory=dict)  # last change of placed/reason
    lines: list[str] = field(default_factory=list)
    loads: list[tuple[datetime, str, int]] = field(default_factory=list)  # (time, model, replica)

    def _need(self, model: ModelDef) -> int:
        return to_bytes(model.memory) if model.memory else 0

    def _outcome(self, t: datetime, model: str, reason: str) -> None:
        if model not in self.since or self.reason.get(model, "") != reason:
            self.since[model] = t
        if reason:
            self.reason[model] = reason
        else:
            self.reason.pop(model, None)

    def _schedule(self, t: datetime, model: ModelDef) -> None:
        need = self._need(model)
        fits = sorted((-free, idx) for idx, free in self.free.items() if free >= need)
        if fits:
            idx = fits[0][1]
            self.free[idx] -= need
            self.placement[model.name] = idx
            self.loads.append((t + timedelta(seconds=1), model.name, idx))
            loaded = t + timedelta(seconds=3)
            self.lines.append(
                logrus(
                    loaded,
                    "info",
                    f"Updating state for model {model.name} to Loaded",
                    Name="AgentServer",
                    func="AgentEvent",
                )
            )
            self._outcome(loaded, model.name, "")
            return
        msg = NOT_ENOUGH if self.free else NO_SERVERS
        self.lines.append(
            logrus(t, "warning", msg, Name="SimpleScheduler", func="scheduleToServer", model=model.name)
        )
        self.placement[model.name] = None
        self._outcome(t, model.name, msg)

    def subscribe(self, t: datetime, server: str, idx: int, capacity: int) -> None:
        self.lines.append(
            logrus(
                t,
                "info",
                f"Received agent subscribe request from {server}:{idx}",
                Name="AgentServer",
                func="Subscribe",
            )
        )
        self.free[idx] = int(capacity * (1 + self.overcommit))
        for model in self.models:
            if model.name in self.reason:  # failed models are retried on every subscribe
                self._schedule(t + timedelta(seconds=1), model)

    def disconnect(self, t: datetime, server: str, replicas: list[int]) -> None:
        """Replicas that go at the same moment leave together, then their models are rescheduled."""
        for idx in replicas:
            self.lines.append(
                logrus(
                    t,
                    "warning",
                    f"Client replica {server}:{idx} has disconnected",
                    Name="AgentServer",
                    func="Subscribe",
                )
            )
            self.lines.append(
                logrus(
                    t,
                    "info",
                    "Removing server replica and re-scheduling model(s)",
                    Name="AgentServer",
                    func="removeServerReplicaImpl",
                )
            )
            self.free.pop(idx, None)
        for model in self.models:
            if self.placement.get(model.name) in replicas:
                self._schedule(t + timedelta(seconds=1), model)

    def place_initially(self, t: datetime) -> None:
        for model in self.models:
            self._schedule(t, model)
            t += timedelta(seconds=4)


# --- the runtime (SeldonRuntime and what it creates) --------------------------------------------

RUNTIME_CONDITIONS = {
    "seldon-scheduler": "SchedulerReady",
    "seldon-envoy": "EnvoyReady",
    "seldon-modelgateway": "ModelGatewayReady",
    "seldon-pipelinegateway": "PipelineGatewayReady",
    "seldon-dataflow-engine": "DataflowEngineReady",
    "hodometer": "HodometerReady",
}


def _workload_status(kind: str, replicas: int, generation: int, when: datetime, revision: str) -> Json:
    counts = {
        "replicas": replicas,
        "readyReplicas": replicas,
        "availableReplicas": replicas,
        "updatedReplicas": replicas,
        "observedGeneration": generation,
    }
    if kind == "StatefulSet":
        return {
            **counts,
            "currentReplicas": replicas,
            "currentRevision": revision,
            "updateRevision": revision,
            "collisionCount": 0,
        }
    return {
        **counts,
        "conditions": [
            {
                **condition(
                    "Available",
                    True,
                    when,
                    "MinimumReplicasAvailable",
                    "Deployment has minimum availability.",
                ),
                "lastUpdateTime": ts(when),
            },
            {
                **condition(
                    "Progressing",
                    True,
                    when,
                    "NewReplicaSetAvailable",
                    f'ReplicaSet "{revision}" has successfully progressed.',
                ),
                "lastUpdateTime": ts(when),
            },
        ],
    }


def _workload(
    b: Bundle,
    kind: str,
    name: str,
    template: Json,
    replicas: int,
    created: datetime,
    owner: Json,
    meta_maps: tuple[dict[str, str], dict[str, str]],
    claims: list[Json],
) -> Json:
    """A runtime Deployment or StatefulSet as stored: last-applied of the desired object, then defaults."""
    labels, annotations = meta_maps
    obj: Json = {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": b.meta(
            kind, name, created, labels=labels, annotations=annotations, generation=1, owner=owner
        ),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {K8S_NAME_LABEL: name}},
            "template": template,
        },
    }
    if kind == "StatefulSet":
        obj["spec"].update(
            serviceName=name,
            podManagementPolicy="Parallel",
            volumeClaimTemplates=[{"metadata": {"name": c["name"]}, "spec": c["spec"]} for c in claims],
        )
    last_applied = encode_last_applied(obj)
    if kind == "StatefulSet":
        obj = default_statefulset(obj)
    else:
        obj = copy.deepcopy(obj)
        obj["spec"].update(
            strategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
            revisionHistoryLimit=10,
            progressDeadlineSeconds=600,
        )
        obj["spec"]["template"]["spec"] = default_pod_spec(template["spec"])
    obj["metadata"]["annotations"] = {
        **obj["metadata"].get("annotations", {}),
        LAST_APPLIED_ANNOTATION: last_applied,
    }
    return obj


def add_workload(
    b: Bundle,
    kind: str,
    name: str,
    template: Json,
    replicas: int,
    created: datetime,
    owner: Json,
    meta_maps: tuple[dict[str, str], dict[str, str]],
    claims: list[Json] | None = None,
) -> None:
    """A runtime workload and its ready pods, all started with the runtime."""
    obj = _workload(b, kind, name, template, replicas, created, owner, meta_maps, claims or [])
    hash_ = k8s_suffix(name, "template", length=10 if kind == "Deployment" else 9)
    revision = f"{name}-{hash_}"
    obj["status"] = _workload_status(kind, replicas, 1, created + timedelta(seconds=40), revision)
    b.add("statefulsets" if kind == "StatefulSet" else "deployments", obj)
    start = created + timedelta(seconds=5)
    for i in range(replicas):
        node = NODES[int(digest(name, i)[:4], 16) % len(NODES)][0]
        if kind == "StatefulSet":
            plan = PodPlan(f"{name}-{i}", node, start, healthy_runs(template["spec"], start))
            extra = {
                "controller-revision-hash": revision,
                POD_NAME_LABEL: plan.name,
                "apps.kubernetes.io/pod-index": str(i),
            }
            make_pod(b, obj, template, plan, extra, [c["name"] for c in claims or []])
            continue
        replicaset = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": revision, "uid": str(uuid.uuid5(_UID_NAMESPACE, revision))},
        }
        plan = PodPlan(
            f"{revision}-{k8s_suffix(name, i)}", node, start, healthy_runs(template["spec"], start)
        )
        make_pod(b, replicaset, template, plan, {"pod-template-hash": hash_})


def _runtime_services(service_type: Callable[[str], str]) -> list[Json]:
    """service_reconciler.go: seldon-scheduler and seldon-mesh, of the type the runtime asks for."""

    def ports(*spec: tuple[str, int, str]) -> list[Json]:
        return [{"name": n, "port": p, "targetPort": t, "protocol": "TCP"} for n, p, t in spec]

    def service(name: str, component: str, port_list: list[Json]) -> Json:
        spec = {"selector": {K8S_NAME_LABEL: component}, "type": service_type(component), "ports": port_list}
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "labels": {K8S_NAME_LABEL: component}},
            "spec": spec,
        }

    scheduler_ports = ports(
        ("xds", 9002, "xds"),
        ("scheduler", 9004, "scheduler"),
        ("scheduler-mtls", 9044, "scheduler-mtls"),
        ("agent", 9005, "agent"),
        ("agent-mtls", 9055, "agent-mtls"),
        ("dataflow", 9008, "dataflow"),
    )
    mesh_ports = ports(("data", 80, "http"), ("stats", 9003, "envoy-stats"))
    return [
        service("seldon-scheduler", "seldon-scheduler", scheduler_ports),
        service("seldon-mesh", "seldon-envoy", mesh_ports),
    ]


def _runtime_config_objects(b: Bundle, runtime: Json, created: datetime) -> None:
    """ConfigMaps (keys only, values never collected), ServiceAccounts and the agent's Role."""
    for name, keys in (
        ("seldon-agent", ["agent.yaml"]),
        ("seldon-kafka", ["kafka.json"]),
        ("seldon-scaling", ["scaling.yaml"]),
        (
            "seldon-tracing",
            [
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "OTEL_EXPORTER_OTLP_PROTOCOL",
                "OTEL_JAVAAGENT_ENABLED",
                "tracing.json",
            ],
        ),
    ):
        b.add(
            "configmaps",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": b.meta("ConfigMap", name, created, owner=runtime),
                "data": dict.fromkeys(keys, ""),
            },
        )
    for name in ("seldon-scheduler", "seldon-server", "hodometer"):
        b.add(
            "serviceaccounts",
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": b.meta("ServiceAccount", name, created, owner=runtime),
            },
        )
    b.add(
        "roles",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": b.meta("Role", "agent-role", created, owner=runtime),
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["configmaps", "secrets"],
                    "verbs": ["get", "list", "watch"],
                },
                {
                    "apiGroups": ["discovery.k8s.io"],
                    "resources": ["endpointslices"],
                    "verbs": ["list", "watch"],
                },
            ],
        },
    )


def add_runtime(b: Bundle, src: Sources, started: datetime) -> None:
    """SeldonRuntime `seldon` and everything its reconciler creates from SeldonConfig `default`."""
    labels, annotations = helm_meta("seldon-core-v2-runtime", b.namespace)
    runtime = copy.deepcopy(src.runtime)
    runtime["metadata"] = b.meta(
        "SeldonRuntime", "seldon", started, labels=labels, annotations=annotations, generation=1
    )
    ready_at = started + timedelta(seconds=48)
    conditions = [
        condition(
            RUNTIME_CONDITIONS[c["name"]],
            True,
            ready_at,
            f"{'StatefulSet' if c['name'] == 'seldon-scheduler' else 'Deployment'} replicas "
            "matches desired replicas",
        )
        for c in src.seldonconfig["spec"]["components"]
    ]
    conditions.append(condition("Ready", True, ready_at))
    runtime["status"] = {"conditions": sorted(conditions, key=lambda c: c["type"]), "observedGeneration": 1}
    b.add("seldonruntimes", runtime)
    _runtime_config_objects(b, runtime, started + timedelta(seconds=1))

    sc_labels, sc_annotations = helm_meta("seldon-core-v2-setup", OPERATOR_NS)
    overrides = {o["name"]: o for o in runtime["spec"].get("overrides", [])}
    created = started + timedelta(seconds=2)
    for component in src.seldonconfig["spec"]["components"]:
        name = component["name"]
        override = overrides.get(name, {})
        labels = {K8S_NAME_LABEL: name, **component.get("labels", {}), **sc_labels}
        annotations = {**component.get("annotations", {}), **sc_annotations}
        template = {
            "metadata": {"labels": dict(labels), "annotations": dict(annotations)},
            "spec": merge_pod_spec(component["podSpec"], override.get("podSpec")),
        }
        replicas = override.get("replicas", component.get("replicas", 1))
        kind = "StatefulSet" if name == "seldon-scheduler" else "Deployment"
        add_workload(
            b,
            kind,
            name,
            template,
            replicas,
            created,
            runtime,
            (labels, annotations),
            component.get("volumeClaimTemplates"),
        )
    default_type = src.seldonconfig["spec"]["config"]["serviceConfig"].get("serviceType") or "LoadBalancer"

    def service_type(component: str) -> str:
        return overrides.get(component, {}).get("serviceType") or default_type

    for svc in _runtime_services(service_type):
        endpoint_slice(b, live_service(b, svc, created, runtime))


# --- the operator namespace ---------------------------------------------------------------------


def controller_deployment(b: Bundle) -> Json:
    """The operator Deployment from seldon-core-v2-setup (the only object not taken from YAML)."""
    labels, annotations = helm_meta("seldon-core-v2-setup", OPERATOR_NS)
    selector = {"control-plane": "v2-controller-manager"}
    spec = default_pod_spec(
        {
            "serviceAccountName": "seldon-v2-controller-manager",
            "terminationGracePeriodSeconds": 10,
            "securityContext": {"runAsNonRoot": True},
            "containers": [
                {
                    "name": "manager",
                    "image": f"docker.io/seldonio/seldon-controller:{SELDON_VERSION}",
                    "command": ["/manager"],
                    "args": [
                        "--health-probe-bind-address=:8081",
                        "--metrics-bind-address=127.0.0.1:8080",
                        "--leader-elect",
                        "--namespace=",
                        "--clusterwide=true",
                        "--log-level=info",
                    ],
                    "env": [
                        {"name": "CLUSTERWIDE", "value": "true"},
                        {"name": "CONTROL_PLANE_SECURITY_PROTOCOL", "value": "PLAINTEXT"},
                        {
                            "name": "POD_NAMESPACE",
                            "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}},
                        },
                    ],
                    "livenessProbe": {
                        "httpGet": {"path": "/healthz", "port": 8081},
                        "initialDelaySeconds": 15,
                        "periodSeconds": 20,
                    },
                    "readinessProbe": {
                        "httpGet": {"path": "/readyz", "port": 8081},
                        "initialDelaySeconds": 5,
                        "periodSeconds": 10,
                    },
                    "resources": {
                        "limits": {"memory": "300Mi"},
                        "requests": {"cpu": "100m", "memory": "300Mi"},
                    },
                }
            ],
        }
    )
    revision = f"seldon-v2-controller-manager-{k8s_suffix('controller', length=10)}"
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": b.meta(
            "Deployment",
            "seldon-v2-controller-manager",
            INSTALL_TIME,
            namespace=OPERATOR_NS,
            labels={**selector, **labels},
            annotations=annotations,
            generation=1,
        ),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {
                    "labels": dict(selector),
                    "annotations": {
                        "kubectl.kubernetes.io/default-container": "manager",
                        "sidecar.istio.io/inject": "false",
                    },
                },
                "spec": spec,
            },
        },
        "status": _workload_status("Deployment", 1, 1, INSTALL_TIME + timedelta(seconds=31), revision),
    }


def add_operator_namespace(b: Bundle, src: Sources, sc: Scenario) -> dict[str, Json]:
    labels, annotations = helm_meta("seldon-core-v2-setup", OPERATOR_NS)
    configs = {}
    for config in [*src.serverconfigs.values(), *sc.extra_serverconfigs(src)]:
        config = copy.deepcopy(config)
        name = config["metadata"]["name"]
        helm = name in src.serverconfigs
        created = INSTALL_TIME if helm else datetime(2026, 11, 24, 11, 30, 9, tzinfo=UTC)
        config["metadata"] = b.meta(
            "ServerConfig",
            name,
            created,
            namespace=OPERATOR_NS,
            generation=1,
            labels=labels if helm else None,
            annotations=annotations if helm else config["metadata"].get("annotations"),
        )
        configs[name] = b.add("serverconfigs", config)
    b.add("operator_deployments", controller_deployment(b))
    return configs


def add_namespaces(b: Bundle, tenant_created: datetime) -> None:
    for name, created in ((OPERATOR_NS, INSTALL_TIME - timedelta(minutes=3)), (b.namespace, tenant_created)):
        b.add(
            "namespaces",
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": b.meta(
                    "Namespace", name, created, namespace="", labels={"kubernetes.io/metadata.name": name}
                ),
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            },
        )
    created = tenant_created
    b.add(
        "configmaps",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": b.meta("ConfigMap", "kube-root-ca.crt", created),
            "data": {"ca.crt": ""},
        },
    )
    b.add(
        "serviceaccounts",
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": b.meta("ServiceAccount", "default", created),
        },
    )


def add_network_policies(b: Bundle, sc: Scenario) -> None:
    created = sc.policies_created or sc.runtime_created + timedelta(hours=2)
    for name, selector, rules in sc.policies():
        b.add(
            "networkpolicies",
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": b.meta("NetworkPolicy", name, created, generation=1),
                "spec": {
                    "podSelector": {"matchLabels": selector} if selector else {},
                    "policyTypes": ["Ingress"],
                    **({"ingress": copy.deepcopy(rules)} if rules else {}),
                },
            },
        )


# --- the Server, its StatefulSet and pods -------------------------------------------------------


def server_cr(b: Bundle, src: Sources, sc: Scenario) -> Json:
    server = copy.deepcopy(src.server)
    labels, annotations = helm_meta("seldon-core-v2-servers", b.namespace) if sc.helm_server else (None, None)
    server["metadata"] = b.meta(
        "Server",
        SERVER,
        sc.server_created,
        labels=labels,
        annotations=annotations,
        generation=sc.server_generation,
    )
    spec = server["spec"]
    spec.update(replicas=sc.replicas, maxReplicas=sc.replicas, serverConfig=sc.serverconfig)
    if sc.server_pod_spec:
        spec["podSpec"] = copy.deepcopy(sc.server_pod_spec)
    return server


def pod_order(sc: Scenario) -> list[tuple[int, datetime]]:
    """Replicas in the order they were replaced (highest ordinal first) and their creation time."""
    return [(idx, sc.rollout + n * sc.stagger) for n, idx in enumerate(reversed(range(sc.replicas)))]


def agent_instances(created: datetime) -> tuple[list[tuple[datetime, datetime]], datetime]:
    """Runs of an agent that can never reach its inference server: each waits 15 min
    (SELDON_MAX_ELAPSED_TIME_READY_SUB_SERVICE_BEFORE_START_MINUTES) and exits 1; the kubelet
    restarts it after 10 s, 20 s, 40 s, ... Returns the finished runs and the current run's start."""
    finished: list[tuple[datetime, datetime]] = []
    start, delay = created + timedelta(seconds=3), 10
    while start + timedelta(minutes=15, seconds=1) < COLLECTED_AT:
        end = start + timedelta(minutes=15, seconds=1)
        finished.append((start, end))
        start, delay = end + timedelta(seconds=delay), delay * 2
    return finished, start


def server_runs(sc: Scenario, spec: Json, created: datetime) -> dict[str, Run]:
    runs = healthy_runs(spec, created)
    agent = runs["agent"]
    if sc.agent is Agent.CONNECTED:
        runs["agent"] = Run(agent.started, created + timedelta(seconds=15))
    elif sc.agent is Agent.SCHEDULER_BLOCKED:
        runs["agent"] = Run(agent.started, None)
    else:
        finished, current = agent_instances(created)
        runs["agent"] = Run(current, None, finished[-1] if finished else None, len(finished))
    return runs


def server_status(sc: Scenario, ready_at: datetime | None, loaded: int, since: datetime) -> Json:
    if ready_at is not None:
        reason, when, ok = "StatefulSet replicas matches desired replicas", ready_at, True
    else:
        reason, when, ok = "StatefulSet replicas does not match desired replicas", since, False
    return {
        "conditions": [
            condition("Ready", ok, when, reason),
            condition("StatefulSetOrDeploymentReady", ok, when, reason),
        ],
        "loadedModels": loaded,
        "observedGeneration": sc.server_generation,
        "replicas": sc.replicas,
        "selector": f"{SERVER_NAME_LABEL}={SERVER}",
    }


def add_statefulset(b: Bundle, sc: Scenario, server: Json, config: Json) -> Json:
    desired = render_statefulset(server, config)
    sts = default_statefulset(desired)
    created = sc.server_created + timedelta(seconds=1)
    generation = sc.server_generation
    sts["metadata"] = {
        **b.meta("StatefulSet", SERVER, created, generation=generation),
        "labels": desired["metadata"]["labels"],
        "annotations": desired["metadata"]["annotations"],
        "ownerReferences": desired["metadata"]["ownerReferences"],
    }
    revision = f"{SERVER}-{k8s_suffix(b.namespace, 'sts', generation, length=9)}"
    ready = sc.replicas if sc.agent is Agent.CONNECTED and sc.runtime else 0
    created_pods = sc.replicas if sc.runtime else 0
    sts["status"] = {
        "replicas": created_pods,
        "readyReplicas": ready,
        "currentReplicas": created_pods,
        "updatedReplicas": created_pods,
        "availableReplicas": ready,
        "currentRevision": revision,
        "updateRevision": revision,
        "observedGeneration": generation,
        "collisionCount": 0,
    }
    return b.add("statefulsets", sts)


def add_server(b: Bundle, src: Sources, sc: Scenario, configs: dict[str, Json]) -> tuple[Json, list[Json]]:
    server = b.add("servers", server_cr(b, src, sc))
    sts = add_statefulset(b, sc, server, configs[sc.serverconfig])
    template = sts["spec"]["template"]
    revision = sts["status"]["updateRevision"]
    pods = []
    for idx, created in pod_order(sc) if sc.runtime else []:
        name = f"{SERVER}-{idx}"
        node = NODES[(idx + int(digest(b.namespace)[:2], 16)) % len(NODES)][0]
        plan = PodPlan(name, node, created, server_runs(sc, template["spec"], created))
        extra = {
            "controller-revision-hash": revision,
            POD_NAME_LABEL: name,
            "apps.kubernetes.io/pod-index": str(idx),
        }
        claims = [c["metadata"]["name"] for c in sts["spec"].get("volumeClaimTemplates", [])]
        pods.append(make_pod(b, sts, template, plan, extra, claims))
    for svc in render_replica_services(server):
        endpoint_slice(b, live_service(b, svc, sc.server_created + timedelta(seconds=1), server))
    return server, pods


# --- models -------------------------------------------------------------------------------------


def model_cr(b: Bundle, sc: Scenario, model: ModelDef, state: str, reason: str, since: datetime) -> Json:
    spec: Json = {"storageUri": SAMPLE_URI, "requirements": ["sklearn"], "replicas": 1}
    if model.memory:
        spec["memory"] = model.memory
    available = state == "ModelAvailable"
    ready = condition("ModelReady", available, since, reason, state)
    status: Json = {
        "conditions": [ready, {**ready, "type": "Ready"}],
        "replicas": 1,
        "availableReplicas": 1 if available else 0,
        "observedGeneration": 1,
    }
    if sc.runtime:
        status["modelgwReady"] = "ModelAvailable"
    created = sc.models_created + timedelta(seconds=7 * len(b.objects.get("models", [])))
    meta = b.meta("Model", model.name, created, generation=1)
    meta["finalizers"] = ["seldon.model.finalizer"]
    return b.add(
        "models",
        {
            "apiVersion": "mlops.seldon.io/v1alpha1",
            "kind": "Model",
            "metadata": meta,
            "spec": spec,
            "status": status,
        },
    )


def dns_failure(namespace: str) -> str:
    return (
        'rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: '
        f'dial tcp: lookup seldon-scheduler.{namespace} on {CLUSTER_DNS}:53: no such host"'
    )


# --- logs ---------------------------------------------------------------------------------------

# updateFlagsFromEnv (scheduler/cmd/agent/cli): env var, flag name, message style, in this order.
_PORT_SETTINGS = (
    ("SELDON_SERVER_HTTP_PORT", "inference-http-port"),
    ("SELDON_SERVER_GRPC_PORT", "inference-grpc-port"),
    ("SELDON_REVERSE_PROXY_HTTP_PORT", "reverse-proxy-http-port"),
    ("SELDON_REVERSE_PROXY_GRPC_PORT", "reverse-proxy-grpc-port"),
    ("SELDON_DEBUG_GRPC_PORT", "debug-grpc-port"),
    ("SELDON_SCHEDULER_HOST", "scheduler-host"),
    ("SELDON_SCHEDULER_PORT", "scheduler-port"),
    ("SELDON_SCHEDULER_TLS_PORT", "scheduler-tls-port"),
    ("SELDON_METRICS_PORT", "metrics-port"),
)
_LATER_SETTINGS = (
    ("SELDON_LOG_LEVEL", "log-level"),
    ("SELDON_SERVER_TYPE", "server-type"),
    ("SELDON_ENVOY_HOST", "envoy-host"),
    ("SELDON_ENVOY_PORT", "envoy-port"),
    ("SELDON_DRAINER_PORT", "drainer-port"),
)
_THRESHOLDS = (
    ("SELDON_MODEL_INFERENCE_LAG_THRESHOLD", "inference lag threshold"),
    ("SELDON_MODEL_INFERENCE_DELAY_MS_THRESHOLD", "inference delay threshold in milliseconds"),
    ("SELDON_MODEL_INACTIVE_SECONDS_THRESHOLD", "inactive model seconds threshold"),
    ("SELDON_SCALING_STATS_PERIOD_SECONDS", "scaling stats period seconds"),
)


def agent_env(pod: Json) -> dict[str, str]:
    """The agent's environment as the kubelet resolves it (last duplicate wins)."""
    spec = pod["spec"]
    env: dict[str, str] = {}
    for var in container(spec, "agent").get("env") or []:
        source = var.get("valueFrom", {})
        if "value" in var:
            env[var["name"]] = var["value"]
        elif "fieldRef" in source:
            path = source["fieldRef"]["fieldPath"]
            env[var["name"]] = (
                pod["metadata"]["name"] if path == "metadata.name" else pod["metadata"]["namespace"]
            )
        elif "resourceFieldRef" in source:
            env[var["name"]] = str(memory_request_bytes(spec))
    return env


def agent_settings(t: datetime, pod: Json) -> list[str]:
    """The lines the agent's standard logger always prints while reading its environment."""
    env, name = agent_env(pod), pod["metadata"]["name"]
    server, idx = name.rsplit("-", 1)
    messages: list[tuple[str, str]] = []

    def setting(var: str, text: str) -> None:
        if var in env:
            messages.append(("info", text.format(var=var, value=env[var])))

    setting("SELDON_OVERCOMMIT_PERCENTAGE", "Setting overcommit percentage from env {var} with value {value}")
    if "SELDON_SERVER_CAPABILITIES" in env:
        caps = " ".join(c.strip() for c in env["SELDON_SERVER_CAPABILITIES"].split(","))
        messages.append(
            ("info", f"Setting capabilities from env SELDON_SERVER_CAPABILITIES with value [{caps}]")
        )
    setting("MEMORY_REQUEST", "Setting memory request from env {var} with value {value}")
    for var, flag in _PORT_SETTINGS:
        setting(var, f"Setting {flag} from {{var}} to {{value}}")
    messages.append(("info", "Trying to set server name and replica index from pod name"))
    messages.append(
        (
            "info",
            f"Got server name and index from POD_NAME with value {name}. "
            f"Server name:{server} Replica Idx:{idx}",
        )
    )
    if "SELDON_REPLICA_CONFIG" not in env:
        messages.append(("warning", "No value set for replica-config"))
    for var, flag in _LATER_SETTINGS:
        setting(var, f"Setting {flag} from {{var}} to {{value}}")
    for var, tag in _THRESHOLDS:
        setting(var, f"Setting {tag} from env {{var}} with value {{value}}")
    messages.append(("info", f"Setting inference svc name to {name}"))
    messages.append(("info", f"Setting namespace from k8s file to {pod['metadata']['namespace']}"))
    return [logrus(t, level, msg) for level, msg in messages]


def replica_config(pod: Json) -> str:
    """`replicaConfig %+v` of the proto: text format, zero fields (memoryBytes 0) omitted."""
    env = agent_env(pod)
    parts = [
        f'inferenceSvc:"{pod["metadata"]["name"]}"',
        f"inferenceHttpPort:{env.get('SELDON_REVERSE_PROXY_HTTP_PORT', '9999')}",
        f"inferenceGrpcPort:{env.get('SELDON_REVERSE_PROXY_GRPC_PORT', '9998')}",
    ]
    if int(env.get("MEMORY_REQUEST", "1000000")):
        parts.append(f"memoryBytes:{env.get('MEMORY_REQUEST', '1000000')}")
    caps = env.get("SELDON_SERVER_CAPABILITIES", "sklearn,xgboost").split(",")
    parts += [f'capabilities:"{c.strip()}"' for c in caps]
    if int(env.get("SELDON_OVERCOMMIT_PERCENTAGE", "0")):
        parts.append(f"overCommitPercentage:{env['SELDON_OVERCOMMIT_PERCENTAGE']}")
    return "replicaConfig " + " ".join(parts)


def agent_startup(t: datetime, pod: Json) -> list[str]:
    level = agent_env(pod).get("SELDON_LOG_LEVEL", "debug")
    return [
        *agent_settings(t, pod),
        logrus(t, "info", f"Setting log level to {level}"),
        logrus(t, "info", "Model repository dir /mnt/agent/models, Rclone repository dir /mnt/agent/rclone "),
        logrus(t + timedelta(seconds=1), "info", "Created replicaConfig from environment"),
        logrus(t + timedelta(seconds=1), "info", replica_config(pod)),
    ]


def backoff(
    seed: str, start: datetime, until: datetime, first: float, cap: float
) -> list[tuple[datetime, float]]:
    """(time, next delay) of each failed check of an exponential backoff (x1.5, jitter 50%)."""
    checks, t, base, n = [], start, first, 0
    while t < until:
        delay = base * (0.5 + fraction(seed, n))
        checks.append((t, delay))
        t += timedelta(seconds=delay)
        base, n = min(base * 1.5, cap), n + 1
    return checks


def _dial_error(target: str, cause: str) -> str:
    return (
        'rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: '
        f'dial tcp {target}: {cause}"'
    )


def waiting_lines(seed: str, start: datetime, until: datetime, target: str) -> list[str]:
    error = _dial_error(target, "connect: connection refused")
    return [
        logrus(
            t,
            "info",
            f"Waiting for Inference Server service to become ready... next check in {go_duration(d)}",
            Name="AgentServiceManager",
            error=error,
            func="waitReady",
        )
        for t, d in backoff(seed, start, until, 0.5, 30.0)
    ]


def _manager(t: datetime, msg: str, func: str = "", level: str = "info", **fields: str) -> str:
    return logrus(t, level, msg, Name="AgentServiceManager", **({"func": func} if func else {}), **fields)


def agent_connects(t: datetime) -> list[str]:
    return [
        _manager(t, "Unloading any existing models", "waitReady"),
        _manager(t, "All critical agent subservices ready.", "waitReady"),
        _manager(t, "Starting plaintxt client to agent server", "getConnection"),
        _manager(t, "Connecting (non-blocking) to scheduler at seldon-scheduler:9005", "getConnection"),
        _manager(t, "Call subscribe to scheduler", "HandleSchedulerSubscription"),
    ]


def agent_until_subscribe(pod: Json, start: datetime, ready: datetime) -> list[str]:
    """Settings, a few seconds of waiting for MLServer (default 0.0.0.0:9500) to come up, then
    the first subscribe call, made when every subservice is ready at `ready`."""
    waiting = waiting_lines(
        pod["metadata"]["uid"], start + timedelta(seconds=1), ready - timedelta(seconds=1), "0.0.0.0:9500"
    )
    return [*agent_startup(start, pod), *waiting, *agent_connects(ready)]


def agent_log_connected(
    pod: Json, start: datetime, ready: datetime, loads: list[tuple[datetime, str]]
) -> list[str]:
    lines = [
        *agent_until_subscribe(pod, start, ready),
        _manager(ready, "Subscribed to scheduler", "HandleSchedulerSubscription"),
        _manager(ready, "Checking pod has IP published in endpoints", "HandleSchedulerSubscription"),
    ]
    for t, model in loads:
        lines += [
            _manager(t, "Received operation"),
            _manager(t, "calling load model"),
            _manager(t, f"Load model {model}:1", "LoadModel"),
            _manager(t + timedelta(seconds=2), f"Load model {model}:1 success", "LoadModel"),
        ]
    return lines


def agent_log_blocked(pod: Json, start: datetime, ready: datetime, scheduler_ip: str) -> list[str]:
    """Never subscribes: every call times out in the dropped SYN, then backs off (1 s .. 15 s)."""
    lines = agent_until_subscribe(pod, start, ready)
    error = _dial_error(f"{scheduler_ip}:9005", "i/o timeout")
    t, n = ready, 0
    while True:
        t += timedelta(seconds=20)  # gRPC's connect timeout
        if t >= COLLECTED_AT:
            return lines
        lines.append(_manager(t, "Scheduler not ready", level="error", error=error))
        if n % 3 == 0:
            lines.append(
                logrus(
                    t,
                    "warning",
                    "Agent readiness failed, agent service manager is not ready",
                    Name="ReadinessService",
                )
            )
        t += timedelta(seconds=min(2**n, 15) * (0.5 + fraction(pod["metadata"]["uid"], "sub", n)))
        if t >= COLLECTED_AT:
            return lines
        lines.append(_manager(t, "Call subscribe to scheduler", "HandleSchedulerSubscription"))
        n += 1


def agent_log_unreachable(pod: Json, start: datetime, end: datetime | None, target: str) -> list[str]:
    """Waits for the inference server at `target` for 15 min, gives up and exits 1."""
    until = end - timedelta(seconds=1) if end else COLLECTED_AT
    lines = [
        *agent_startup(start, pod),
        *waiting_lines(f"{pod['metadata']['uid']}{start}", start + timedelta(seconds=1), until, target),
    ]
    if end:
        error = _dial_error(target, "connect: connection refused")
        lines += [
            _manager(until, "Unloading any existing models", "waitReady"),
            _manager(
                until,
                "Giving up on waiting for Inference Server service to become ready; service marked as failed",
                "waitReady",
                level="error",
                error=error,
            ),
            logrus(
                end,
                "fatal",
                "Failed to waiting for agent dependent sub-services to be ready",
                error="the following critical subservices are not ready: Inference Server",
            ),
        ]
    return lines


def mlserver_log(pod: Json, start: datetime, loads: list[tuple[datetime, str]]) -> list[str]:
    """MLServer's startup lines: the bind address of each listener (MLSERVER_HOST, default 0.0.0.0)."""
    c = container(pod["spec"], "mlserver")
    host = env_value(c, "MLSERVER_HOST") or "0.0.0.0"
    http, grpc = env_value(c, "MLSERVER_HTTP_PORT") or "8080", env_value(c, "MLSERVER_GRPC_PORT") or "8081"
    metrics = env_value(c, "MLSERVER_METRICS_PORT") or "8082"
    workers = int(env_value(c, "MLSERVER_PARALLEL_WORKERS") or "1")
    up = start + timedelta(seconds=6)
    ms = int(fraction(pod["metadata"]["uid"], "ms") * 800)
    lines = [
        pylog(up, "mlserver.rest", "INFO", f"HTTP server running on http://{host}:{http}", ms),
        pylog(up, "mlserver.metrics", "INFO", f"Metrics server running on http://{host}:{metrics}", ms + 54),
        pylog(
            up,
            "mlserver.metrics",
            "INFO",
            f"Prometheus scraping endpoint can be accessed on http://{host}:{metrics}/metrics",
            ms + 54,
        ),
        "INFO:     Started server process [1]",
        "INFO:     Waiting for application startup.",
        "INFO:     Started server process [1]",
        "INFO:     Waiting for application startup.",
        "INFO:     Application startup complete.",
        "INFO:     Application startup complete.",
        pylog(up, "mlserver.grpc", "INFO", f"gRPC server running on http://{host}:{grpc}", ms + 61),
        f"INFO:     Uvicorn running on http://{host}:{http} (Press CTRL+C to quit)",
        f"INFO:     Uvicorn running on http://{host}:{metrics} (Press CTRL+C to quit)",
    ]
    for t, model in loads:
        for worker in range(workers + 1):  # each parallel worker and the main process load it
            lines.append(
                pylog(
                    t + timedelta(seconds=1),
                    "mlserver",
                    "INFO",
                    f"Loaded model '{model}_1' succesfully.",
                    200 + 37 * worker,
                    f"{model}_1",
                )
            )
    return lines


def rclone_log(start: datetime, loads: list[tuple[datetime, str]]) -> list[str]:
    lines = [
        rclone_line(start, "NOTICE", 'Config file "/rclone/rclone.conf" not found - using defaults'),
        rclone_line(start, "NOTICE", "Serving remote control on http://0.0.0.0:5572/"),
    ]
    for t, _model in loads:
        lines += [rclone_line(t + timedelta(seconds=1), "INFO", f"{f}: Copied (new)") for f in SAMPLE_FILES]
    return lines


def scheduler_startup(t: datetime) -> list[str]:
    return [logrus(t, "info", "Scheduler is ready")]


# --- assembling a scenario ----------------------------------------------------------------------


@dataclass(frozen=True)
class Rollout:
    """The scheduler's view of the scenario and the resulting model outcomes."""

    sim: SchedulerSim
    subscribed: dict[int, datetime]  # replica -> when its new agent subscribed


def simulate(sc: Scenario, capacity: int) -> Rollout:
    """Replay the scheduler's inputs in time order: the old replicas (default ServerConfig, 1Gi)
    connect and get the models, then each replaced replica disconnects and its new agent
    subscribes (or never does)."""
    sim = SchedulerSim(sc.models)
    actions: list[tuple[datetime, Callable[[], None]]] = []
    if not sc.fresh:
        for idx in range(sc.replicas):
            t = sc.server_created + timedelta(seconds=20 + idx)
            actions.append((t, partial(sim.subscribe, t, SERVER, idx, GiB)))
    placed = sc.models_created + timedelta(seconds=12)
    actions.append((placed, partial(sim.place_initially, placed)))
    subscribed: dict[int, datetime] = {}
    order = pod_order(sc)
    for group in sorted({created for _idx, created in order}):
        replaced = [idx for idx, created in order if created == group]
        if not sc.fresh:
            actions.append(
                (
                    group - timedelta(seconds=3),
                    partial(sim.disconnect, group - timedelta(seconds=3), SERVER, replaced),
                )
            )
        if sc.agent is Agent.CONNECTED:
            for idx in replaced:
                subscribed[idx] = group + timedelta(seconds=13)
                actions.append(
                    (subscribed[idx], partial(sim.subscribe, subscribed[idx], SERVER, idx, capacity))
                )
    for _t, action in sorted(actions, key=lambda a: a[0]):
        action()
    return Rollout(sim, subscribed)


def add_server_logs(b: Bundle, sc: Scenario, pods: list[Json], rollout: Rollout, scheduler_ip: str) -> None:
    for pod in pods:
        idx = int(pod["metadata"]["name"].rsplit("-", 1)[1])
        runs = {s["name"]: s for s in pod["status"]["containerStatuses"]}
        started = {n: datetime.fromisoformat(s["state"]["running"]["startedAt"]) for n, s in runs.items()}
        start = started["agent"]
        created = datetime.fromisoformat(pod["metadata"]["creationTimestamp"])
        loads = [(t, m) for t, m, r in rollout.sim.loads if r == idx and t >= created]
        name = pod["metadata"]["name"]
        if sc.agent is Agent.CONNECTED:
            b.log(name, "agent", agent_log_connected(pod, start, rollout.subscribed[idx], loads))
        elif sc.agent is Agent.SCHEDULER_BLOCKED:
            b.log(name, "agent", agent_log_blocked(pod, start, created + timedelta(seconds=13), scheduler_ip))
        else:
            target = f"{arg_value(container(pod['spec'], 'agent'), 'inference-host') or '0.0.0.0'}:9500"
            b.log(name, "agent", agent_log_unreachable(pod, start, None, target))
            last = runs["agent"]["lastState"].get("terminated")
            if last:
                previous = (
                    datetime.fromisoformat(last["startedAt"]),
                    datetime.fromisoformat(last["finishedAt"]),
                )
                b.log(name, "agent", agent_log_unreachable(pod, *previous, target), previous=True)
        b.log(name, "mlserver", mlserver_log(pod, started["mlserver"], loads))
        b.log(name, "rclone", rclone_log(started["rclone"], loads))


def add_models(b: Bundle, sc: Scenario, rollout: Rollout | None) -> None:
    for model in sc.models:
        if rollout is None:
            since = sc.models_created + timedelta(seconds=2)
            model_cr(b, sc, model, "ModelProgressing", dns_failure(b.namespace), since)
            continue
        sim = rollout.sim
        state = "ScheduleFailed" if model.name in sim.reason else "ModelAvailable"
        model_cr(b, sc, model, state, sim.reason.get(model.name, ""), sim.since[model.name])


def server_events(sc: Scenario, server: Json, sts: Json, pods: list[Json]) -> list[Ev]:
    events: list[Ev] = []
    for pod in pods:
        created = datetime.fromisoformat(pod["metadata"]["creationTimestamp"])
        name = pod["metadata"]["name"]
        if sc.rolling:
            events.append(
                Ev(
                    sts,
                    "SuccessfulDelete",
                    f"delete Pod {name} in StatefulSet {SERVER} successful",
                    created - timedelta(seconds=4),
                    component="statefulset-controller",
                )
            )
        events.append(
            Ev(
                sts,
                "SuccessfulCreate",
                f"create Pod {name} in StatefulSet {SERVER} successful",
                created,
                component="statefulset-controller",
            )
        )
        agent = next(s for s in pod["status"]["containerStatuses"] if s["name"] == "agent")
        if not agent["ready"]:
            first = created + timedelta(seconds=18)
            count = int((COLLECTED_AT - first).total_seconds() // 15)
            events.append(
                Ev(
                    pod,
                    "Unhealthy",
                    "Startup probe failed: HTTP probe failed with statuscode: 503",
                    first,
                    first + timedelta(seconds=15 * (count - 1)),
                    count,
                    warning=True,
                    field_path="spec.containers{agent}",
                )
            )
    if pods and not sc.fresh:  # the controller only records transitions
        first = min(datetime.fromisoformat(p["metadata"]["creationTimestamp"]) for p in pods)
        events.append(
            Ev(
                server,
                "ServerNotReady",
                f"Server {SERVER} is no longer Ready",
                first,
                warning=True,
                component="server-controller",
            )
        )
        ready = server["status"]["conditions"][0]
        if ready["status"] == "True":
            when = datetime.fromisoformat(ready["lastTransitionTime"])
            events.append(
                Ev(server, "ServerReady", f"Server {SERVER} is Ready", when, component="server-controller")
            )
    return events


def workload_events(b: Bundle) -> list[Ev]:
    """Every pod's start, and the controllers' records of creating the runtime's pods."""
    events = [ev for pod in b.objects.get("pods", []) for ev in pod_start_events(pod)]
    for deployment in b.objects.get("deployments", []):
        created = datetime.fromisoformat(deployment["metadata"]["creationTimestamp"])
        replicaset = deployment["status"]["conditions"][1]["message"].split('"')[1]
        events.append(
            Ev(
                deployment,
                "ScalingReplicaSet",
                f"Scaled up replica set {replicaset} to 1",
                created,
                component="deployment-controller",
            )
        )
    scheduler = next((s for s in b.objects.get("statefulsets", []) if s["metadata"]["name"] != SERVER), None)
    if scheduler:
        name = scheduler["metadata"]["name"]
        events.append(
            Ev(
                scheduler,
                "SuccessfulCreate",
                f"create Pod {name}-0 in StatefulSet {name} successful",
                datetime.fromisoformat(scheduler["metadata"]["creationTimestamp"]),
                component="statefulset-controller",
            )
        )
    return events


def failed_create_events(sts: Json, namespace: str) -> list[Ev]:
    """The StatefulSet controller retries with exponential backoff; every try is refused."""
    first = datetime.fromisoformat(sts["metadata"]["creationTimestamp"])
    retries = [first + timedelta(milliseconds=5 * (2**n - 1)) for n in range(18)]
    retries = [t for t in retries if t < COLLECTED_AT]
    message = (
        f'create Pod {SERVER}-0 in StatefulSet {SERVER} failed error: pods "{SERVER}-0" is forbidden: '
        f'error looking up service account {namespace}/seldon-server: serviceaccount "seldon-server" '
        "not found"
    )
    return [
        Ev(
            sts,
            "FailedCreate",
            message,
            retries[0],
            retries[-1],
            len(retries),
            warning=True,
            component="statefulset-controller",
        )
    ]


def model_events(b: Bundle) -> list[Ev]:
    return [
        Ev(
            m,
            "ModelNotReady",
            f"Model [{m['metadata']['name']}] is no longer Ready",
            datetime.fromisoformat(m["status"]["conditions"][0]["lastTransitionTime"]),
            warning=True,
            component="model-controller",
        )
        for m in b.objects.get("models", [])
        if m["status"]["conditions"][0]["status"] == "False"
    ]


def add_logs(b: Bundle, sc: Scenario, pods: list[Json], rollout: Rollout) -> None:
    scheduler_ip = b.get("services", "seldon-scheduler")["spec"]["clusterIP"]
    add_server_logs(b, sc, pods, rollout, scheduler_ip)
    scheduler = b.get("pods", "seldon-scheduler-0")["status"]["containerStatuses"][0]
    started = datetime.fromisoformat(scheduler["state"]["running"]["startedAt"])
    history = sorted(rollout.sim.lines, key=lambda line: line[:26])  # by time only, keeping order
    b.log("seldon-scheduler-0", "scheduler", [*scheduler_startup(started + timedelta(seconds=9)), *history])


def build(src: Sources, sc: Scenario) -> TenantSnapshot:
    b = Bundle(sc.namespace)
    add_namespaces(b, sc.runtime_created - timedelta(minutes=9))
    configs = add_operator_namespace(b, src, sc)
    if sc.runtime:
        add_runtime(b, src, sc.runtime_created)
    add_network_policies(b, sc)
    server, pods = add_server(b, src, sc, configs)
    sts = b.get("statefulsets", SERVER)
    if not sc.runtime:
        add_models(b, sc, None)
        server["status"] = server_status(sc, None, 0, sc.server_created + timedelta(seconds=2))
        add_events(b, failed_create_events(sts, b.namespace))
        return b.snapshot(sc.example)
    rollout = simulate(sc, memory_request_bytes(sts["spec"]["template"]["spec"]))
    add_models(b, sc, rollout)
    loaded = sum(1 for r in rollout.sim.placement.values() if r is not None)
    ready_at = max(rollout.subscribed.values(), default=None)
    server["status"] = server_status(sc, ready_at and ready_at + timedelta(seconds=4), loaded, sc.rollout)
    transitions = [] if sc.fresh else model_events(b)
    add_events(b, [*workload_events(b), *server_events(sc, server, sts, pods), *transitions])
    add_logs(b, sc, pods, rollout)
    return b.snapshot(sc.example)


# --- command line -------------------------------------------------------------------------------


def write_example(snapshot: TenantSnapshot, target: Path) -> None:
    """Replace `target` with a fresh bundle; refuse to delete anything that is not one."""
    if target.exists():
        if any(target.iterdir()) and not (target / "manifest.yaml").is_file():
            raise SystemExit(f"refusing to replace {target}: it is not a bundle directory")
        shutil.rmtree(target)
    write_bundle(snapshot, target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--shared",
        type=Path,
        default=REPO.parent / "shared" / "seldon",
        help="directory with Seldon's YAML (default: ../shared/seldon)",
    )
    parser.add_argument("--out", type=Path, default=REPO / "examples", help="where the bundles go")
    args = parser.parse_args(argv)
    if not (args.shared / "rendered-v2.10.2").is_dir():
        parser.error(f"{args.shared} has no rendered-v2.10.2/ directory")
    src = load_sources(args.shared)
    for sc in SCENARIOS:
        write_example(build(src, sc), args.out / sc.example)
        print(f"wrote {args.out / sc.example}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
