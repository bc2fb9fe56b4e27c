"""Server memory capacity as the agent reports it to the scheduler (F1, F2, F3).

The agent's capacity is its MEMORY_REQUEST env var, which the default ServerConfig fills from the
inference container's `requests.memory` through the downward API. No request and no limit means
the kubelet resolves it to 0, the agent reports zero capacity, and every Model that sets
`spec.memory` stays ScheduleFailed while the pods look perfectly healthy.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from bot.diagnosis.checks.base import Outcome, check, concluded, finding
from bot.diagnosis.models import Evidence, Finding
from bot.diagnosis.symptoms import model_ready, model_state, model_symptom_id
from bot.diagnosis.view import TenantView, field_evidence, log_evidence, spec_field
from bot.seldon.agent_log import MEMORY_REQUEST
from bot.seldon.objects import AGENT, RCLONE, container, env_entry, env_value, memory_request_source
from bot.seldon.quantity import human_bytes, to_bytes
from bot.snapshot import KubeObject

AGENT_DEFAULT_MEMORY_BYTES = 1_000_000
NOT_ENOUGH_REPLICAS = "no matching server had enough suitable replicas"


@dataclass
class Capacity:
    """Capacity per replica as the agent computes it, and where each number came from."""

    total_bytes: int | None  # None: cannot be known from the spec
    overcommit_pct: int
    source: str


def replica_capacity(pod_spec: dict[str, Any]) -> Capacity:
    agent = container(pod_spec, AGENT)
    overcommit = int(env_value(agent, "SELDON_OVERCOMMIT_PERCENTAGE") or 0)
    replica_config = env_value(agent, "SELDON_REPLICA_CONFIG")
    if replica_config:
        try:
            config = json.loads(replica_config)
        except ValueError:
            return Capacity(None, overcommit, "SELDON_REPLICA_CONFIG is not valid JSON: the agent exits")
        # protojson accepts both the JSON name and the proto field name.
        memory = config.get("memoryBytes", config.get("memory_bytes", 0)) if isinstance(config, dict) else 0
        return Capacity(int(memory or 0), overcommit, "SELDON_REPLICA_CONFIG memoryBytes")
    entry = env_entry(agent, "MEMORY_REQUEST")
    if entry is None or ("valueFrom" not in entry and not entry.get("value")):
        # Unset or empty: the agent falls back to its --memory-bytes default.
        return Capacity(AGENT_DEFAULT_MEMORY_BYTES, overcommit, "agent default --memory-bytes (no MEMORY_REQUEST)")
    if "valueFrom" not in entry:
        value = str(entry["value"])
        if not value.isdigit():  # the agent parses an unsigned integer and exits on anything else
            return Capacity(None, overcommit, f"MEMORY_REQUEST={value!r} is not a byte count: the agent exits")
        return Capacity(int(value), overcommit, "MEMORY_REQUEST value")
    ref = memory_request_source(agent) or {}
    target = container(pod_spec, ref.get("containerName", ""))
    if target is None:
        return Capacity(None, overcommit, f"resourceFieldRef to missing container {ref.get('containerName')!r}")
    resources = target.get("resources") or {}
    resource = ref.get("resource", "requests.memory")
    section, _, key = resource.partition(".")
    quantity = (resources.get(section) or {}).get(key)
    if quantity is None and section == "requests":
        quantity = (resources.get("limits") or {}).get(key)  # the API server copies a lone limit
    divisor = to_bytes(ref.get("divisor") or "1") or 1
    total = math.ceil(to_bytes(quantity) / divisor) if quantity is not None else 0  # the kubelet rounds up
    return Capacity(total, overcommit, f"{resource} of container {target['name']}")


def _memory_log_lines(view: TenantView, server: KubeObject) -> list[Evidence]:
    lines = [ln for pod in view.server_pods(server.name) for ln in view.grep(pod.name, AGENT, MEMORY_REQUEST)]
    return [log_evidence(ln) for ln in lines[-2:]]


def _blocked_models(view: TenantView, server: KubeObject) -> tuple[list[KubeObject], list[KubeObject]]:
    """Models that could land on this Server: (those blocked by capacity, those fine without memory)."""
    candidates = view.models_for(server.name)
    blocked = [
        m
        for m in candidates
        if m.spec.get("memory") and not model_ready(m) and NOT_ENOUGH_REPLICAS in model_state(m)[1]
    ]
    unaffected = [m for m in candidates if not m.spec.get("memory") and model_ready(m)]
    return blocked, unaffected


def _origin_of_resources(view: TenantView, server: KubeObject, name: str) -> list[Evidence]:
    """Where the missing request comes from: the ServerConfig, since a Server podSpec cannot delete it."""
    evidence = []
    config = view.serverconfig(server)
    if config is not None:
        cfg = container(config.spec.get("podSpec") or {}, name) or {}
        evidence.append(
            field_evidence(
                config,
                f"spec.podSpec.containers[name={name}].resources",
                cfg.get("resources", {}),
                f"ServerConfig {config.name} (namespace {config.namespace}) sets no memory for {name}",
            )
        )
    override = container(server.spec.get("podSpec") or {}, name) or {}
    evidence.append(
        field_evidence(
            server,
            f"spec.podSpec.containers[name={name}].resources",
            override.get("resources"),
            f"Server {server.name} spec.podSpec does not set memory for {name} either",
        )
    )
    return evidence


@check(
    "capacity.memory-request",
    "Inference container has the memory request the agent reports as capacity",
    modes=("F1",),
    needs=("servers", "pods"),
)
def memory_request(view: TenantView) -> Outcome:
    findings: list[Finding] = []
    ok: list[Evidence] = []
    for server in view.servers:
        pod_spec, source = view.running_pod_spec(server)
        ref = memory_request_source(container(pod_spec, AGENT))
        if source is None or not ref or container(pod_spec, ref.get("containerName", "")) is None:
            continue  # no pods yet, or wiring broken: capacity.memory-config judges that
        name = ref["containerName"]
        resources = (container(pod_spec, name) or {}).get("resources") or {}
        cap = replica_capacity(pod_spec)
        if cap.total_bytes:
            ok.append(
                field_evidence(
                    source,
                    spec_field(source, f"containers[name={name}].resources"),
                    resources,
                    f"Server {server.name}: capacity {human_bytes(cap.total_bytes)} per replica from {cap.source}",
                )
            )
            ok += _memory_log_lines(view, server)  # what the agents actually reported
            continue
        if (resources.get("requests") or {}).get("memory") or (resources.get("limits") or {}).get("memory"):
            continue  # set but resolves to 0: a divisor or similar, capacity.memory-config explains it
        blocked, unaffected = _blocked_models(view, server)
        evidence = [
            field_evidence(
                source,
                spec_field(source, f"containers[name={name}].resources"),
                resources,
                f"{source.kind} {source.name}: container {name} has no memory request or limit",
            ),
            field_evidence(
                source,
                spec_field(source, "containers[name=agent].env[name=MEMORY_REQUEST].valueFrom"),
                ref,
                f"agent capacity MEMORY_REQUEST = {ref.get('resource')} of container {name}",
            ),
            *_memory_log_lines(view, server),
            *_origin_of_resources(view, server, name),
        ]
        for model in blocked[:5]:
            state, reason = model_state(model)
            evidence.append(
                field_evidence(
                    model,
                    "status.conditions[type=ModelReady]",
                    state,
                    f"Model {model.name} (spec.memory {model.spec['memory']}): {state}: {reason}",
                )
            )
        if unaffected:
            evidence.append(
                Evidence(
                    summary="Models without spec.memory still load (they need 0 bytes): "
                    + ", ".join(m.name for m in unaffected[:5])
                )
            )
        if view.snap.collected("limitranges"):
            evidence.append(
                Evidence(
                    summary="no LimitRange in the namespace sets a default memory request"
                    if not view.snap.of("limitranges")
                    else "LimitRanges exist but set no memory default for this container"
                )
            )
        config = view.serverconfig(server)
        findings.append(
            finding(
                "capacity.memory-request-missing",
                server,
                "critical",
                f"Server {server.name} reports zero memory capacity: container {name} has no memory request",
                evidence,
                failure_mode="F1",
                explanation=(
                    f"The agent reports its capacity from MEMORY_REQUEST, the {ref.get('resource')} of "
                    f"container {name}. With neither a request nor a limit the kubelet resolves it to 0, so "
                    "every replica subscribes with 0 bytes. The scheduler then rejects every Model that "
                    "sets spec.memory ('no matching server had enough suitable replicas'), while pods and "
                    "the Server look Ready. Models without spec.memory need 0 bytes and still load."
                ),
                explains=[model_symptom_id(m.name) for m in blocked],
                data={
                    "server": server.name,
                    "container": name,
                    "serverconfig": config.name if config else server.spec.get("serverConfig"),
                    "blocked_models": [m.name for m in blocked],
                },
            )
        )
    return concluded(findings, "every Server's inference container has a memory request", ok)


def _config_problem(pod_spec: dict[str, Any]) -> tuple[str, str, Any] | None:
    """(problem, field, value) for capacity wiring that yields a wrong number, else None."""
    agent = container(pod_spec, AGENT)
    if agent is None:
        return None
    cap = replica_capacity(pod_spec)
    replica_config = env_value(agent, "SELDON_REPLICA_CONFIG")
    if replica_config:
        if cap.total_bytes is None:
            return cap.source, "env[name=SELDON_REPLICA_CONFIG]", replica_config
        if not cap.total_bytes:
            return (
                "SELDON_REPLICA_CONFIG replaces MEMORY_REQUEST but has no memoryBytes: capacity 0",
                "env[name=SELDON_REPLICA_CONFIG]",
                replica_config,
            )
        return None
    entry = env_entry(agent, "MEMORY_REQUEST")
    if entry is not None and "valueFrom" not in entry and cap.total_bytes is None:
        return cap.source, "env[name=MEMORY_REQUEST].value", entry.get("value")
    if cap.total_bytes == AGENT_DEFAULT_MEMORY_BYTES and (entry is None or "valueFrom" not in entry):
        return (
            "MEMORY_REQUEST is not set: the agent falls back to --memory-bytes = 1,000,000 bytes",
            "env[name=MEMORY_REQUEST]",
            entry.get("value") if entry else None,
        )
    ref = memory_request_source(agent)
    if not ref:
        return None
    names = [c.get("name") for c in pod_spec.get("containers") or []]
    target = ref.get("containerName")
    if target not in names:
        return (
            f"MEMORY_REQUEST refers to container {target!r}, which does not exist: the kubelet cannot "
            "resolve it and the agent container fails with CreateContainerConfigError",
            "env[name=MEMORY_REQUEST].valueFrom.resourceFieldRef.containerName",
            target,
        )
    if target in (AGENT, RCLONE):
        return (
            f"MEMORY_REQUEST follows container {target!r}, not the inference server",
            "env[name=MEMORY_REQUEST].valueFrom.resourceFieldRef.containerName",
            target,
        )
    if ref.get("divisor") and to_bytes(ref["divisor"]) != 1:
        return (
            f"resourceFieldRef.divisor {ref['divisor']} makes the agent read the request in units of "
            f"{ref['divisor']} as bytes: capacity is {to_bytes(ref['divisor'])} times too small",
            "env[name=MEMORY_REQUEST].valueFrom.resourceFieldRef.divisor",
            ref["divisor"],
        )
    return None


@check(
    "capacity.memory-config",
    "Agent capacity wiring (MEMORY_REQUEST) is intact",
    modes=("F2",),
    needs=("servers",),
)
def memory_config(view: TenantView) -> Outcome:
    findings = []
    for server in view.servers:
        pod_spec, source = view.running_pod_spec(server)
        problem = _config_problem(pod_spec) if source else None
        if problem is None:
            continue
        text, field, value = problem
        blocked, _ = _blocked_models(view, server)
        config = view.serverconfig(server)
        findings.append(
            finding(
                "capacity.memory-config-wrong",
                server,
                "high",
                f"Server {server.name}: {text}",
                [
                    field_evidence(source, spec_field(source, f"containers[name=agent].{field}"), value, text),
                    *_memory_log_lines(view, server),
                ],
                failure_mode="F2",
                explains=[model_symptom_id(m.name) for m in blocked],
                explanation="The agent's capacity comes from its env, which the ServerConfig defines; a wrong "
                "wiring gives the scheduler a wrong capacity for every replica.",
                data={
                    "server": server.name,
                    "serverconfig": config.name if config else None,
                    "problem": text,
                },
            )
        )
    return concluded(findings, "MEMORY_REQUEST is wired to the inference container's memory request")


def instance_count(pod_spec: dict[str, Any]) -> int:
    # The scheduler multiplies by MLSERVER_PARALLEL_WORKERS as read from the *agent's* env.
    try:
        return max(1, int(env_value(container(pod_spec, AGENT), "MLSERVER_PARALLEL_WORKERS") or 1))
    except ValueError:
        return 1


def _replica_offer(view: TenantView, server: KubeObject) -> tuple[int, int] | None:
    """(bytes a replica offers incl. overcommit, instance multiplier), None when unknown or zero."""
    pod_spec, source = view.running_pod_spec(server)
    cap = replica_capacity(pod_spec) if source else None
    if not cap or not cap.total_bytes:
        return None  # zero or unknown capacity is judged by the two checks above
    return cap.total_bytes * (100 + cap.overcommit_pct) // 100, instance_count(pod_spec)


@check("capacity.sufficient", "Models fit the Servers' memory", modes=("F3",), needs=("servers", "models"))
def sufficient(view: TenantView) -> Outcome:
    offers = {s.name: o for s in view.servers if (o := _replica_offer(view, s))}
    findings = []
    for model in [m for m in view.models if m.spec.get("memory")]:
        named = model.spec.get("server")
        candidates = {n: o for n, o in offers.items() if not named or n == named}
        if not candidates:
            continue
        # A Model lands on one replica of one Server: it must fit the best candidate.
        best, (offer, workers) = max(candidates.items(), key=lambda kv: kv[1][0] // kv[1][1])
        needed = to_bytes(model.spec["memory"]) * workers
        state, reason = model_state(model)
        if needed <= offer and "Memory will go below zero" not in reason:
            continue
        memory = model.spec["memory"] + (f" x {workers} workers" if workers > 1 else "")
        findings.append(
            finding(
                "capacity.model-too-large",
                model,
                "high",
                f"Model {model.name} needs {human_bytes(needed)} but a replica of Server {best} "
                f"offers {human_bytes(offer)}",
                [
                    field_evidence(model, "spec.memory", model.spec["memory"], f"spec.memory {memory}"),
                    field_evidence(model, "status.conditions[type=ModelReady]", state, f"{state}: {reason}"),
                ],
                failure_mode="F3",
                explains=[model_symptom_id(model.name)],
                explanation="A Model is placed on one replica; it must fit that replica's capacity "
                "plus overcommit (times MLSERVER_PARALLEL_WORKERS from the agent's env). Raise the "
                "inference container's memory or lower spec.memory.",
            )
        )
    return concluded(findings, "every Model with spec.memory fits a replica of a candidate Server")


CHECKS = (memory_request, memory_config, sufficient)
