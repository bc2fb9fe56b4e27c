"""Servers, their StatefulSets and pods: readiness, ServerConfig, container failures, manual drift."""

from __future__ import annotations

from bot.diagnosis.checks.base import Outcome, check, concluded, finding, passed
from bot.diagnosis.models import Evidence, Finding
from bot.diagnosis.symptoms import pod_symptom_id, server_symptom_id
from bot.diagnosis.view import TenantView, field_evidence
from bot.seldon.objects import condition
from bot.snapshot import KubeObject

CONFIG_ERRORS = {
    "CreateContainerConfigError",
    "CreateContainerError",
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
}


@check("server.ready", "Servers and their StatefulSets are Ready", needs=("servers",))
def servers_ready(view: TenantView) -> Outcome:
    if not view.servers:
        return passed("no Servers in the namespace")
    evidence, failing = [], 0
    for server in view.servers:
        cond = condition(server, "Ready") or {}
        sts = view.get("statefulsets", server.name)
        desired = int(server.spec.get("replicas", 1) or 0)
        ready = int((sts.status.get("readyReplicas") or 0) if sts else 0)
        line = f"Server {server.name}: Ready={cond.get('status', 'unknown')}, {ready}/{desired} pods ready"
        if cond.get("status") != "True":
            failing += 1
            line += f" ({cond.get('reason') or cond.get('message') or 'no reason'})"
        evidence.append(field_evidence(server, "status.conditions[type=Ready]", cond.get("status"), line))
    summary = f"{len(view.servers) - failing}/{len(view.servers)} Servers Ready"
    # Symptoms only; the causes are judged by the capacity, agent and runtime checks.
    return Outcome("fail" if failing else "pass", summary, evidence)


@check(
    "server.serverconfig",
    "Each Server's ServerConfig exists in the operator namespace",
    needs=("servers", "serverconfigs"),
)
def serverconfig_exists(view: TenantView) -> Outcome:
    findings = []
    for server in view.servers:
        name = server.spec.get("serverConfig")
        if view.serverconfig(server) is None:
            findings.append(
                finding(
                    "server.serverconfig-missing",
                    server,
                    "critical",
                    f"Server {server.name} uses ServerConfig {name!r}, which is not in namespace "
                    f"{view.snap.operator_namespace}",
                    [
                        field_evidence(server, "spec.serverConfig", name, f"spec.serverConfig {name}"),
                        Evidence(
                            summary="ServerConfigs there: "
                            + (", ".join(sorted(c.name for c in view.snap.of("serverconfigs"))) or "none")
                        ),
                    ],
                    explains=[server_symptom_id(server.name)],
                    explanation="ServerConfigs are read from the operator's own namespace, never the tenant's; "
                    "without it the operator cannot build the StatefulSet.",
                )
            )
    return concluded(findings, "every Server's ServerConfig exists")


def _container_problems(view: TenantView, pod: KubeObject) -> list[tuple[str, Evidence]]:
    problems = []
    for status in pod.status.get("containerStatuses") or []:
        name = status.get("name")
        waiting = (status.get("state") or {}).get("waiting") or {}
        last = (status.get("lastState") or {}).get("terminated") or {}
        if waiting.get("reason") in CONFIG_ERRORS:
            problems.append(
                (
                    f"{name} {waiting['reason']}",
                    field_evidence(
                        pod,
                        f"status.containerStatuses[name={name}].state.waiting",
                        waiting,
                        f"pod {pod.name}: {name} {waiting['reason']}: {waiting.get('message', '')}",
                    ),
                )
            )
        elif last.get("reason") == "OOMKilled":
            problems.append(
                (
                    f"{name} OOMKilled",
                    field_evidence(
                        pod,
                        f"status.containerStatuses[name={name}].lastState.terminated.reason",
                        "OOMKilled",
                        f"pod {pod.name}: {name} was OOMKilled ({status.get('restartCount', 0)} restarts)",
                    ),
                )
            )
    creating = any(
        ((s.get("state") or {}).get("waiting") or {}).get("reason") == "ContainerCreating"
        for s in pod.status.get("containerStatuses") or []
    )
    # Pending pods say why only in their events (FailedMount of seldon-agent, FailedScheduling, ...).
    if not pod.status.get("containerStatuses") or creating:
        for ev in view.events("Pod", pod.name):
            if ev.top("type") == "Warning":
                problems.append(
                    (
                        f"{ev.top('reason')}",
                        field_evidence(
                            ev,
                            "message",
                            ev.top("message"),
                            f"pod {pod.name}: {ev.top('reason')}: {ev.top('message')}",
                        ),
                    )
                )
                break
    return problems


@check(
    "server.pods",
    "Server pods start: no config errors, OOMKills or failed creations",
    modes=("F4", "F7"),
    needs=("servers", "pods"),
)
def server_pods(view: TenantView) -> Outcome:
    findings: list[Finding] = []
    for server in view.servers:
        for pod in view.server_pods(server.name):
            problems = _container_problems(view, pod)
            if problems:
                findings.append(
                    finding(
                        "server.pod-failing",
                        pod,
                        "medium",
                        f"pod {pod.name}: " + ", ".join(p for p, _ in problems),
                        [e for _, e in problems],
                        explains=[pod_symptom_id(pod.name)],
                        explanation="A container that cannot start or keeps being killed keeps the pod from Ready.",
                        data={"server": server.name},
                    )
                )
        sts = view.get("statefulsets", server.name)
        if sts and not view.server_pods(server.name) and int(sts.spec.get("replicas", 1) or 0) > 0:
            warnings = [e for e in view.events("StatefulSet", sts.name) if e.top("type") == "Warning"]
            findings.append(
                finding(
                    "server.pods-not-created",
                    sts,
                    "high",
                    f"StatefulSet {sts.name} has no pods" + (f": {warnings[-1].top('reason')}" if warnings else ""),
                    [
                        field_evidence(e, "message", e.top("message"), f"event {e.top('reason')}: {e.top('message')}")
                        for e in warnings[-2:]
                    ]
                    or [Evidence(summary=f"StatefulSet {sts.name}: 0 pods")],
                    explains=[server_symptom_id(server.name)],
                    explanation="The StatefulSet controller could not create the pods; its events say why.",
                    data={"server": server.name},
                )
            )
    return concluded(findings, "server pods were created and their containers start")


@check(
    "server.ownership",
    "Server StatefulSets are owned by their Server (edits go through the CR)",
    needs=("servers", "statefulsets"),
)
def ownership(view: TenantView) -> Outcome:
    findings, ok = [], []
    for server in view.servers:
        sts = view.get("statefulsets", server.name)
        if sts is None:
            continue
        owners = [o for o in sts.metadata.owner_references if o.controller]
        if any(o.kind == "Server" and o.name == server.name for o in owners):
            ok.append(
                field_evidence(
                    sts,
                    "metadata.ownerReferences",
                    f"Server/{server.name}",
                    f"StatefulSet {sts.name} is owned by Server {server.name}: fix via the CR",
                )
            )
            continue
        findings.append(
            finding(
                "server.statefulset-unowned",
                sts,
                "low",
                f"StatefulSet {sts.name} has no controller reference to Server {server.name}",
                [field_evidence(sts, "metadata.ownerReferences", [o.name for o in owners], "owner references")],
                explanation="Without the owner reference the operator does not manage this StatefulSet.",
            )
        )
    return concluded(findings, "each Server's StatefulSet is operator-owned", ok, warn_only=True)


CHECKS = (servers_ready, serverconfig_exists, server_pods, ownership)
