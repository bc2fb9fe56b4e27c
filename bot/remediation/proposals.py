"""Remediation proposals: for each actionable root cause, the change at the layer that owns it.

Server pods are built by the operator from Server + ServerConfig, so fixes go to the Server CR's
`spec.podSpec` (tenant-scoped; the ServerConfig is shared by every tenant) and never to the
StatefulSet, whose edits the operator reverts. A JSON merge patch replaces lists on CRs, so a
podSpec patch always carries the whole `containers` list: read, modify, write.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import math
from collections.abc import Callable
from typing import Any

import yaml

from bot.diagnosis.checks.agent_common import host_is_loopback
from bot.diagnosis.checks.capacity import instance_count
from bot.diagnosis.models import Finding, ObjectRef, Proposal
from bot.diagnosis.view import TenantView, obj_ref
from bot.seldon.objects import AGENT, arg_value, container, env_value, without_flag
from bot.seldon.operator import server_pod_spec
from bot.seldon.quantity import to_bytes
from bot.snapshot import KubeObject

GI = 2**30
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when present: 10x faster
HELM_RELEASE = "meta.helm.sh/release-name"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


def proposal_id(finding_id: str, target: ObjectRef) -> str:
    """Stable across runs: the same finding on the same object gives the same id."""
    key = f"{finding_id}|{target.kind}|{target.namespace}|{target.name}"
    return "p-" + hashlib.sha256(key.encode()).hexdigest()[:10]


def spec_fingerprint(spec: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def unified_diff(before: dict[str, Any], after: dict[str, Any], name: str) -> str:
    a = yaml.dump(before, Dumper=_DUMPER, sort_keys=False).splitlines(keepends=True)
    b = yaml.dump(after, Dumper=_DUMPER, sort_keys=False).splitlines(keepends=True)
    return "".join(difflib.unified_diff(a, b, f"{name} (live)", f"{name} (proposed)"))


def _helm_risk(obj: KubeObject) -> list[str]:
    release = obj.metadata.annotations.get(HELM_RELEASE)
    if not release:
        return []
    return [
        f"{obj.kind} {obj.name} is managed by Helm release {release!r}: the next `helm upgrade` reverts "
        "this change unless the same values go into the release (seldon-core-v2-servers: "
        "mlserver.podSpec)."
    ]


def _podspec_patch(
    finding: Finding, server: KubeObject, edit: Callable[[list[dict[str, Any]]], None], **fields: Any
) -> Proposal:
    """A merge patch of the Server CR carrying the whole, edited `spec.podSpec.containers` list."""
    before = copy.deepcopy(server.spec.get("podSpec") or {})
    containers = copy.deepcopy(before.get("containers") or [])
    edit(containers)
    after = {**before, "containers": containers}
    target = obj_ref(server)
    fields.setdefault("risks", [])
    fields["risks"] = [*fields["risks"], *_helm_risk(server)]
    return Proposal(
        id=proposal_id(finding.id, target),
        finding_id=finding.id,
        action="patch",
        target=target,
        target_resource_version=server.metadata.resource_version,
        target_spec_hash=spec_fingerprint(server.spec),
        patch_type="merge",
        patch={"spec": {"podSpec": {"containers": containers}}},
        diff=unified_diff({"spec": {"podSpec": before}}, {"spec": {"podSpec": after}}, f"Server {server.name}"),
        automatic=True,
        **fields,
    )


def _set_or_drop(entry: dict[str, Any], key: str, values: list[Any]) -> None:
    if values:
        entry[key] = values
    else:
        entry.pop(key, None)


def _effective(view: TenantView, server: KubeObject, containers: list[dict[str, Any]]) -> dict[str, Any]:
    """The pod spec the operator would build once the Server carries these containers."""
    config = view.serverconfig(server)
    patched = server.to_dict()
    patched.setdefault("spec", {})["podSpec"] = {**(server.spec.get("podSpec") or {}), "containers": containers}
    return server_pod_spec(patched, config.to_dict()) if config else patched["spec"]["podSpec"]


def _entry(containers: list[dict[str, Any]], name: str) -> dict[str, Any]:
    for c in containers:
        if c.get("name") == name:
            return c
    containers.append({"name": name})
    return containers[-1]


def _memory_size(view: TenantView, server: KubeObject) -> int:
    """Enough for the largest Model and for an even share of all Models' memory, at least 1Gi."""
    models = [m for m in view.models_for(server.name) if m.spec.get("memory")]
    workers = instance_count(view.running_pod_spec(server)[0])  # the scheduler multiplies by it
    largest = max((to_bytes(m.spec["memory"]) * workers for m in models), default=0)
    replicas = max(1, int(server.spec.get("replicas", 1) or 1))
    share = sum(to_bytes(m.spec["memory"]) * workers * int(m.spec.get("replicas", 1) or 1) for m in models) / replicas
    return max(1, math.ceil(max(largest, share) / GI)) * GI


def memory_request(finding: Finding, view: TenantView) -> Proposal | None:
    server = view.get("servers", finding.data["server"])
    if server is None:
        return None
    name, size = finding.data["container"], _memory_size(view, server)
    quantity = f"{size // GI}Gi"

    def edit(containers: list[dict[str, Any]]) -> None:
        resources = _entry(containers, name).setdefault("resources", {})
        resources.setdefault("requests", {})["memory"] = quantity
        resources.setdefault("limits", {})["memory"] = quantity

    blocked = finding.data.get("blocked_models") or []
    return _podspec_patch(
        finding,
        server,
        edit,
        title=f"Set a {quantity} memory request and limit on container {name} of Server {server.name}",
        rationale=(
            f"The agent reports the memory request of container {name} as its capacity. Setting it on the "
            f"Server CR (the layer that owns this tenant's pods) gives each replica {size} bytes; {quantity} "
            "covers the largest Model and an even share of all Models' spec.memory. The existing "
            "podSpec containers are kept: a merge patch replaces the whole list. The ServerConfig "
            f"{finding.data.get('serverconfig')!r} lacks the request too, but it lives in the operator "
            f"namespace {view.snap.operator_namespace} and is shared by every tenant's Servers: change it "
            "there only to fix all tenants at once."
        ),
        risks=[
            "The operator rolls the StatefulSet: replicas restart one at a time and their Models are "
            "rescheduled while each one is down.",
            f"Each replica now requests {quantity} more memory on its node; a full node leaves the pod Pending.",
            f"The limit makes MLServer OOMKilled above {quantity}: raise it if Models grow.",
        ],
        verify=[
            f"agent log: 'Setting memory request from env MEMORY_REQUEST with value {size}' on every replica",
            "Models " + (", ".join(blocked) if blocked else "with spec.memory") + ": ModelReady=True "
            "(message ModelAvailable), status.availableReplicas = spec.replicas",
            f"Server {server.name} status.loadedModels rises; `seldon server status {server.name}` shows "
            f"totalMemoryBytes {size}",
            "No manual restart is needed: agents re-subscribe with the new capacity and the scheduler "
            "retries failed Models on subscribe.",
        ],
    )


def inference_host(finding: Finding, view: TenantView) -> Proposal | None:
    server = view.get("servers", finding.data["server"])
    if server is None:
        return None
    host, where = finding.data["host"], finding.data["defined_in"]
    if where == "statefulset":
        return _drift_manual(finding, view, server, f"--inference-host={host}")

    def edit(containers: list[dict[str, Any]]) -> None:
        agent = _entry(containers, AGENT)
        args = without_flag(agent.get("args") or [], "inference-host")
        _set_or_drop(agent, "args", args)
        effective = arg_value(container(_effective(view, server, containers), AGENT), "inference-host")
        if where == "serverconfig" or not host_is_loopback(effective or ""):
            # The ServerConfig still sets it: the operator appends ours after it, and the last flag wins.
            _set_or_drop(agent, "args", [*args, "--inference-host=0.0.0.0"])

    how = (
        "removes it from the Server CR"
        if where == "server"
        else "appends --inference-host=0.0.0.0 to the Server CR's agent args (the operator appends them after "
        "the ServerConfig's, and the last flag wins)"
    )
    return _podspec_patch(
        finding,
        server,
        edit,
        title=f"Restore loopback: drop --inference-host={host} from the agent of Server {server.name}",
        rationale=(
            f"The agent must dial the inference server in its own pod. Its default, 0.0.0.0, is "
            f"loopback on Linux and MLServer binds 0.0.0.0. This patch {how}. Loopback is not subject "
            "to NetworkPolicy and does not change when pods move."
        ),
        risks=["The operator rolls the StatefulSet; replicas restart one at a time."],
        verify=[
            "agent log: 'All critical agent subservices ready.' (>= 2.9.1, info level) then 'Subscribed to scheduler'",
            "pods 3/3 Ready, Server Ready=True",
            "scheduler log: 'Received agent subscribe request from " + server.name + ":<i>'",
            "Models ModelReady=True",
        ],
    )


def mlserver_host(finding: Finding, view: TenantView) -> Proposal | None:
    server = view.get("servers", finding.data["server"])
    if server is None:
        return None
    name, where = finding.data["container"], finding.data["defined_in"]
    if where == "statefulset":
        return _drift_manual(finding, view, server, "MLSERVER_HOST")

    def edit(containers: list[dict[str, Any]]) -> None:
        entry = _entry(containers, name)
        env = [e for e in entry.get("env") or [] if e.get("name") != "MLSERVER_HOST"]
        _set_or_drop(entry, "env", env)
        effective = env_value(container(_effective(view, server, containers), name), "MLSERVER_HOST")
        if where == "serverconfig" or effective not in (None, "", "0.0.0.0"):
            # The ServerConfig still sets it: ours is appended after it, and Kubernetes uses the last one.
            _set_or_drop(entry, "env", [*env, {"name": "MLSERVER_HOST", "value": "0.0.0.0"}])

    return _podspec_patch(
        finding,
        server,
        edit,
        title=f"Restore MLServer's default bind (0.0.0.0) on Server {server.name}",
        rationale=(
            "MLServer must listen where both the agent (loopback) and the kubelet probes (pod IP) "
            "reach it: 0.0.0.0, its default. Never 127.0.0.1: the probes on the pod IP would fail."
        ),
        risks=["The operator rolls the StatefulSet; replicas restart one at a time."],
        verify=[
            "mlserver log: 'gRPC server running on http://0.0.0.0:9500'",
            "pods Ready, no probe failures",
            "Models ModelReady=True",
        ],
    )


ZOMBIE_RATIONALE = (
    "The agent stopped its control loop after the inference server was down and, from 2.10, "
    "does not exit; it has no liveness probe, so only a restart brings it back. The restart "
    "annotation is additive, so the operator's three-way diff keeps it."
)


def restart_proposal(sts: KubeObject, finding_id: str, rationale: str, stamp: str) -> Proposal:
    """A rollout restart the way kubectl does it: a new restartedAt stamp on the pod template."""
    target = obj_ref(sts)
    server = sts.labels.get("seldon-server-name", sts.name)
    return Proposal(
        id=proposal_id(finding_id or "restart", target),
        finding_id=finding_id,
        action="restart",
        target=target,
        target_resource_version=sts.metadata.resource_version,
        target_spec_hash=spec_fingerprint(sts.spec),
        patch_type="merge",
        # Valid as is for `kubectl patch`; the executor stamps the time it applies it.
        patch={"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}},
        title=f"Rollout restart StatefulSet {sts.name}",
        rationale=rationale,
        risks=[
            "Replicas restart one at a time; Models move while each is down.",
            "If the inference server keeps failing (OOMKilled, slow start), the agent gives up again: fix that too.",
        ],
        verify=[
            "agent log 'Subscribed to scheduler' after the restart",
            "pods Ready",
            f"scheduler log 'Received agent subscribe request from {server}:<i>'",
        ],
        check_ids=["server.ready", "agent.zombie", "agent.scheduler"],
        automatic=True,
    )


def restart(finding: Finding, view: TenantView) -> Proposal | None:
    sts = view.get("statefulsets", finding.data["server"])
    if sts is None:
        return None
    return restart_proposal(sts, finding.id, ZOMBIE_RATIONALE, view.snap.collected_at.isoformat())


def network_policy(finding: Finding, view: TenantView) -> Proposal | None:
    data = finding.data
    port = {"port": data["port"], "protocol": data["protocol"]}
    peer_data, target = data["peer"], data["target"]
    name = f"allow-{data['row'].replace('/', '-')}-{data['port']}-{data['direction']}"[:63].rstrip("-")
    existing = {p.name for p in view.snap.of("networkpolicies")}
    while name in existing:  # never replace a policy that is there: add one next to it
        name = f"{name[:60]}-x"
    if data["direction"] == "ingress":
        namespace, selector = target["namespace"], target["selector"]
        if peer_data.get("external"):
            rule: dict[str, Any] = {"ports": [port]}
        else:
            peer: dict[str, Any] = {"podSelector": {"matchLabels": peer_data["selector"]}}
            if peer_data["namespace"] != namespace:
                peer["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": peer_data["namespace"]}}
            rule = {"from": [peer], "ports": [port]}
        spec = {"podSelector": {"matchLabels": selector}, "policyTypes": ["Ingress"], "ingress": [rule]}
    else:
        namespace, selector = peer_data["namespace"], peer_data["selector"]
        peer = {"podSelector": {"matchLabels": target["selector"]}}
        if target["namespace"] != namespace:
            peer["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": target["namespace"]}}
        spec = {
            "podSelector": {"matchLabels": selector},
            "policyTypes": ["Egress"],
            "egress": [{"to": [peer], "ports": [port]}],
        }
    manifest = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "seldon-chatops"},
        },
        "spec": spec,
    }
    target_ref = ObjectRef(kind="NetworkPolicy", name=name, namespace=namespace, api_version="networking.k8s.io/v1")
    return Proposal(
        id=proposal_id(finding.id, target_ref),
        finding_id=finding.id,
        action="create",
        target=target_ref,
        manifest=manifest,
        title=f"Add NetworkPolicy {name} admitting exactly this path",
        diff=unified_diff({}, manifest, f"NetworkPolicy {namespace}/{name}"),
        rationale=(
            f"Policies are additive: one more policy that admits only {data['row']} on port "
            f"{data['port']}/{data['protocol']} opens this path and nothing else. Existing policies "
            "are neither deleted nor loosened."
        ),
        risks=["Review the selectors against your policy conventions (GitOps repositories may own policies)."],
        verify=[
            "the matrix row turns ok on the next diagnosis",
            "for agent->scheduler: scheduler log 'Received agent subscribe request from <server>:<i>'",
        ],
        steps=[f"kubectl apply -f <this manifest> -n {namespace}"],
    )


def runtime_missing(finding: Finding, view: TenantView) -> Proposal | None:
    ns = view.ns
    manifest = {
        "apiVersion": "mlops.seldon.io/v1alpha1",
        "kind": "SeldonRuntime",
        "metadata": {"name": "seldon", "namespace": ns},
        "spec": {
            "seldonConfig": "default",
            "disableAutoUpdate": False,
            "overrides": [],
            "config": {"agentConfig": {"rclone": {}}},
        },
    }
    target = ObjectRef(kind="SeldonRuntime", name="seldon", namespace=ns, api_version="mlops.seldon.io/v1alpha1")
    return Proposal(
        id=proposal_id(finding.id, target),
        finding_id=finding.id,
        action="create",
        target=target,
        manifest=manifest,
        title=f"Create the SeldonRuntime for namespace {ns}",
        diff=unified_diff({}, manifest, f"SeldonRuntime {ns}/seldon"),
        rationale=(
            "Each tenant namespace needs its own runtime: it creates the scheduler, envoy, gateways, "
            "the seldon-server ServiceAccount with the agent Role, and the ConfigMaps server pods mount."
        ),
        risks=[
            "Creates workloads in the namespace (scheduler, envoy, gateways): check quotas.",
            f"The SeldonConfig 'default' must exist in {view.snap.operator_namespace}.",
        ],
        steps=[
            f"kubectl apply -n {ns} -f <this manifest>",
            f"or: helm install seldon-core-v2-runtime seldon-charts/seldon-core-v2-runtime -n {ns}",
            "the StatefulSet then creates the server pods; re-run the diagnosis",
        ],
        verify=[
            "SeldonRuntime Ready=True",
            f"Service seldon-scheduler exists in {ns}",
            "server pods Running and Ready",
            "Models ModelReady=True",
        ],
    )


def _manual(finding: Finding, view: TenantView, title: str, steps: list[str]) -> Proposal:
    target = finding.subject or ObjectRef(kind="Namespace", name=view.ns)
    return Proposal(
        id=proposal_id(finding.id, target),
        finding_id=finding.id,
        action="manual",
        target=target,
        title=title,
        steps=steps,
        rationale=finding.explanation or finding.summary,
    )


def _drift_manual(finding: Finding, view: TenantView, server: KubeObject, what: str) -> Proposal:
    """The setting is on the StatefulSet only: a direct edit the operator drops at its next full Update."""
    step = (
        f"{what} is set on the StatefulSet only (not in Server {server.name} or its ServerConfig): it was added "
        "to the StatefulSet directly. Touch the Server CR (e.g. add an annotation) so the operator rebuilds the "
        "StatefulSet from its spec, which drops the edit."
    )
    return _manual(finding, view, f"Let the operator drop {what} from StatefulSet {server.name}", [step])


def _serverconfig_fix(finding: Finding, view: TenantView) -> Proposal:
    config = finding.data.get("serverconfig")
    return _manual(
        finding,
        view,
        f"Fix the agent's capacity wiring in ServerConfig {config}",
        [
            f"In ServerConfig {config} (namespace {view.snap.operator_namespace}), agent container: "
            "MEMORY_REQUEST must come from valueFrom.resourceFieldRef {containerName: <inference container>, "
            "resource: requests.memory} with no divisor; no SELDON_REPLICA_CONFIG unless it sets memoryBytes.",
            "If Helm manages it, change the seldon-core-v2-setup values instead.",
            f"This rolls every Server using {config}, in every tenant.",
        ],
    )


def _requirements_fix(finding: Finding, view: TenantView) -> Proposal:
    return _manual(
        finding,
        view,
        "Align Model requirements and Server capabilities",
        [
            "Either correct the Model's spec.requirements (and spec.server), or add the capability to the "
            "Server with spec.capabilities / spec.extraCapabilities if that server really supports it.",
        ],
    )


BUILDERS: dict[str, Callable[[Finding, TenantView], Proposal | None]] = {
    "capacity.memory-request-missing": memory_request,
    "agent.inference-host-not-loopback": inference_host,
    "agent.mlserver-host": mlserver_host,
    "agent.zombie": restart,
    "networkpolicy.blocks-path": network_policy,
    "runtime.missing": runtime_missing,
    "capacity.memory-config-wrong": _serverconfig_fix,
    "models.requirements-unmet": _requirements_fix,
    "models.server-missing": _requirements_fix,
}


def propose(findings: list[Finding], view: TenantView) -> list[Proposal]:
    proposals = []
    for f in findings:
        builder = BUILDERS.get(f.code)
        proposal = builder(f, view) if builder else None
        if proposal is not None and all(p.id != proposal.id for p in proposals):
            proposals.append(proposal)
    return proposals


__all__ = ["BUILDERS", "proposal_id", "propose"]
