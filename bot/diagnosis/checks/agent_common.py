"""What the agent checks share: its version, its log state machine, where a setting is defined."""

from __future__ import annotations

import ipaddress
from typing import Any

from bot.diagnosis.models import Evidence
from bot.diagnosis.symptoms import model_symptom_id, pod_symptom_id, server_symptom_id
from bot.diagnosis.view import TenantView, field_evidence
from bot.seldon.agent_log import (
    STARTED,
)
from bot.seldon.logs import LogLine
from bot.seldon.objects import AGENT, arg_value, container, container_status
from bot.seldon.version import Version, image_version
from bot.snapshot import KubeObject

LOOPBACK_HOSTS = {"", "0.0.0.0", "127.0.0.1", "localhost", "::1", "::", "[::1]"}


def agent_version(view: TenantView, server: KubeObject) -> Version | None:
    pod_spec, _ = view.running_pod_spec(server)
    return image_version((container(pod_spec, AGENT) or {}).get("image"))


def server_symptoms(view: TenantView, server: KubeObject, models: bool = True) -> list[str]:
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


def restart_evidence(view: TenantView, server: KubeObject, name: str) -> list[Evidence]:
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


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def where_defined(view: TenantView, server: KubeObject, container_name: str, key: str, kind: str) -> str:
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


def subscribed_replicas(view: TenantView, server: str) -> set[str]:
    prefix = "Received agent subscribe request from "
    return {
        ln.msg[len(prefix) :].strip()
        for ln in view.scheduler_lines
        if ln.msg.startswith(prefix) and ln.msg[len(prefix) :].startswith(f"{server}:")
    }


def role_allows_endpointslices(view: TenantView) -> bool | None:
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
