"""The agent's control plane: scheduler subscription, EndpointSlice gate, zombie agents, version skew
(F6, F8, F9, F15). From 2.10.0 the agent waits for its EndpointSlice and no longer exits when its
control loop stops; each check reads the agent image tag to know which behaviour to expect.
"""

from __future__ import annotations

from bot.diagnosis.checks.agent_common import (
    agent_version,
    role_allows_endpointslices,
    server_symptoms,
    subscribed_replicas,
    unresolved,
)
from bot.diagnosis.checks.base import Outcome, check, concluded, finding
from bot.diagnosis.models import Evidence
from bot.diagnosis.symptoms import pod_symptom_id, server_symptom_id
from bot.diagnosis.view import TenantView, field_evidence, log_evidence, spec_field
from bot.seldon.agent_log import (
    ENDPOINTS_ERROR,
    GAVE_UP_INFERENCE,
    SCHEDULER_NOT_READY,
    STREAM_SHUT,
    SUBSCRIBED,
    TARGET_NOT_SET,
)
from bot.seldon.objects import AGENT, container, container_status, env_value, pod_ready
from bot.seldon.version import ENDPOINTSLICE_GATE, READINESS_PROBE, Version, image_version


def _scheduler_error_kind(error: str) -> str:
    lowered = error.lower()
    for needle, meaning in (
        ("no such host", "DNS: seldon-scheduler does not resolve (no SeldonRuntime?)"),
        ("connection refused", "the scheduler is not listening (down or restarting)"),
        ("i/o timeout", "packets are dropped: a NetworkPolicy or firewall"),
        ("deadline exceeded", "no answer in time: a NetworkPolicy or firewall"),
        ("tls", "TLS mismatch between agent and scheduler"),
        ("handshake", "TLS mismatch between agent and scheduler"),
        (ENDPOINTS_ERROR.lower(), "EndpointSlice gate (see agent.endpointslice-gate)"),
    ):
        if needle in lowered:
            return meaning
    return "unclassified gRPC error"


@check("agent.scheduler", "Agents are subscribed to the scheduler", modes=("F6",), needs=("servers", "pods"))
def scheduler_subscription(view: TenantView) -> Outcome:
    findings, ok = [], []
    for server in view.servers:
        pods = view.server_pods(server.name)
        failing = [
            ln
            for ln in unresolved(view, server, (SCHEDULER_NOT_READY,), (SUBSCRIBED,))
            if ENDPOINTS_ERROR not in ln.text()
        ]
        subscribed = subscribed_replicas(view, server.name)
        if not failing:
            if subscribed:
                ok.append(Evidence(summary=f"scheduler saw subscriptions from {', '.join(sorted(subscribed))}"))
            continue
        last_error = failing[-1].field("error")
        evidence = [*[log_evidence(ln) for ln in failing[-3:]]]
        if view.scheduler_log_collected:
            evidence.append(
                Evidence(
                    summary=f"scheduler log: no 'Received agent subscribe request from {server.name}:<i>'"
                    if not subscribed
                    else f"scheduler log: subscriptions from {sorted(subscribed)} only"
                )
            )
        evidence += [
            field_evidence(p, "status.conditions[type=Ready]", False, f"pod {p.name} not Ready")
            for p in pods
            if not pod_ready(p)
        ]
        findings.append(
            finding(
                "agent.scheduler-unreachable",
                server,
                "high",
                f"Server {server.name}: agents cannot subscribe to the scheduler: {_scheduler_error_kind(last_error)}",
                evidence,
                failure_mode="F6",
                explains=server_symptoms(view, server),
                explanation="Agents connect to seldon-scheduler:9005 and retry forever; until they subscribe the "
                "pod is not Ready and the scheduler has no replica to place Models on "
                "('no matching servers are available').",
                data={"server": server.name, "error": last_error, "cause": _scheduler_error_kind(last_error)},
            )
        )
    return concluded(findings, "every agent subscribed to the scheduler", ok)


@check(
    "agent.endpointslice-gate",
    "Agents pass the EndpointSlice gate (agent >= 2.10)",
    modes=("F8",),
    needs=("servers", "pods"),
)
def endpointslice_gate(view: TenantView) -> Outcome:
    findings = []
    for server in view.servers:
        version = agent_version(view, server)
        if version is not None and not version.at_least(*ENDPOINTSLICE_GATE):
            continue
        # The gate's success is not logged; a failure with no model loaded since is still failing.
        errors = unresolved(view, server, (ENDPOINTS_ERROR,), ("Load model",))
        if not errors:
            continue
        disconnects = [
            ln
            for ln in view.scheduler_lines
            if ln.msg.startswith(f"Client replica {server.name}:") and "disconnected" in ln.msg
        ]
        evidence = [*[log_evidence(ln) for ln in errors[-2:]], *[log_evidence(ln) for ln in disconnects[-2:]]]
        causes = []
        if role_allows_endpointslices(view) is False:
            causes.append("Role agent-role lacks list/watch on endpointslices (runtime older than the agent)")
        missing = [
            f"{server.name}-{i}"
            for i in range(int(server.spec.get("replicas", 1) or 1))
            if view.snap.collected("services") and view.get("services", f"{server.name}-{i}") is None
        ]
        if missing:
            causes.append(f"per-replica Service(s) missing: {', '.join(missing)}")
        unready = [p.name for p in view.server_pods(server.name) if not pod_ready(p)]
        if unready:
            causes.append(f"pod(s) not Ready, so not published as ready endpoints: {', '.join(unready)}")
        findings.append(
            finding(
                "agent.endpointslice-gate",
                server,
                "high",
                f"Server {server.name}: agents subscribe then disconnect: "
                + ("; ".join(causes) or "EndpointSlice gate fails"),
                evidence,
                failure_mode="F8",
                explains=server_symptoms(view, server),
                explanation="From 2.10.0 the agent waits up to 1 minute for its pod IP to be a ready endpoint of "
                "Service <server>-<i> before it serves the scheduler; if not, it drops the stream and "
                "retries, and Models flip between ModelProgressing and ScheduleFailed.",
                data={"server": server.name, "causes": causes},
            )
        )
    return concluded(findings, "no agent is stuck at the EndpointSlice gate")


@check(
    "agent.zombie",
    "No agent gave up after an inference-server outage (agent >= 2.10)",
    modes=("F9",),
    needs=("servers", "pods"),
)
def zombie(view: TenantView) -> Outcome:
    findings = []
    for server in view.servers:
        version = agent_version(view, server)
        if version is not None and not version.at_least(*ENDPOINTSLICE_GATE):
            continue
        for pod in view.server_pods(server.name):
            lines = view.marked(pod.name, AGENT)
            subscribed_at = next((i for i, (_, m) in enumerate(lines) if SUBSCRIBED in m), None)
            if subscribed_at is None:
                continue
            later = lines[subscribed_at + 1 :]
            gave_up = [ln for ln, m in later if GAVE_UP_INFERENCE[0] in m]
            stopped = [ln for ln, m in later if STREAM_SHUT in m or TARGET_NOT_SET in m]
            status = container_status(pod, AGENT) or {}
            running = "running" in (status.get("state") or {})
            if not (gave_up and stopped and running and not status.get("ready")):
                continue
            evidence = [
                log_evidence(gave_up[-1]),
                log_evidence(stopped[-1]),
                field_evidence(
                    pod,
                    "status.containerStatuses[name=agent]",
                    {"running": True, "ready": False},
                    f"pod {pod.name}: agent container running but not ready",
                ),
                *[
                    field_evidence(ev, "message", ev.top("message"), f"event: {ev.top('message')}")
                    for ev in view.events("Pod", pod.name)
                    if "404" in (ev.top("message") or "")
                ][:1],
            ]
            findings.append(
                finding(
                    "agent.zombie",
                    pod,
                    "high",
                    f"pod {pod.name}: agent stopped serving after an inference-server outage and will not recover",
                    evidence,
                    failure_mode="F9",
                    explains=[pod_symptom_id(pod.name), server_symptom_id(server.name)],
                    explanation="From 2.10.0 an agent whose inference server was down for more than 30 s after "
                    "startup closes its scheduler stream and stops, but the process does not exit and "
                    "the agent has no liveness probe: nothing restarts it. Restart the pod, and fix "
                    "what made the inference server fail.",
                    data={"server": server.name, "pod": pod.name},
                )
            )
    return concluded(findings, "no agent is stuck after an inference-server outage")


def _scheduler_version(view: TenantView) -> Version | None:
    for pod in view.component_pods("seldon-scheduler"):
        image = (container(pod.spec, "scheduler") or {}).get("image")
        if image_version(image):
            return image_version(image)
    return None


@check(
    "agent.version-skew",
    "Agent, scheduler and ServerConfig versions agree",
    modes=("F15",),
    needs=("servers", "pods"),
)
def version_skew(view: TenantView) -> Outcome:
    findings = []
    scheduler = _scheduler_version(view)
    for server in view.servers:
        pod_spec, source = view.running_pod_spec(server)
        agent = container(pod_spec, AGENT)
        version = image_version((agent or {}).get("image"))
        if source is None or agent is None or version is None:
            continue
        problems = []
        if scheduler and (scheduler.major, scheduler.minor) != (version.major, version.minor):
            problems.append(f"agent {version} with scheduler {scheduler}")
        probe_port = ((agent.get("readinessProbe") or {}).get("httpGet") or {}).get("port")
        if version.at_least(*READINESS_PROBE) and not env_value(agent, "SELDON_READINESS_PORT"):
            problems.append(f"agent {version} needs SELDON_READINESS_PORT (no flag exists; default 0)")
        if not version.at_least(*READINESS_PROBE) and probe_port in (9008, "readiness-port"):
            problems.append(f"agent {version} predates the /ready endpoint its probe calls on 9008")
        if version.at_least(*ENDPOINTSLICE_GATE) and role_allows_endpointslices(view) is False:
            problems.append(f"agent {version} needs list/watch on endpointslices in Role agent-role")
        if problems:
            findings.append(
                finding(
                    "agent.version-skew",
                    server,
                    "medium",
                    f"Server {server.name}: " + "; ".join(problems),
                    [
                        field_evidence(
                            source,
                            spec_field(source, "containers[name=agent].image"),
                            agent.get("image"),
                            f"agent image {agent.get('image')}",
                        )
                    ],
                    failure_mode="F15",
                    explains=server_symptoms(view, server, models=False),
                    explanation="Operator, runtime, ServerConfig and images must be on the same Seldon version: "
                    "each agent release expects the env, probes and RBAC of its own release.",
                    data={"server": server.name, "problems": problems},
                )
            )
    return concluded(findings, "agent versions match the runtime and their configuration")


CHECKS = (scheduler_subscription, endpointslice_gate, zombie, version_skew)
