"""The connectivity matrix of a tenant (section 3 of the Seldon brief), one row per path.

Each row combines what can be judged without sending a packet: NetworkPolicies (a real evaluator
over ingress and egress, on the target *container* port the Service maps to, for every pair of
source and target pods), the Services and EndpointSlices on the way, and what the logs of both
ends say. Loopback paths inside a server pod are judged from the agent's flags, MLServer's env and
the agent's log; NetworkPolicy never applies there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.diagnosis.checks.agent_common import host_is_loopback, subscribed_replicas, unresolved
from bot.diagnosis.checks.base import finding
from bot.diagnosis.models import ConnectivityRow, Evidence, Finding, ObjectRef, Severity, Verdict
from bot.diagnosis.netpol import ContainerPort, Endpoint, ExternalEndpoint, PodEndpoint, evaluate_path
from bot.diagnosis.symptoms import model_symptom_id, pod_symptom_id, server_symptom_id
from bot.diagnosis.view import TenantView, log_evidence
from bot.seldon.agent_log import GAVE_UP_INFERENCE, SCHEDULER_NOT_READY, SUBSCRIBED, WAITING_INFERENCE, WAITING_RCLONE
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
RUNTIME_CLIENTS = (  # component, scheduler port it dials, severity when blocked
    ("seldon-envoy", 9002, "high"),
    ("seldon-modelgateway", 9004, "medium"),
    ("seldon-pipelinegateway", 9004, "medium"),
    ("seldon-dataflow-engine", 9008, "medium"),
)
MAX_PAIRS = 64  # pod pairs evaluated per path; replicas of one workload rarely differ beyond that
NOT_LOOPBACK_NOTE = "NetworkPolicy does not apply to loopback"
LogJudge = Callable[[], tuple[Verdict | None, list[Evidence]]]


@dataclass
class Party:
    """One end of a path: the pods (or the pod template when no pod exists) of a workload."""

    name: str
    endpoints: list[PodEndpoint]
    selector: dict[str, str] = field(default_factory=dict)
    namespace: str = ""


@dataclass
class ServicePath:
    row_id: str
    source_name: str
    source: Party | None
    target: Party | None
    services: list[str]
    port: int  # the Service port the source dials
    severity: Severity
    explains: list[str]
    external: bool = False
    logs: LogJudge | None = None


@dataclass
class PolicyJudgement:
    allowed: bool | None  # None: cannot judge
    evidence: list[Evidence]
    denials: dict[str, tuple[Endpoint, PodEndpoint]] = field(default_factory=dict)  # direction -> a denied pair
    partial: bool = False  # some pod pairs allowed, others denied


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


def _party(name: str, pods: list[KubeObject], template_owner: KubeObject | None) -> Party | None:
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


def _tls(container_: dict[str, Any] | None) -> bool:
    return (env_value(container_, "CONTROL_PLANE_SECURITY_PROTOCOL") or "").upper() == "SSL"


class Matrix:
    def __init__(self, view: TenantView, check_findings: list[Finding]) -> None:
        self.view = view
        self.rows: list[ConnectivityRow] = []
        self.findings: list[Finding] = []
        # Findings of the checks by subject name, so loopback rows link the agent's findings.
        self.check_findings: dict[str, list[Finding]] = {}
        for f in check_findings:
            if f.subject:
                self.check_findings.setdefault(f.subject.name, []).append(f)
        self.policies = [p.to_dict() for p in view.snap.of("networkpolicies")]
        self.ns_labels = {ns: view.snap.namespace_labels(ns) for ns in {view.ns, view.snap.operator_namespace}}

    # -- parties ------------------------------------------------------------------------------

    def component(self, name: str) -> Party | None:
        view = self.view
        return _party(name, view.component_pods(name), view.get("deployments", name) or view.get("statefulsets", name))

    def server(self, server: KubeObject) -> Party | None:
        return _party(
            f"server {server.name}", self.view.server_pods(server.name), self.view.get("statefulsets", server.name)
        )

    def controller(self) -> tuple[Party | None, dict[str, Any] | None]:
        dep = self.view.get("operator_deployments", "seldon-v2-controller-manager")
        if dep is None:
            return None, None
        spec = (dep.spec.get("template") or {}).get("spec") or {}
        manager = container(spec, "manager") or next(iter(spec.get("containers") or []), None)
        return _party("controller seldon-v2-controller-manager", [], dep), manager

    # -- judgements ---------------------------------------------------------------------------

    def policy_judgement(self, path: ServicePath, target: Party, port: int) -> PolicyJudgement:
        snap = self.view.snap
        if not snap.collected("networkpolicies"):
            err = snap.errors.get("networkpolicies")
            why = f"NetworkPolicies could not be read: {err.message}" if err else "NetworkPolicies not collected"
            return PolicyJudgement(None, [Evidence(summary=why)])
        if path.source is None and not path.external:
            return PolicyJudgement(None, [Evidence(summary=f"{path.source_name}: pods unknown (not collected)")])
        sources: list[Endpoint] = [ExternalEndpoint()] if path.external else list(path.source.endpoints)
        pairs = [(s, t) for s in sources for t in target.endpoints][:MAX_PAIRS]
        judgement = PolicyJudgement(True, [])
        allowed_pairs = 0
        for src, dst in pairs:
            verdict = evaluate_path(self.policies, self.ns_labels, src, dst, port)
            if verdict.allowed:
                allowed_pairs += 1
                if not judgement.evidence:
                    judgement.evidence.append(Evidence(summary=f"NetworkPolicy: {verdict.explanation}"))
                continue
            for direction in ("ingress", "egress"):
                side = verdict.ingress if direction == "ingress" else verdict.egress
                if side is not None and not side.allowed and direction not in judgement.denials:
                    judgement.denials[direction] = (src, dst)
                    judgement.evidence.append(
                        Evidence(summary=f"NetworkPolicy: {side.explanation}", value=side.selecting_policies)
                    )
        judgement.allowed = not judgement.denials
        judgement.partial = bool(judgement.denials) and allowed_pairs > 0
        return judgement

    def service_ports(self, service: str, port: int, target: Party) -> tuple[str | None, int | None]:
        """(problem, container port) of a Service port: its targetPort resolved on the target pods."""
        svc = self.view.get("services", service)
        if svc is None:
            return (f"Service {service} does not exist" if self.view.snap.collected("services") else None), None
        entry = next((p for p in svc.spec.get("ports") or [] if p.get("port") == port), None)
        if entry is None:
            return f"Service {service} has no port {port}", None
        target_port = entry.get("targetPort", port)
        if isinstance(target_port, int):
            return None, target_port
        named = {p.name: p.port for ep in target.endpoints for p in ep.ports if p.name}
        if target_port not in named:
            return f"Service {service} targets port {target_port!r}, which no target container declares", None
        return None, named[target_port]

    # -- rows ---------------------------------------------------------------------------------

    def add(self, row: ConnectivityRow, findings: list[Finding] | None = None) -> None:
        self.findings.extend(findings or [])
        row.finding_ids = row.finding_ids or [f.id for f in findings or []]
        self.rows.append(row)

    def policy_findings(self, path: ServicePath, target: Party, port: int, judgement: PolicyJudgement) -> list[Finding]:
        if not judgement.denials:
            return []
        source = path.source
        peer = {"namespace": source.namespace, "selector": source.selector} if source else {"external": True}
        found = []
        for direction, (src, _) in judgement.denials.items():
            subject = ObjectRef(kind="ConnectivityPath", name=f"{path.row_id}/{direction}", namespace=self.view.ns)
            found.append(
                finding(
                    "networkpolicy.blocks-path",
                    subject,
                    path.severity,
                    f"NetworkPolicy {direction} blocks {path.source_name} -> {target.name} on port {port}/TCP"
                    + (" for some pods" if judgement.partial else ""),
                    [
                        Evidence(
                            summary=f"{direction} to port {port}/TCP of {target.name} is denied for "
                            f"{getattr(src, 'description', 'external client')}"
                        )
                    ],
                    explains=path.explains,
                    explanation="Policies that select a pod isolate it; only traffic that some rule admits gets "
                    "through. The fix is one more policy admitting exactly this source on this port: "
                    "existing policies stay as they are.",
                    data={
                        "row": path.row_id,
                        "direction": direction,
                        "port": port,
                        "protocol": "TCP",
                        "peer": peer,
                        "target": {"namespace": target.namespace, "selector": target.selector, "name": target.name},
                    },
                )
            )
        return found

    def service_path(self, path: ServicePath) -> None:
        view, target = self.view, path.target
        service = path.services[0] if path.services else "?"

        def row(
            verdict: Verdict,
            summary: str,
            evidence: list[Evidence],
            target_port: int | None = None,
            findings: list[Finding] | None = None,
        ) -> None:
            self.add(
                ConnectivityRow(
                    id=path.row_id,
                    source=path.source_name,
                    target=f"{service}:{path.port}",
                    port=path.port,
                    target_port=target_port,
                    verdict=verdict,
                    summary=summary,
                    evidence=evidence,
                ),
                findings,
            )

        if target is None:
            verdict: Verdict = "blocked" if view.runtime is None else "unknown"
            row(verdict, f"no pods behind {service}", [Evidence(summary=f"no pods or workload for {service}")])
            return
        problems, target_port = [], None
        for name in path.services:
            problem, resolved = self.service_ports(name, path.port, target)
            target_port = target_port or resolved
            if problem:
                problems.append(problem)
            elif view.snap.collected("endpointslices") and not view.ready_endpoints(name):
                problems.append(f"{name} has no ready endpoints")
        if len(problems) == len(path.services) and problems:
            row("blocked", problems[0], [Evidence(summary=p) for p in problems], target_port)
            return
        evidence = [Evidence(summary=p) for p in problems] or [
            Evidence(summary=f"Service {', '.join(path.services)}: port {path.port} -> {target_port}, ready endpoints")
        ]
        judgement = self.policy_judgement(path, target, target_port or path.port)
        evidence += judgement.evidence
        log_verdict, log_ev = path.logs() if path.logs else (None, [])
        evidence += log_ev
        findings = self.policy_findings(path, target, target_port or path.port, judgement)
        where = ", ".join(judgement.denials)
        if judgement.denials and not judgement.partial:
            verdict, summary = "blocked", f"denied by NetworkPolicy ({where}) on port {target_port}"
        elif judgement.partial:
            verdict, summary = "degraded", f"denied by NetworkPolicy ({where}) for some pods on port {target_port}"
        elif problems:
            verdict, summary = "degraded", problems[0]
        elif log_verdict in ("blocked", "degraded"):
            verdict, summary = log_verdict, "policies allow it, but the logs show failures"
        elif judgement.allowed is None:
            verdict = log_verdict or "unknown"
            summary = (
                "NetworkPolicies unknown; the logs show it works"
                if log_verdict
                else "NetworkPolicies unknown, no log evidence"
            )
        else:
            verdict, summary = "ok", "allowed" + (", confirmed by logs" if log_verdict == "ok" else "")
        row(verdict, summary, evidence, target_port, findings)

    def loopback_rows(self, server: KubeObject) -> None:
        view = self.view
        pod_spec, source = view.running_pod_spec(server)
        linked = {f.code: f.id for f in self.check_findings.get(server.name, [])}
        agent_name = f"agent ({server.name})"
        if source is None:
            self.add(
                ConnectivityRow(
                    id=f"agent-inference/{server.name}",
                    source=agent_name,
                    target="inference server (loopback)",
                    port=9500,
                    verdict="unknown",
                    summary="no pod spec",
                    evidence=[Evidence(summary="no pods or StatefulSet for this Server")],
                ),
            )
            return
        agent, inference = container(pod_spec, AGENT), view.inference_container(pod_spec)
        host = arg_value(agent, "inference-host") or "0.0.0.0"
        grpc_port = int(env_value(agent, "SELDON_SERVER_GRPC_PORT") or 9500)
        bind = env_value(inference, "MLSERVER_HOST") or "0.0.0.0"
        lines = unresolved(view, server, WAITING_INFERENCE + GAVE_UP_INFERENCE)
        ids = [
            linked[c]
            for c in (
                "agent.inference-host-not-loopback",
                "agent.mlserver-host",
                "agent.inference-port-mismatch",
                "agent.inference-server-down",
            )
            if c in linked
        ]
        if "agent.inference-host-not-loopback" in linked:
            verdict, summary = "blocked", "agent dials away from loopback"
        elif "agent.mlserver-host" in linked:
            # A loopback bind still answers the agent, but the kubelet's probes on the pod IP fail.
            verdict, summary = (
                ("degraded", f"MLServer bound to {bind}: the agent reaches it, the probes do not")
                if host_is_loopback(bind)
                else ("blocked", f"MLServer bound to {bind}")
            )
        elif "agent.inference-port-mismatch" in linked:
            verdict, summary = "blocked", "agent and MLServer ports differ"
        elif lines:
            verdict, summary = "degraded", "inference server unreachable per agent log"
        else:
            custom = not host_is_loopback(host)
            verdict, summary = (
                "ok",
                ("custom --inference-host, agent got ready" if custom else "loopback, default ports"),
            )
        self.add(
            ConnectivityRow(
                id=f"agent-inference/{server.name}",
                source=agent_name,
                target=f"{inference['name'] if inference else 'inference server'} (loopback)",
                port=grpc_port,
                verdict=verdict,
                summary=summary,
                finding_ids=ids,
                evidence=[
                    Evidence(
                        summary=f"agent dials {host}:{grpc_port} (--inference-host), MLServer binds "
                        f"{bind}; {NOT_LOOPBACK_NOTE}"
                    ),
                    *[log_evidence(ln) for ln in lines[-2:]],
                ],
            ),
        )
        rclone_lines = unresolved(view, server, WAITING_RCLONE)
        self.add(
            ConnectivityRow(
                id=f"agent-rclone/{server.name}",
                source=agent_name,
                target="rclone (loopback)",
                port=5572,
                verdict="degraded" if rclone_lines else "ok",
                summary="agent waited for rclone" if rclone_lines else "loopback 0.0.0.0:5572",
                finding_ids=[linked["agent.rclone-not-ready"]] if "agent.rclone-not-ready" in linked else [],
                evidence=[
                    Evidence(summary=f"agent dials 0.0.0.0:5572; {NOT_LOOPBACK_NOTE}"),
                    *[log_evidence(ln) for ln in rclone_lines[-2:]],
                ],
            ),
        )


def _server_symptoms(view: TenantView, server: KubeObject) -> list[str]:
    return (
        [server_symptom_id(server.name)]
        + [pod_symptom_id(p.name) for p in view.server_pods(server.name)]
        + [model_symptom_id(m.name) for m in view.models_for(server.name)]
    )


def _agent_scheduler_logs(view: TenantView, server: KubeObject) -> LogJudge:
    def judge() -> tuple[Verdict | None, list[Evidence]]:
        failing = unresolved(view, server, (SCHEDULER_NOT_READY,), (SUBSCRIBED,))
        subscribed = subscribed_replicas(view, server.name)
        evidence = [log_evidence(ln) for ln in failing[-2:]]
        if view.scheduler_log_collected:
            evidence.append(
                Evidence(summary="scheduler saw subscriptions from: " + (", ".join(sorted(subscribed)) or "none"))
            )
        agent_logs = any(view.has_log(p.name, AGENT) for p in view.server_pods(server.name))
        if not agent_logs and not view.scheduler_log_collected:
            return None, evidence
        if failing:
            return ("degraded" if subscribed else "blocked"), evidence
        return ("ok" if subscribed or agent_logs else None), evidence

    return judge


def _agent_scheduler_port(view: TenantView, server: KubeObject) -> int:
    """The agent dials SELDON_SCHEDULER_TLS_PORT (9055) under mTLS, else SELDON_SCHEDULER_PORT (9005)."""
    agent = container(view.running_pod_spec(server)[0], AGENT)
    if _tls(agent):
        return int(env_value(agent, "SELDON_SCHEDULER_TLS_PORT") or 9055)
    return int(env_value(agent, "SELDON_SCHEDULER_PORT") or 9005)


def build_matrix(view: TenantView, check_findings: list[Finding]) -> tuple[list[ConnectivityRow], list[Finding]]:
    m = Matrix(view, check_findings)
    scheduler = m.component("seldon-scheduler")
    controller, manager = m.controller()
    m.service_path(
        ServicePath(
            "controller-scheduler",
            "controller (seldon-v2-controller-manager)",
            controller,
            scheduler,
            ["seldon-scheduler"],
            9044 if _tls(manager) else 9004,
            "critical",
            [model_symptom_id(x.name) for x in view.models],
        )
    )
    for server in view.servers:
        m.service_path(
            ServicePath(
                f"agent-scheduler/{server.name}",
                f"agent ({server.name})",
                m.server(server),
                scheduler,
                ["seldon-scheduler"],
                _agent_scheduler_port(view, server),
                "critical",
                _server_symptoms(view, server),
                logs=_agent_scheduler_logs(view, server),
            )
        )
    for component, port, severity in RUNTIME_CLIENTS:
        source = m.component(component)
        if source is not None:
            m.service_path(
                ServicePath(
                    f"{component.removeprefix('seldon-')}-scheduler",
                    component,
                    source,
                    scheduler,
                    ["seldon-scheduler"],
                    port,
                    severity,
                    [],
                )
            )
    envoy = m.component("seldon-envoy")
    m.service_path(
        ServicePath("external-mesh", "external clients", None, envoy, ["seldon-mesh"], 80, "high", [], external=True)
    )
    for server in view.servers:
        replicas = [f"{server.name}-{i}" for i in range(int(server.spec.get("replicas", 1) or 0))]
        m.service_path(
            ServicePath(
                f"envoy-agent/{server.name}",
                "envoy",
                envoy,
                m.server(server),
                replicas or [server.name],
                9000,
                "high",
                [],
            )
        )
        m.loopback_rows(server)
    return m.rows, m.findings
