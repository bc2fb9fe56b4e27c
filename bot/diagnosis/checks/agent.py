"""The agent sidecar: its dependencies inside the pod, its scheduler subscription, its version (F4-F9, F15).

Log lines differ by agent version: from 2.9.1 the agent logs `Waiting for <service> ...` and has a
readiness probe; from 2.10.0 it waits for its EndpointSlice and no longer exits when its control
loop stops. Each check reads the agent image tag to know which lines to expect.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from bot.diagnosis.checks.base import Outcome, check, concluded, finding
from bot.diagnosis.models import Evidence, Finding
from bot.diagnosis.symptoms import model_symptom_id, pod_symptom_id, server_symptom_id
from bot.diagnosis.view import TenantView, field_evidence, log_evidence, spec_field
from bot.seldon.agent_log import (
    ENDPOINTS_ERROR,
    GAVE_UP_INFERENCE,
    SCHEDULER_NOT_READY,
    STARTED,
    STREAM_SHUT,
    SUBSCRIBED,
    TARGET_NOT_SET,
    WAITING_INFERENCE,
    WAITING_RCLONE,
)
from bot.seldon.logs import LogLine
from bot.seldon.objects import AGENT, RCLONE, arg_value, container, container_status, env_value, pod_ready
from bot.seldon.version import ENDPOINTSLICE_GATE, READINESS_PROBE, Version, image_version
from bot.snapshot import KubeObject

LOOPBACK_HOSTS = {"", "0.0.0.0", "127.0.0.1", "localhost", "::1", "::", "[::1]"}


def agent_version(view: TenantView, server: KubeObject) -> Version | None:
    pod_spec, _ = view.running_pod_spec(server)
    return image_version((container(pod_spec, AGENT) or {}).get("image"))


def _server_symptoms(view: TenantView, server: KubeObject, models: bool = True) -> list[str]:
    ids = [server_symptom_id(server.name)] + [pod_symptom_id(p.name) for p in view.server_pods(server.name)]
    if models:
        ids += [model_symptom_id(m.name) for m in view.models_for(server.name)]
    return ids


def unresolved(
    view: TenantView, server: KubeObject, bad: tuple[str, ...], good: tuple[str, ...] = STARTED
) -> list[LogLine]:
    """Per pod, the failure lines since the agent last got past them.

    Startup logs always show a few `Waiting for ...` lines while MLServer boots, and a rollout
    leaves disconnects behind; only a failure with no later success is a problem now.
    """
    bad_set, good_set = frozenset(bad), frozenset(good)
    found = []
    for pod in view.server_pods(server.name):
        since: list[LogLine] = []
        for line, markers in view.marked(pod.name, AGENT):
            if markers & good_set:
                since = []
            elif markers & bad_set:
                since.append(line)
        found += since
    return found


def _restart_evidence(view: TenantView, server: KubeObject, name: str) -> list[Evidence]:
    evidence = []
    for pod in view.server_pods(server.name):
        status = container_status(pod, name) or {}
        last = (status.get("lastState") or {}).get("terminated") or {}
        if status.get("restartCount"):
            detail = f", last exit {last.get('reason') or last.get('exitCode')}" if last else ""
            evidence.append(
                field_evidence(
                    pod,
                    f"status.containerStatuses[name={name}].restartCount",
                    status["restartCount"],
                    f"pod {pod.name}: {name} restarted {status['restartCount']} times{detail}",
                )
            )
    return evidence


def host_is_loopback(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _where_defined(view: TenantView, server: KubeObject, container_name: str, key: str, kind: str) -> str:
    """Which layer carries an arg/env: 'server' (Server CR), 'serverconfig', or 'statefulset' (drift)."""

    def has(spec: dict[str, Any]) -> bool:
        c = container(spec, container_name)
        if c is None:
            return False
        if kind == "arg":
            return arg_value(c, key) is not None
        return any(e.get("name") == key for e in c.get("env") or [])

    if has(server.spec.get("podSpec") or {}):
        return "server"
    config = view.serverconfig(server)
    if config is not None and has(config.spec.get("podSpec") or {}):
        return "serverconfig"
    return "statefulset"


def _inference_host_finding(
    view: TenantView, server: KubeObject, pod_spec: dict[str, Any], source: KubeObject
) -> Finding | None:
    host = arg_value(container(pod_spec, AGENT), "inference-host")
    if host is None or host_is_loopback(host):
        return None
    pod_ips = {p.status.get("podIP") for p in view.server_pods(server.name)}
    errors = unresolved(view, server, WAITING_INFERENCE + GAVE_UP_INFERENCE)
    # A literal IP in a template shared by every replica cannot be right; a name or $(POD_IP) can be,
    # for a custom server bound to the pod IP, so those count only when the agent fails to reach it.
    if not _is_ip(host) and not errors:
        return None
    evidence = [
        field_evidence(
            source,
            spec_field(source, "containers[name=agent].args"),
            f"--inference-host={host}",
            f"agent dials the inference server at {host} instead of loopback"
            + ("" if host in pod_ips else f"; no current pod has IP {host}"),
        ),
        *[log_evidence(ln) for ln in errors[-3:]],
        *_restart_evidence(view, server, AGENT),
    ]
    return finding(
        "agent.inference-host-not-loopback",
        server,
        "critical",
        f"Server {server.name}: agent --inference-host={host} points away from the pod's own inference server",
        evidence,
        failure_mode="F4",
        explains=_server_symptoms(view, server),
        explanation=(
            "The agent reaches MLServer inside its own pod: by default it dials 0.0.0.0:9500, which Linux "
            f"routes to loopback, and MLServer binds 0.0.0.0. With --inference-host={host} every replica "
            "dials that one address (pod IPs also change on every reschedule), the gRPC ServerLive check "
            "fails, the agent waits 15 minutes, exits and never subscribes. Restore loopback."
        ),
        data={
            "server": server.name,
            "host": host,
            "defined_in": _where_defined(view, server, AGENT, "inference-host", "arg"),
        },
    )


def _mlserver_host_finding(
    view: TenantView, server: KubeObject, pod_spec: dict[str, Any], source: KubeObject
) -> Finding | None:
    inference = view.inference_container(pod_spec)
    host = env_value(inference, "MLSERVER_HOST")
    if inference is None or host is None or host in ("", "0.0.0.0", "::"):
        return None
    loopback = host_is_loopback(host)
    probes = [k for k in ("startupProbe", "readinessProbe", "livenessProbe") if (inference.get(k) or {}).get("httpGet")]
    evidence = [
        field_evidence(
            source,
            spec_field(source, f"containers[name={inference['name']}].env[name=MLSERVER_HOST]"),
            host,
            f"MLServer binds only {host}",
        ),
        *[
            log_evidence(ln)
            for pod in view.server_pods(server.name)
            for ln in view.grep(pod.name, inference["name"], "server running on")[-3:]
        ],
        *_restart_evidence(view, server, inference["name"]),
    ]
    if loopback:
        summary = (
            f"Server {server.name}: MLSERVER_HOST={host} hides MLServer from the kubelet probes "
            f"({', '.join(probes) or 'none found'}) on the pod IP"
        )
        why = (
            "MLServer binds REST, gRPC and metrics to MLSERVER_HOST. The kubelet's httpGet probes call the "
            "pod IP, so with a loopback bind they fail, the startup probe kills MLServer and the pod "
            "crash-loops and never becomes Ready. The agent did not need it: it already reaches MLServer "
            "over loopback with the default bind 0.0.0.0. Remove MLSERVER_HOST."
        )
    else:
        summary = f"Server {server.name}: MLSERVER_HOST={host} binds MLServer where the agent does not dial"
        why = (
            "The agent dials the inference server on 0.0.0.0 (loopback inside the pod). MLServer bound "
            f"only to {host} refuses those connections, so the agent never gets ready. Remove MLSERVER_HOST."
        )
    return finding(
        "agent.mlserver-host",
        server,
        "critical",
        summary,
        evidence,
        failure_mode="F4",
        explains=_server_symptoms(view, server),
        explanation=why,
        data={
            "server": server.name,
            "container": inference["name"],
            "host": host,
            "defined_in": _where_defined(view, server, inference["name"], "MLSERVER_HOST", "env"),
        },
    )


def _port_mismatch_finding(
    view: TenantView, server: KubeObject, pod_spec: dict[str, Any], source: KubeObject
) -> Finding | None:
    agent, inference = container(pod_spec, AGENT), view.inference_container(pod_spec)
    if inference is None or not inference["name"].startswith("mlserver"):
        return None
    pairs = [
        ("SELDON_SERVER_GRPC_PORT", "MLSERVER_GRPC_PORT", "9500", "8081"),
        ("SELDON_SERVER_HTTP_PORT", "MLSERVER_HTTP_PORT", "8080", "8080"),
    ]
    mismatches = [(a, m, env_value(agent, a) or da, env_value(inference, m) or dm) for a, m, da, dm in pairs]
    mismatches = [x for x in mismatches if x[2] != x[3]]
    if not mismatches:
        return None
    text = ", ".join(f"agent {a}={av} vs MLServer {m}={mv}" for a, m, av, mv in mismatches)
    return finding(
        "agent.inference-port-mismatch",
        server,
        "critical",
        f"Server {server.name}: {text}",
        [
            field_evidence(
                source, spec_field(source, f"containers[name={AGENT}].env[name={a}]"), av, f"{a}={av} vs {m}={mv}"
            )
            for a, m, av, mv in mismatches
        ],
        failure_mode="F4",
        explains=_server_symptoms(view, server),
        explanation="The agent checks and proxies to the inference server on its SELDON_SERVER_*_PORT; "
        "MLServer listens on MLSERVER_*_PORT. They must be equal.",
        data={"server": server.name, "mismatches": [list(x) for x in mismatches]},
    )


@check(
    "agent.inference-server",
    "Agent reaches its inference server over loopback",
    modes=("F4", "F14"),
    needs=("servers", "pods"),
)
def inference_server(view: TenantView) -> Outcome:
    findings: list[Finding] = []
    for server in view.servers:
        pod_spec, source = view.running_pod_spec(server)
        if source is None:
            continue
        specific = [
            f
            for f in (
                _inference_host_finding(view, server, pod_spec, source),
                _mlserver_host_finding(view, server, pod_spec, source),
                _port_mismatch_finding(view, server, pod_spec, source),
            )
            if f
        ]
        findings += specific
        waiting = unresolved(view, server, WAITING_INFERENCE + GAVE_UP_INFERENCE)
        if not specific and waiting:
            inference = view.inference_container(pod_spec) or {}
            restarts = _restart_evidence(view, server, inference.get("name", ""))
            findings.append(
                finding(
                    "agent.inference-server-down",
                    server,
                    "high",
                    f"Server {server.name}: the agent cannot reach the inference server "
                    f"(...{waiting[-1].field('error')[-100:]})",
                    [*[log_evidence(ln) for ln in waiting[-3:]], *restarts],
                    failure_mode="F4",
                    explains=_server_symptoms(view, server),
                    explanation="Configuration is the default (loopback, matching ports), so the inference server "
                    "itself is not serving: look at its restarts, OOMKills and startup time.",
                    data={"server": server.name},
                )
            )
    return concluded(findings, "agents dial the inference server on loopback with matching ports")


@check("agent.rclone", "Agent reaches rclone over loopback", modes=("F5",), needs=("servers", "pods"))
def rclone(view: TenantView) -> Outcome:
    findings = []
    for server in view.servers:
        lines = unresolved(view, server, WAITING_RCLONE)
        not_ready = [
            p
            for p in view.server_pods(server.name)
            if (container_status(p, RCLONE) or {"ready": True}).get("ready") is False
        ]
        if not lines and not not_ready:
            continue
        evidence = [
            *[log_evidence(ln) for ln in lines[-2:]],
            *_restart_evidence(view, server, RCLONE),
            *[
                field_evidence(
                    p, "status.containerStatuses[name=rclone].ready", False, f"pod {p.name}: rclone not ready"
                )
                for p in not_ready
            ],
        ]
        findings.append(
            finding(
                "agent.rclone-not-ready",
                server,
                "high",
                f"Server {server.name}: rclone (model downloads) is not ready",
                evidence,
                failure_mode="F5",
                explains=_server_symptoms(view, server),
                explanation="The agent waits for rclone on 0.0.0.0:5572 before it starts; after 15 minutes it exits.",
            )
        )
    return concluded(findings, "rclone is ready in every server pod")


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


def subscribed_replicas(view: TenantView, server: str) -> set[str]:
    prefix = "Received agent subscribe request from "
    return {
        ln.msg[len(prefix) :].strip()
        for ln in view.scheduler_lines
        if ln.msg.startswith(prefix) and ln.msg[len(prefix) :].startswith(f"{server}:")
    }


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
                explains=_server_symptoms(view, server),
                explanation="Agents connect to seldon-scheduler:9005 and retry forever; until they subscribe the "
                "pod is not Ready and the scheduler has no replica to place Models on "
                "('no matching servers are available').",
                data={"server": server.name, "error": last_error, "cause": _scheduler_error_kind(last_error)},
            )
        )
    return concluded(findings, "every agent subscribed to the scheduler", ok)


def _role_allows_endpointslices(view: TenantView) -> bool | None:
    if not view.snap.collected("roles"):
        return None
    role = view.get("roles", "agent-role")
    if role is None:
        return None  # no Role at all: the runtime is missing, which runtime.present reports
    for rule in role.top("rules") or []:
        groups, resources, verbs = (set(rule.get(k) or []) for k in ("apiGroups", "resources", "verbs"))
        if (
            groups & {"discovery.k8s.io", "*"}
            and resources & {"endpointslices", "*"}
            and ("*" in verbs or {"list", "watch"} <= verbs)
        ):
            return True
    return False


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
        if _role_allows_endpointslices(view) is False:
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
                explains=_server_symptoms(view, server),
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
        if version.at_least(*ENDPOINTSLICE_GATE) and _role_allows_endpointslices(view) is False:
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
                    explains=_server_symptoms(view, server, models=False),
                    explanation="Operator, runtime, ServerConfig and images must be on the same Seldon version: "
                    "each agent release expects the env, probes and RBAC of its own release.",
                    data={"server": server.name, "problems": problems},
                )
            )
    return concluded(findings, "agent versions match the runtime and their configuration")


CHECKS = (inference_server, rclone, scheduler_subscription, endpointslice_gate, zombie, version_skew)
