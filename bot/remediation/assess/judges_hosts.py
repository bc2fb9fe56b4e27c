"""Judges of where MLServer listens and where the agent dials (docs 1.1, 2.2-2.4, F4, F8).

MLSERVER_HOST is read by MLServer only, SELDON_SERVER_HOST by no v2 agent, and --inference-host is
the agent's only way to leave loopback: the folklore that moves traffic off the in-pod loopback.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from bot.remediation.assess.changes import env_text
from bot.remediation.assess.context import Ctx, agent_image, container_evidence
from bot.remediation.assess.models import Judgement
from bot.remediation.assess.probes import istio_note, kill_after, network_probes, never_ready
from bot.seldon.objects import AGENT, arg_value, container, env_value, inference_container_name
from bot.seldon.version import Version

LAST_CHECKED_AGENT = Version(major=2, minor=10, patch=2)  # newest agent the docs were checked against
WILDCARD_HOSTS = {"", "0.0.0.0", "::", "[::]"}


def _is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _port_env(c: dict[str, Any] | None, name: str, default: int) -> str:
    return env_value(c, name) or str(default)


def _agent_grpc_port(ctx: Ctx) -> str:
    return _port_env(container(ctx.after, AGENT), "SELDON_SERVER_GRPC_PORT", 9500)  # binary default 9500


def judge_mlserver_host(ctx: Ctx) -> list[Judgement]:
    inference = inference_container_name(ctx.after)
    out = []
    for cname, var in ctx.patch_env("MLSERVER_HOST"):
        value = None if "valueFrom" in var else str(var.get("value", ""))
        if cname != inference:
            out.append(
                Judgement(
                    severity="no-op",
                    code="mlserver-host-wrong-container",
                    summary=f"MLSERVER_HOST on container {cname} is read by nothing there",
                    explanation=f"Only MLServer reads MLSERVER_* settings, and it runs in container {inference}.",
                    instead="Drop it.",
                )
            )
        elif value is not None and _is_loopback(value):
            out.append(_mlserver_loopback(ctx, cname, value))
        elif value in WILDCARD_HOSTS:
            out.append(
                Judgement(
                    severity="no-op",
                    code="mlserver-host-default",
                    summary=f"MLSERVER_HOST={value} on {cname} is MLServer's default bind",
                    explanation="Unset, MLServer binds 0.0.0.0: loopback for the agent, the pod IP for probes.",
                    instead="Leave MLSERVER_HOST unset.",
                )
            )
        else:
            out.append(_mlserver_pinned(ctx, cname, var, value))
    return out


def _mlserver_loopback(ctx: Ctx, cname: str, value: str) -> Judgement:
    probes = network_probes(ctx, cname)
    evidence = [p.evidence for p in probes]
    mlserver = container(ctx.after, cname)
    http = _port_env(mlserver, "MLSERVER_HTTP_PORT", 8080)  # MLServer's own defaults
    grpc = _port_env(mlserver, "MLSERVER_GRPC_PORT", 8081)
    metrics = _port_env(mlserver, "MLSERVER_METRICS_PORT", 8082)
    parts = [
        f"MLSERVER_HOST={value} moves MLServer's REST ({http}), gRPC ({grpc}) and metrics ({metrics}) "
        "listeners to loopback."
    ]
    summary = f"MLSERVER_HOST={value} on {cname} hides MLServer from the kubelet"
    if probes:
        parts.append(
            "The kubelet runs "
            + "; ".join(p.words for p in probes)
            + " against the pod IP, not loopback, so all of them are refused."
        )
        killer = next((p for p in probes if p.kind in ("startupProbe", "livenessProbe")), None)
        if killer:
            seconds, formula = kill_after(killer.spec)
            parts.append(
                f"The {killer.kind} kills MLServer after {formula} of failures and the kubelet "
                "restarts it: CrashLoopBackOff."
            )
            summary = f"MLSERVER_HOST={value} on {cname} fails its {killer.kind}: CrashLoopBackOff after ~{seconds} s"
        parts.append(never_ready(ctx, evidence))
    parts.append(
        f"Prometheus can no longer scrape MLServer metrics on {metrics}, and with Istio sidecars "
        "(>=1.10 delivers inbound traffic to the pod IP) nothing from the mesh reaches it"
        f"{istio_note(ctx)}."
    )
    parts.append(
        f"It is also pointless: the agent dials 0.0.0.0:{_agent_grpc_port(ctx)} (the "
        "--inference-host default), which Linux routes to loopback, and the default bind 0.0.0.0 "
        "already accepts that."
    )
    return Judgement(
        severity="harmful" if probes else "risky",
        code="mlserver-host-loopback",
        summary=summary,
        explanation=" ".join(parts),
        evidence=evidence,
        instead="Leave MLSERVER_HOST unset: 0.0.0.0 serves the agent over loopback and the kubelet, "
        "Prometheus and the mesh on the pod IP.",
    )


def _mlserver_pinned(ctx: Ctx, cname: str, var: dict[str, Any], value: str | None) -> Judgement:
    agent_host = arg_value(container(ctx.after, AGENT), "inference-host") or "0.0.0.0"
    why = [
        f"{env_text(var)} binds MLServer to that address only, but the agent dials "
        f"{agent_host}:{_agent_grpc_port(ctx)} (--inference-host) for its ServerLive check and proxies, "
        "and 0.0.0.0 means loopback: connection refused, the agent waits 15 min and exits (F4)."
    ]
    if value is not None:
        why.append("A literal IP is also wrong after the next reschedule: pod IPs change.")
    return Judgement(
        severity="harmful",
        code="mlserver-host-pinned",
        summary=f"{env_text(var)} on {cname} makes MLServer unreachable over loopback for the agent",
        explanation=" ".join(why),
        evidence=[container_evidence(ctx.running_source, ctx.running, AGENT, "args", "agent args")],
        instead="Leave MLSERVER_HOST unset (0.0.0.0).",
    )


def judge_seldon_server_host(ctx: Ctx) -> list[Judgement]:
    where = sorted({c for c, _ in ctx.patch_env("SELDON_SERVER_HOST")})
    if not where:
        return []
    _, version, image_evidence = agent_image(ctx)
    args_evidence = container_evidence(
        ctx.running_source, ctx.running, AGENT, "args", "agent args: no --inference-host, so the default 0.0.0.0"
    )
    unchecked = version and not LAST_CHECKED_AGENT.at_least(version.major, version.minor, version.patch)
    newer = f" Agent {version} is newer than {LAST_CHECKED_AGENT}, the last one checked." if unchecked else ""
    return [
        Judgement(
            severity="no-op",
            code="seldon-server-host-unread",
            summary=f"SELDON_SERVER_HOST on {', '.join(where)} is read by no Seldon v2 agent",
            explanation=(
                "No v2 agent (v2.0.0 to v2.10.2) reads SELDON_SERVER_HOST. The inference host is set only by the "
                "--inference-host flag, which has no env var and defaults to 0.0.0.0 = this pod, over loopback. "
                f"Real neighbours: SELDON_SERVER_HTTP_PORT, SELDON_SERVER_GRPC_PORT.{newer}"
            ),
            evidence=[image_evidence, args_evidence],
            instead="Drop it; the agent already reaches MLServer on 0.0.0.0.",
        )
    ]


def judge_inference_host(ctx: Ctx) -> list[Judgement]:
    out = []
    for c in ctx.patch_containers():
        host = arg_value(c, "inference-host")
        if host is None:
            continue
        if host in WILDCARD_HOSTS or _is_loopback(host):
            out.append(
                Judgement(
                    severity="no-op",
                    code="inference-host-default",
                    summary=f"--inference-host={host} on {c['name']} is what the agent does already",
                    explanation="The agent's default --inference-host is 0.0.0.0, i.e. loopback in this pod.",
                    instead="Leave --inference-host unset.",
                )
            )
            continue
        minutes = (
            env_value(container(ctx.after, AGENT), "SELDON_MAX_ELAPSED_TIME_READY_SUB_SERVICE_BEFORE_START_MINUTES")
            or "15"
        )
        out.append(
            Judgement(
                severity="harmful",
                code="inference-host-not-loopback",
                summary=f"--inference-host={host} on {c['name']} points the agent away from its own MLServer",
                explanation=(
                    f"The agent would dial {host}:{_agent_grpc_port(ctx)} for ServerLive, load/unload and its "
                    "proxies. Pod IPs change on every reschedule, and another address is not this pod's "
                    f"MLServer; the agent then waits {minutes} min for the Inference Server and exits (F4). "
                    "MLServer binds 0.0.0.0, so the default (loopback) already works."
                ),
                evidence=[container_evidence(ctx.running_source, ctx.running, AGENT, "args", "agent args now")],
                instead="Leave --inference-host unset.",
            )
        )
    return out
