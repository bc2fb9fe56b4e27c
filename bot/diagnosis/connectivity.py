"""The connectivity matrix of a tenant (section 3 of the Seldon brief), one row per path.

Each row combines what can be judged without sending a packet: NetworkPolicies (a real evaluator
over ingress and egress, on the target *container* ports), the Services and EndpointSlices on the
way, readiness, and what the logs of both ends say. Loopback paths inside a server pod are
judged from the agent's flags, MLServer's env and the agent's log; NetworkPolicy never applies there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.diagnosis.checks.agent import (
    GAVE_UP_INFERENCE,
    SCHEDULER_NOT_READY,
    SUBSCRIBED,
    WAITING_INFERENCE,
    WAITING_RCLONE,
    subscribed_replicas,
    unresolved,
)
from bot.diagnosis.checks.base import finding
from bot.diagnosis.models import ConnectivityRow, Evidence, Finding, ObjectRef, Severity, Verdict
from bot.diagnosis.netpol import ContainerPort, Endpoint, ExternalEndpoint, PodEndpoint, evaluate_path
from bot.diagnosis.symptoms import model_symptom_id, pod_symptom_id, server_symptom_id
from bot.diagnosis.view import TenantView, log_evidence
from bot.seldon.objects import AGENT, arg_value, container, env_value
from bot.snapshot import KubeObject

# Labels that identify a workload across restarts; pod-specific hashes make poor policy selectors.
STABLE_LABELS = ("seldon-server-name", "app.kubernetes.io/name", "control-plane", "app")
VOLATILE_LABELS = (
    "pod-template-hash",
    "controller-revision-hash",
    "statefulset.kubernetes.io/pod-name",
    "apps.kubernetes.io/pod-index",
)
RUNTIME_CLIENTS = (  # component, container port on the scheduler, severity when blocked
    ("seldon-envoy", 9002, "high"),
    ("seldon-modelgateway", 9004, "medium"),
    ("seldon-pipelinegateway", 9004, "medium"),
    ("seldon-dataflow-engine", 9008, "medium"),
)


@dataclass
class Party:
    """One end of a path: the pods (or the pod template when no pod exists) of a workload."""

    name: str
    endpoints: list[PodEndpoint]
    selector: dict[str, str] = field(default_factory=dict)
    namespace: str = ""


def _ports(pod_spec: dict[str, Any]) -> list[ContainerPort]:
    return [
        ContainerPort(name=p.get("name"), port=p["containerPort"], protocol=p.get("protocol", "TCP"))
        for c in pod_spec.get("containers") or []
        for p in c.get("ports") or []
        if p.get("containerPort")
    ]


def stable_selector(labels: dict[str, str]) -> dict[str, str]:
    for key in STABLE_LABELS:
        if key in labels:
            return {key: labels[key]}
    return {k: v for k, v in labels.items() if k not in VOLATILE_LABELS}


def _party_from_pods(name: str, pods: list[KubeObject], template_owner: KubeObject | None) -> Party | None:
    if pods:
        eps = [
            PodEndpoint(
                namespace=p.namespace or "",
                labels=p.labels,
                ip=p.status.get("podIP"),
                ports=_ports(p.spec),
                description=f"pod {p.name}",
            )
            for p in pods
        ]
        return Party(name, eps, stable_selector(pods[0].labels), pods[0].namespace or "")
    if template_owner is not None:  # no pods: judge with the labels they would get
        template = template_owner.spec.get("template") or {}
        labels = (template.get("metadata") or {}).get("labels") or {}
        ep = PodEndpoint(
            namespace=template_owner.namespace or "",
            labels=labels,
            ports=_ports(template.get("spec") or {}),
            description=f"pods of {template_owner.kind} {template_owner.name}",
        )
        return Party(name, [ep], stable_selector(labels), template_owner.namespace or "")
    return None


class Matrix:
    def __init__(self, view: TenantView) -> None:
        self.view = view
        self.rows: list[ConnectivityRow] = []
        self.findings: list[Finding] = []
        self.check_findings: dict[str, list[str]] = {}  # subject name -> ids of the checks' findings
        self.policies = [p.to_dict() for p in view.snap.of("networkpolicies")]
        namespaces = {view.ns, view.snap.operator_namespace}
        self.ns_labels = {ns: view.snap.namespace_labels(ns) for ns in namespaces}

    # -- parties --------------------------------------------------------------------------

    def component(self, name: str) -> Party | None:
        view = self.view
        owner = view.get("deployments", name) or view.get("statefulsets", name)
        return _party_from_pods(name, view.component_pods(name), owner)

    def server(self, server: KubeObject) -> Party | None:
        return _party_from_pods(
            f"server {server.name}",
            self.view.server_pods(server.name),
            self.view.get("statefulsets", server.name),
        )

    def controller(self) -> Party | None:
        dep = self.view.get("operator_deployments", "seldon-v2-controller-manager")
        return _party_from_pods("controller seldon-v2-controller-manager", [], dep) if dep else None

    # -- NetworkPolicy ----------------------------------------------------------------------

    def policy_verdict(
        self, source: Party | None, external: bool, target: Party, port: int, protocol: str = "TCP"
    ) -> tuple[bool | None, list[Evidence], dict[str, Any] | None]:
        """(allowed, evidence, first denial) over every source/target endpoint pair; None = cannot judge."""
        if not self.view.snap.collected("networkpolicies"):
            err = self.view.snap.errors.get("networkpolicies")
            why = (
                f"NetworkPolicies could not be read: {err.message}"
                if err
                else "NetworkPolicies not collected"
            )
            return None, [Evidence(summary=why)], None
        sources: list[Endpoint] = (
            [ExternalEndpoint()] if external else list(source.endpoints if source else [])
        )
        evidence, denial = [], None
        for src in sources[:1]:  # endpoints of one workload share labels; one pair speaks for all
            for dst in target.endpoints[:1]:
                verdict = evaluate_path(self.policies, self.ns_labels, src, dst, port, protocol)
                evidence.append(
                    Evidence(
                        summary=f"NetworkPolicy: {verdict.explanation}",
                        value={
                            "ingress": verdict.ingress.selecting_policies,
                            "egress": verdict.egress.selecting_policies if verdict.egress else [],
                        },
                    )
                )
                if not verdict.allowed and denial is None:
                    direction = "ingress" if not verdict.ingress.allowed else "egress"
                    denial = {"direction": direction, "source": src, "target": dst}
        return denial is None, evidence, denial

    # -- rows -------------------------------------------------------------------------------

    def add(
        self,
        row_id: str,
        source: str,
        target: str,
        port: int,
        verdict: Verdict,
        summary: str,
        evidence: list[Evidence],
        target_port: int | None = None,
        protocol: str = "TCP",
        findings: list[Finding] | None = None,
    ) -> None:
        findings = findings or []
        self.findings.extend(findings)
        self.rows.append(
            ConnectivityRow(
                id=row_id,
                source=source,
                target=target,
                port=port,
                target_port=target_port,
                protocol=protocol,
                verdict=verdict,
                summary=summary,
                evidence=evidence,
                finding_ids=[f.id for f in findings],
            )
        )

    def policy_finding(
        self,
        row_id: str,
        source: Party | None,
        target: Party,
        port: int,
        denial: dict[str, Any],
        severity: Severity,
        explains: list[str],
        protocol: str = "TCP",
    ) -> Finding:
        src_ep, direction = denial["source"], denial["direction"]
        peer = {"namespace": source.namespace, "selector": source.selector} if source else {"external": True}
        return finding(
            "networkpolicy.blocks-path",
            ObjectRef(kind="ConnectivityPath", name=row_id, namespace=self.view.ns),
            severity,
            f"NetworkPolicy {direction} blocks {source.name if source else 'external clients'} -> "
            f"{target.name} on port {port}/{protocol}",
            [
                Evidence(
                    summary=f"{direction} to port {port}/{protocol} of {target.name} is denied for "
                    f"{getattr(src_ep, 'description', 'external client')}"
                )
            ],
            explains=explains,
            explanation="Policies that select a pod isolate it; only traffic that some rule admits gets through. "
            "The fix is one more policy admitting exactly this source on this port: existing "
            "policies stay as they are.",
            data={
                "row": row_id,
                "direction": direction,
                "port": port,
                "protocol": protocol,
                "peer": peer,
                "target": {"namespace": target.namespace, "selector": target.selector, "name": target.name},
            },
        )

    def service_path(
        self,
        row_id: str,
        source: Party | None,
        target: Party | None,
        service: str,
        port: int,
        target_port: int,
        severity: Severity,
        explains: list[str],
        logs: Callable[[], tuple[Verdict | None, list[Evidence]]] | None = None,
        external: bool = False,
        source_name: str | None = None,
    ) -> None:
        src_name = source_name or (source.name if source else "unknown source")
        target_name = f"{service}:{port}"
        view = self.view
        evidence: list[Evidence] = []
        if target is None:
            self.add(
                row_id,
                src_name,
                target_name,
                port,
                "blocked" if view.runtime is None else "unknown",
                f"no pods behind {service}",
                [Evidence(summary=f"no pods or workload for {service}")],
                target_port,
            )
            return
        svc = view.get("services", service)
        if view.snap.collected("services") and svc is None:
            self.add(
                row_id,
                src_name,
                target_name,
                port,
                "blocked",
                f"Service {service} does not exist",
                [Evidence(summary=f"no Service {service} in {view.ns}")],
                target_port,
            )
            return
        ready = view.ready_endpoints(service)
        evidence.append(Evidence(summary=f"Service {service}: {len(ready)} ready endpoint(s)"))
        allowed, policy_evidence, denial = self.policy_verdict(source, external, target, target_port)
        evidence += policy_evidence
        log_verdict, log_ev = logs() if logs else (None, [])
        evidence += log_ev
        findings: list[Finding] = []
        if allowed is False and denial:
            findings.append(
                self.policy_finding(row_id, source, target, target_port, denial, severity, explains)
            )
            verdict: Verdict = "blocked"
            summary = f"denied by NetworkPolicy ({denial['direction']}) on port {target_port}"
        elif not ready and view.snap.collected("endpointslices"):
            verdict, summary = "blocked", f"{service} has no ready endpoints"
        elif log_verdict in ("blocked", "degraded"):
            verdict, summary = log_verdict, "policies allow it, but the logs show failures"
        elif allowed is None and log_verdict is None:
            verdict, summary = "unknown", "NetworkPolicies unknown and no log evidence"
        else:
            verdict, summary = "ok", "allowed" + (", confirmed by logs" if log_verdict == "ok" else "")
        self.add(
            row_id, src_name, target_name, port, verdict, summary, evidence, target_port, findings=findings
        )


def _server_symptoms(view: TenantView, server: KubeObject) -> list[str]:
    return (
        [server_symptom_id(server.name)]
        + [pod_symptom_id(p.name) for p in view.server_pods(server.name)]
        + [model_symptom_id(m.name) for m in view.models_for(server.name)]
    )


def _agent_scheduler_logs(
    view: TenantView, server: KubeObject
) -> Callable[[], tuple[Verdict | None, list[Evidence]]]:
    def judge() -> tuple[Verdict | None, list[Evidence]]:
        failing = unresolved(view, server, (SCHEDULER_NOT_READY,), (SUBSCRIBED,))
        subscribed = subscribed_replicas(view, server.name)
        evidence = [log_evidence(ln) for ln in failing[-2:]]
        if view.scheduler_log_collected:
            evidence.append(
                Evidence(
                    summary="scheduler saw subscriptions from: " + (", ".join(sorted(subscribed)) or "none")
                )
            )
        agent_logs = any(view.has_log(p.name, AGENT) for p in view.server_pods(server.name))
        if not agent_logs and not view.scheduler_log_collected:
            return None, evidence
        if failing:
            return ("degraded" if subscribed else "blocked"), evidence
        return ("ok" if subscribed or agent_logs else None), evidence

    return judge


def _loopback_rows(m: Matrix, server: KubeObject) -> None:
    view = m.view
    pod_spec, source = view.running_pod_spec(server)
    if source is None:
        m.add(
            f"agent-inference/{server.name}",
            f"agent ({server.name})",
            "inference server (loopback)",
            9500,
            "unknown",
            "no pod spec",
            [Evidence(summary="no pods or StatefulSet for this Server")],
        )
        return
    agent, inference = container(pod_spec, AGENT), view.inference_container(pod_spec)
    host = arg_value(agent, "inference-host") or "0.0.0.0"
    grpc_port = int(env_value(agent, "SELDON_SERVER_GRPC_PORT") or 9500)
    bind = env_value(inference, "MLSERVER_HOST") or "0.0.0.0"
    lines = unresolved(view, server, WAITING_INFERENCE + GAVE_UP_INFERENCE)
    fids = m.check_findings.get(server.name, [])
    evidence = [
        Evidence(
            summary=f"agent dials {host}:{grpc_port} (--inference-host), MLServer binds {bind}"
            f"; NetworkPolicy does not apply to loopback"
        ),
        *[log_evidence(ln) for ln in lines[-2:]],
    ]
    loopback = host in ("0.0.0.0", "127.0.0.1", "localhost") and bind in ("0.0.0.0", "127.0.0.1", "::")
    verdict: Verdict = "blocked" if not loopback else "degraded" if lines else "ok"
    summary = (
        "agent dials away from loopback"
        if host not in ("0.0.0.0", "127.0.0.1", "localhost")
        else f"MLServer bound to {bind}"
        if not loopback
        else "inference server unreachable per agent log"
        if lines
        else "loopback, default ports"
    )
    row = ConnectivityRow(
        id=f"agent-inference/{server.name}",
        source=f"agent ({server.name})",
        target=f"{inference['name'] if inference else 'inference server'} (loopback)",
        port=grpc_port,
        verdict=verdict,
        summary=summary,
        evidence=evidence,
        finding_ids=[f for f in fids if "inference" in f or "mlserver-host" in f],
    )
    m.rows.append(row)
    rclone_lines = unresolved(view, server, WAITING_RCLONE)
    m.add(
        f"agent-rclone/{server.name}",
        f"agent ({server.name})",
        "rclone (loopback)",
        5572,
        "degraded" if rclone_lines else "ok",
        "agent waited for rclone" if rclone_lines else "loopback 0.0.0.0:5572",
        [
            Evidence(summary="agent dials 0.0.0.0:5572; NetworkPolicy does not apply to loopback"),
            *[log_evidence(ln) for ln in rclone_lines[-2:]],
        ],
    )


def build_matrix(
    view: TenantView, prior_findings: list[Finding]
) -> tuple[list[ConnectivityRow], list[Finding]]:
    m = Matrix(view)
    for f in prior_findings:  # lets loopback rows link to the agent findings
        if f.subject:
            m.check_findings.setdefault(f.subject.name, []).append(f.id)
    scheduler = m.component("seldon-scheduler")
    model_ids = [model_symptom_id(x.name) for x in view.models]
    m.service_path(
        "controller-scheduler",
        m.controller(),
        scheduler,
        "seldon-scheduler",
        9004,
        9004,
        "critical",
        model_ids,
        source_name="controller (seldon-v2-controller-manager)",
    )
    for server in view.servers:
        m.service_path(
            f"agent-scheduler/{server.name}",
            m.server(server),
            scheduler,
            "seldon-scheduler",
            9005,
            9005,
            "critical",
            _server_symptoms(view, server),
            logs=_agent_scheduler_logs(view, server),
            source_name=f"agent ({server.name})",
        )
    for component, port, severity in RUNTIME_CLIENTS:
        source = m.component(component)
        if source is not None:
            m.service_path(
                f"{component.removeprefix('seldon-')}-scheduler",
                source,
                scheduler,
                "seldon-scheduler",
                port,
                port,
                severity,
                [],
            )
    m.service_path(
        "external-mesh",
        None,
        m.component("seldon-envoy"),
        "seldon-mesh",
        80,
        9000,
        "high",
        [],
        external=True,
        source_name="external clients",
    )
    for server in view.servers:
        target = m.server(server)
        services = [f"{server.name}-{i}" for i in range(int(server.spec.get("replicas", 1) or 0))]
        m.service_path(
            f"envoy-agent/{server.name}",
            m.component("seldon-envoy"),
            target,
            services[0] if services else server.name,
            9000,
            9001,
            "high",
            [],
            source_name="envoy",
        )
        _loopback_rows(m, server)
    return m.rows, m.findings
