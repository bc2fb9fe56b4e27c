"""The agent's dependencies inside its pod, over loopback: the inference server and rclone (F4, F5).

Log lines differ by agent version (see bot.seldon.agent_log); a failure counts only while no later
line shows the agent got past it.
"""

from __future__ import annotations

from typing import Any

from bot.diagnosis.checks.agent_common import (
    host_is_loopback,
    is_ip,
    restart_evidence,
    server_symptoms,
    unresolved,
    where_defined,
)
from bot.diagnosis.checks.base import Outcome, check, concluded, finding
from bot.diagnosis.models import Finding
from bot.diagnosis.view import TenantView, field_evidence, log_evidence, spec_field
from bot.seldon.agent_log import (
    GAVE_UP_INFERENCE,
    WAITING_INFERENCE,
    WAITING_RCLONE,
)
from bot.seldon.objects import AGENT, RCLONE, arg_value, container, container_status, env_value
from bot.snapshot import KubeObject


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
    if not is_ip(host) and not errors:
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
        *restart_evidence(view, server, AGENT),
    ]
    return finding(
        "agent.inference-host-not-loopback",
        server,
        "critical",
        f"Server {server.name}: agent --inference-host={host} points away from the pod's own inference server",
        evidence,
        failure_mode="F4",
        explains=server_symptoms(view, server),
        explanation=(
            "The agent reaches MLServer inside its own pod: by default it dials 0.0.0.0:9500, which Linux "
            f"routes to loopback, and MLServer binds 0.0.0.0. With --inference-host={host} every replica "
            "dials that one address (pod IPs also change on every reschedule), the gRPC ServerLive check "
            "fails, the agent waits 15 minutes, exits and never subscribes. Restore loopback."
        ),
        data={
            "server": server.name,
            "host": host,
            "defined_in": where_defined(view, server, AGENT, "inference-host", "arg"),
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
        *restart_evidence(view, server, inference["name"]),
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
        explains=server_symptoms(view, server),
        explanation=why,
        data={
            "server": server.name,
            "container": inference["name"],
            "host": host,
            "defined_in": where_defined(view, server, inference["name"], "MLSERVER_HOST", "env"),
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
        explains=server_symptoms(view, server),
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
            restarts = restart_evidence(view, server, inference.get("name", ""))
            findings.append(
                finding(
                    "agent.inference-server-down",
                    server,
                    "high",
                    f"Server {server.name}: the agent cannot reach the inference server "
                    f"(...{waiting[-1].field('error')[-100:]})",
                    [*[log_evidence(ln) for ln in waiting[-3:]], *restarts],
                    failure_mode="F4",
                    explains=server_symptoms(view, server),
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
            *restart_evidence(view, server, RCLONE),
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
                explains=server_symptoms(view, server),
                explanation="The agent waits for rclone on 0.0.0.0:5572 before it starts; after 15 minutes it exits.",
            )
        )
    return concluded(findings, "rclone is ready in every server pod")


CHECKS = (inference_server, rclone)
