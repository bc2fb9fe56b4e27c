"""Judges of memory: the capacity the agent would report, a request above its limit, and MLServer
workers the scheduler does not count (docs 1.3, F1-F3)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bot.diagnosis.checks.capacity import AGENT_DEFAULT_MEMORY_BYTES
from bot.errors import InputError
from bot.remediation.assess.context import WORKLOAD_KINDS, Ctx, container_evidence
from bot.remediation.assess.models import Judgement
from bot.seldon.objects import AGENT, container, env_value, inference_container_name, memory_request_source
from bot.seldon.quantity import human_bytes, to_bytes


def judge_memory(ctx: Ctx) -> list[Judgement]:
    touched = [
        c["name"] for c in ctx.patch_containers() if _memory(ctx.before, c["name"]) != _memory(ctx.after, c["name"])
    ]
    over = [j for name in touched if (j := _request_above_limit(ctx, name))]
    if over or container(ctx.after, AGENT) is None:  # no agent left: merge-patch-replaces-containers says why
        return over
    try:
        old, new = _capacity(ctx.before), _capacity(ctx.after)
    except ValueError as exc:
        raise InputError(f"patch: {exc}") from exc
    if not touched and old.total == new.total:
        return []
    evidence = [container_evidence(ctx.running_source, ctx.running, AGENT, "env", f"now: {old.source}")]
    if new.total == 0:
        return [
            Judgement(
                severity="harmful",
                code="memory-capacity-zero",
                evidence=evidence,
                summary="the agent would report zero capacity",
                explanation=f"{new.source}: every Model with spec.memory stays ScheduleFailed (F1).",
                instead="Set resources.requests.memory (and limits.memory) on that container.",
            )
        ]
    return [
        Judgement(
            severity="ok",
            code="memory-capacity",
            evidence=evidence,
            summary=(
                f"each agent would report {new.total} bytes ({human_bytes(new.total)}) of capacity, "
                f"{new.available} available with {new.overcommit}% overcommit (was {old.total})"
            ),
            explanation=(
                f"{new.source}. {_roll_words(ctx)} Each agent re-subscribes with the new memoryBytes "
                "and the scheduler retries failed models on subscribe. Validate with the agent log "
                f"`Setting memory request from env MEMORY_REQUEST with value {new.total}` and "
                f"`seldon server status`.{_models_too_big(ctx, new)}"
            ),
        )
    ]


@dataclass(frozen=True)
class _Capacity:
    total: int  # bytes the agent reports as memoryBytes
    source: str  # where the number comes from, in words
    overcommit: int  # percent

    @property
    def available(self) -> int:
        return self.total * (100 + self.overcommit) // 100


def _capacity(spec: dict[str, Any]) -> _Capacity:
    """What the agent would report (docs 1.3): MEMORY_REQUEST, else the --memory-bytes default."""
    agent = container(spec, AGENT)
    overcommit = int(env_value(agent, "SELDON_OVERCOMMIT_PERCENTAGE") or 0)
    ref = memory_request_source(agent)
    if ref is None:
        literal = env_value(agent, "MEMORY_REQUEST")
        if literal:
            return _Capacity(int(literal), f"MEMORY_REQUEST={literal}", overcommit)
        return _Capacity(AGENT_DEFAULT_MEMORY_BYTES, "no MEMORY_REQUEST: the --memory-bytes default", overcommit)
    name, resource = ref.get("containerName", ""), ref.get("resource", "requests.memory")
    resources = (container(spec, name) or {}).get("resources") or {}
    group, _, key = resource.partition(".")
    quantity = (resources.get(group) or {}).get(key)
    if quantity is None and group == "requests":  # the API server copies a lone limit into the request
        quantity = (resources.get("limits") or {}).get(key)
    divisor = to_bytes(ref.get("divisor") or 1)
    total = math.ceil(to_bytes(quantity) / divisor) if quantity is not None else 0
    source = f"MEMORY_REQUEST = {resource} of container {name} ({quantity or 'unset'})"
    return _Capacity(total, source + (f" / divisor {ref['divisor']}" if divisor != 1 else ""), overcommit)


def _memory(spec: dict[str, Any], name: str) -> tuple[Any, Any]:
    resources = (container(spec, name) or {}).get("resources") or {}
    return (resources.get("requests") or {}).get("memory"), (resources.get("limits") or {}).get("memory")


def _request_above_limit(ctx: Ctx, name: str) -> Judgement | None:
    """Validation rejects request > limit, typically a request raised above the ServerConfig's limit."""
    request, limit = _memory(ctx.after, name)
    try:
        if request is None or limit is None or to_bytes(request) <= to_bytes(limit):
            return None
    except ValueError as exc:
        raise InputError(f"patch: {exc}") from exc
    effect = (
        "this patch is refused"
        if ctx.kind in WORKLOAD_KINDS
        else "the operator's StatefulSet update fails (Server event UpdateFailed) and the old pods keep running"
    )
    return Judgement(
        severity="harmful",
        code="memory-request-above-limit",
        summary=f"{name} memory request {request} would exceed its limit {limit}",
        explanation=f"The API server rejects a container whose memory request exceeds its limit: {effect}.",
        evidence=[container_evidence(ctx.running_source, ctx.running, name, "resources", f"{name} resources now")],
        instead=f"Set limits.memory on {name} too (at least {request}).",
    )


def _roll_words(ctx: Ctx) -> str:
    if ctx.kind == "Server":
        return f"The operator updates StatefulSet {ctx.target.name} and its pods roll; no manual restart is needed."
    if ctx.kind == "ServerConfig":
        frozen = [
            s.name
            for s in ctx.view.servers
            if s.spec.get("serverConfig") == ctx.target.name and s.spec.get("disableAutoUpdate")
        ]
        note = f" except {', '.join(frozen)} (disableAutoUpdate)" if frozen else ""
        return f"Every Server using it is re-reconciled and its pods roll{note}; no manual restart is needed."
    return "The pods would roll, but the operator reverts resources on its next reconcile."


def _models_too_big(ctx: Ctx, capacity: _Capacity) -> str:
    server = ctx.server.name if ctx.server else None
    big = [
        m.name
        for m in ctx.view.models
        if m.spec.get("memory")
        and m.spec.get("server") in (None, server)
        and to_bytes(m.spec["memory"]) > capacity.available
    ]
    return f" Still too big for one replica: {', '.join(big)}." if big else ""


def judge_parallel_workers(ctx: Ctx) -> list[Judgement]:
    """The scheduler's memory multiplier reads MLSERVER_PARALLEL_WORKERS from the agent's env (docs 1.3)."""
    inference = inference_container_name(ctx.after)
    workers = env_value(container(ctx.after, inference or ""), "MLSERVER_PARALLEL_WORKERS") or ""
    was = env_value(container(ctx.before, inference or ""), "MLSERVER_PARALLEL_WORKERS") or ""
    on_agent = env_value(container(ctx.after, AGENT), "MLSERVER_PARALLEL_WORKERS") or "1"
    # Only a change this patch makes; a read-modify-write patch repeats existing values.
    if workers in (was, on_agent) or not workers.isdigit() or int(workers) <= 1:
        return []
    return [
        Judgement(
            severity="risky",
            code="parallel-workers-agent-mismatch",
            summary=f"MLServer would run {workers} workers but the scheduler counts {on_agent} per model",
            explanation=(
                f"MLServer loads each model into {workers} worker processes, but the agent sizes a "
                "model as spec.memory x MLSERVER_PARALLEL_WORKERS read from its own container env (here "
                f"{on_agent}), so the scheduler under-reserves memory and replicas can be OOMKilled."
            ),
            evidence=[container_evidence(ctx.running_source, ctx.running, AGENT, "env", "agent env now")],
            instead=f"Set MLSERVER_PARALLEL_WORKERS={workers} on the agent container as well.",
        )
    ]
