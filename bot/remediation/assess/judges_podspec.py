"""Judges of pod-level settings: hostNetwork, and env a Server redefines over its ServerConfig."""

from __future__ import annotations

from bot.diagnosis.models import Evidence, ObjectRef
from bot.diagnosis.view import field_evidence
from bot.remediation.assess.context import Ctx, container_evidence
from bot.remediation.assess.models import Judgement
from bot.seldon.objects import container, containers, env_entry


def judge_host_network(ctx: Ctx) -> list[Judgement]:
    if ctx.fragment.get("hostNetwork") is not True or ctx.before.get("hostNetwork") is True:
        return []
    ports = sorted({p.get("containerPort") for c in containers(ctx.after) for p in c.get("ports") or []})
    policies = sorted(p.name for p in ctx.view.snap.of("networkpolicies"))
    replicas = int((ctx.server.spec.get("replicas") if ctx.server else None) or 1)
    parts = [
        "hostNetwork: true puts the pod in the node's network namespace.",
        "Pod network isolation is gone: NetworkPolicies do not apply to host-network pods"
        + (f" (this namespace has {', '.join(policies)})." if policies else "."),
        f"Ports {', '.join(map(str, ports))} are bound on the node and become host ports, so at most one "
        f"of the {replicas} replica(s) fits per node (the rest stay Pending); the agent's undeclared 9007 "
        "and 7777 collide with anything else on the node.",
        "Everything bound to 0.0.0.0 (MLServer, rclone's unauthenticated rc API on 5572) is exposed on the node IP.",
    ]
    if ctx.after.get("dnsPolicy") != "ClusterFirstWithHostNet":
        parts.append(
            "Without dnsPolicy: ClusterFirstWithHostNet the pod uses the node's DNS, so the agent "
            "cannot resolve seldon-scheduler (F6)."
        )
    evidence = [Evidence(summary=f"container ports {ports}", value=ports)]
    if ctx.server:
        evidence.append(field_evidence(ctx.server, "spec.replicas", replicas, f"{replicas} Server replicas"))
    evidence += [
        Evidence(
            summary=f"NetworkPolicy {name} selects pods by pod IP",
            object=ObjectRef(kind="NetworkPolicy", name=name, namespace=ctx.ns),
        )
        for name in policies
    ]
    return [
        Judgement(
            severity="risky",
            code="host-network",
            summary="hostNetwork: true gives up pod network isolation",
            explanation=" ".join(parts),
            evidence=evidence,
            instead="Keep pod networking; allow the needed ports in the NetworkPolicies instead (section 3).",
        )
    ]


def judge_duplicate_env(ctx: Ctx) -> list[Judgement]:
    """Server podSpec env is appended to the ServerConfig's: a redefinition duplicates the name."""
    if ctx.kind != "Server" or ctx.config is None:
        return []
    base = ctx.config.spec.get("podSpec") or {}
    out = []
    for c in ctx.patch_containers():
        base_c = container(base, c["name"])
        dups = [v["name"] for v in c.get("env") or [] if env_entry(base_c, v.get("name", ""))]
        if not dups:
            continue
        wired = [n for n in dups if "valueFrom" in (env_entry(base_c, n) or {})]
        explanation = (
            f"The operator appends Server podSpec env to ServerConfig {ctx.config.name}'s, so "
            f"container {c['name']} defines {', '.join(dups)} twice. Kubernetes uses the last "
            "definition (this one) and the API server warns about the duplicate."
        )
        if wired:
            explanation += (
                f" The ServerConfig takes {', '.join(wired)} from the downward API; replacing "
                "that wiring can break capacity or identity (F2)."
            )
        out.append(
            Judgement(
                severity="risky" if wired else "ok",
                code="duplicate-env",
                summary=f"{', '.join(dups)} on {c['name']} already defined by ServerConfig {ctx.config.name}",
                explanation=explanation,
                evidence=[
                    container_evidence(
                        ctx.config, base, c["name"], "env", f"ServerConfig {ctx.config.name} env of {c['name']}"
                    )
                ],
                instead="Change the ServerConfig (or its Helm values) instead." if wired else None,
            )
        )
    return out
