"""Proposals that patch a Server CR's podSpec: for each actionable root cause, the change at the layer that owns it.

Server pods are built by the operator from Server + ServerConfig, so fixes go to the Server CR's
`spec.podSpec` (tenant-scoped; the ServerConfig is shared by every tenant) and never to the
StatefulSet, whose edits the operator reverts. A JSON merge patch replaces lists on CRs, so a
podSpec patch always carries the whole `containers` list: read, modify, write.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

from bot.diagnosis.checks.agent_common import host_is_loopback
from bot.diagnosis.checks.capacity import instance_count
from bot.diagnosis.models import Finding, Proposal
from bot.diagnosis.view import TenantView, obj_ref
from bot.remediation.proposals.common import (
    GI,
    helm_risk,
    manual,
    proposal_id,
    spec_fingerprint,
    unified_diff,
)
from bot.seldon.objects import AGENT, arg_value, container, env_value, without_flag
from bot.seldon.operator import server_pod_spec
from bot.seldon.quantity import to_bytes
from bot.snapshot import KubeObject


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
    fields["risks"] = [*fields["risks"], *helm_risk(server)]
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
        return drift_manual(finding, view, server, f"--inference-host={host}")

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
        return drift_manual(finding, view, server, "MLSERVER_HOST")

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


def drift_manual(finding: Finding, view: TenantView, server: KubeObject, what: str) -> Proposal:
    """The setting is on the StatefulSet only: a direct edit the operator drops at its next full Update."""
    step = (
        f"{what} is set on the StatefulSet only (not in Server {server.name} or its ServerConfig): it was added "
        "to the StatefulSet directly. Touch the Server CR (e.g. add an annotation) so the operator rebuilds the "
        "StatefulSet from its spec, which drops the edit."
    )
    return manual(finding, view, f"Let the operator drop {what} from StatefulSet {server.name}", [step])
