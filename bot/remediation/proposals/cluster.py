"""Proposals outside a podSpec: restarts, additive NetworkPolicies, a missing SeldonRuntime, steps for a human."""

from __future__ import annotations

from typing import Any

from bot.diagnosis.models import Finding, ObjectRef, Proposal
from bot.diagnosis.view import TenantView, obj_ref
from bot.remediation.proposals.common import RESTARTED_AT, manual, proposal_id, spec_fingerprint, unified_diff
from bot.snapshot import KubeObject

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
    # Ingress: a policy on the target admitting the source. Egress: a policy on the source admitting the target.
    ingress = data["direction"] == "ingress"
    owner, other = (target, peer_data) if ingress else (peer_data, target)
    namespace = owner["namespace"]
    rule: dict[str, Any] = {} if other.get("external") else {"from" if ingress else "to": [_peer(other, namespace)]}
    rule["ports"] = [port]
    direction = "Ingress" if ingress else "Egress"
    spec = {"podSelector": {"matchLabels": owner["selector"]}, "policyTypes": [direction], direction.lower(): [rule]}
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


def _peer(side: dict[str, Any], policy_namespace: str) -> dict[str, Any]:
    """Pods of `side`, qualified by their namespace when the policy lives in another one."""
    peer: dict[str, Any] = {"podSelector": {"matchLabels": side["selector"]}}
    if side["namespace"] != policy_namespace:
        peer["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": side["namespace"]}}
    return peer


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


def serverconfig_fix(finding: Finding, view: TenantView) -> Proposal:
    config = finding.data.get("serverconfig")
    return manual(
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


def requirements_fix(finding: Finding, view: TenantView) -> Proposal:
    return manual(
        finding,
        view,
        "Align Model requirements and Server capabilities",
        [
            "Either correct the Model's spec.requirements (and spec.server), or add the capability to the "
            "Server with spec.capabilities / spec.extraCapabilities if that server really supports it.",
        ],
    )
