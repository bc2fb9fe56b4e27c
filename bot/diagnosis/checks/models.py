"""Models: readiness, placement (requirements, replicas), load failures, and the controller's view (F10-F13, F16)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from bot.diagnosis.checks.base import Outcome, check, concluded, finding, passed, skipped
from bot.diagnosis.models import Evidence
from bot.diagnosis.symptoms import model_ready, model_state, model_symptom_id
from bot.diagnosis.view import TenantView, field_evidence
from bot.seldon.objects import AGENT, container, container_status, env_value
from bot.snapshot import KubeObject

NO_MATCHING_SERVERS = "no matching servers are available"
SCHEDULER_WAIT_SECONDS = 600  # SCHEDULER_READY_TIMEOUT_SECONDS in the Helm chart


def controller_error(model: KubeObject, namespace: str) -> bool:
    """A reason that is the controller's gRPC error towards the scheduler, not an agent load error.

    Both start with `rpc error`; only the controller's names the scheduler's address (port 9004/9044).
    """
    reason = model_state(model)[1]
    return f"seldon-scheduler.{namespace}" in reason or ":9004" in reason or ":9044" in reason


def _model_condition_evidence(model: KubeObject) -> Evidence:
    state, reason = model_state(model)
    return field_evidence(
        model,
        "status.conditions[type=ModelReady]",
        state,
        f"Model {model.name}: {state}" + (f": {reason}" if reason else ""),
    )


@check("models.ready", "Models are Ready", needs=("models",))
def models_ready(view: TenantView) -> Outcome:
    models = view.models
    if not models:
        return passed("no Models in the namespace")
    failing = [m for m in models if not model_ready(m)]
    summary = f"{len(models) - len(failing)}/{len(models)} Models Ready"
    if not failing:
        return passed(summary)
    by_state = Counter(model_state(m)[0] for m in failing)
    summary += " (" + ", ".join(f"{n} {state}" for state, n in by_state.most_common()) + ")"
    # A symptom, not a cause: the other checks explain it, so no finding here.
    return Outcome("fail", summary, [_model_condition_evidence(m) for m in failing[:10]])


def server_capabilities(view: TenantView, server: KubeObject) -> set[str]:
    if server.spec.get("capabilities"):
        caps = list(server.spec["capabilities"])
    else:
        pod_spec, _ = view.running_pod_spec(server)
        if not pod_spec:
            pod_spec = view.desired_pod_spec(server) or {}
        caps = (env_value(container(pod_spec, AGENT), "SELDON_SERVER_CAPABILITIES") or "").split(",")
    caps += list(server.spec.get("extraCapabilities") or [])
    return {c.strip() for c in caps if c.strip()}


@check(
    "models.requirements",
    "Model requirements match a Server's capabilities",
    modes=("F11",),
    needs=("models", "servers"),
)
def requirements(view: TenantView) -> Outcome:
    findings = []
    caps = {s.name: server_capabilities(view, s) for s in view.servers}
    for model in view.models:
        named = model.spec.get("server")
        needed = set(model.spec.get("requirements") or [])
        if named and named not in caps:
            findings.append(
                finding(
                    "models.server-missing",
                    model,
                    "high",
                    f"Model {model.name} asks for Server {named}, which does not exist",
                    [
                        field_evidence(
                            model,
                            "spec.server",
                            named,
                            f"spec.server {named}; Servers: {sorted(caps) or 'none'}",
                        ),
                        _model_condition_evidence(model),
                    ],
                    failure_mode="F11",
                    explains=[model_symptom_id(model.name)],
                    explanation="The scheduler only considers the Server named in spec.server.",
                    data={"model": model.name, "server": named},
                )
            )
            continue
        candidates = [named] if named else list(caps)
        if not needed or not candidates or any(needed <= caps[c] for c in candidates):
            continue
        findings.append(
            finding(
                "models.requirements-unmet",
                model,
                "high",
                f"Model {model.name} requires {sorted(needed)}, which no candidate Server offers",
                [
                    field_evidence(model, "spec.requirements", sorted(needed), f"requirements {sorted(needed)}"),
                    *[Evidence(summary=f"Server {c} capabilities: {', '.join(sorted(caps[c]))}") for c in candidates],
                    _model_condition_evidence(model),
                ],
                failure_mode="F11",
                explains=[model_symptom_id(model.name)],
                explanation="The scheduler places a Model only on a Server whose capabilities include every "
                "requirement (agent SELDON_SERVER_CAPABILITIES, or Server spec.capabilities).",
                data={"model": model.name, "requirements": sorted(needed), "servers": candidates},
            )
        )
    return concluded(findings, "every Model's requirements are met by a Server")


@check("models.replicas", "Model replicas fit the Server replicas", modes=("F12",), needs=("models", "servers"))
def replicas(view: TenantView) -> Outcome:
    findings = []
    server_replicas = {s.name: int(s.spec.get("replicas", 1) or 0) for s in view.servers}
    for model in view.models:
        wanted = int(model.spec.get("replicas", 1) or 1)
        named = model.spec.get("server")
        available = server_replicas.get(named, 0) if named else max(server_replicas.values(), default=0)
        if wanted > available > 0:
            partial = model.spec.get("minReplicas") and int(model.spec["minReplicas"]) <= available
            findings.append(
                finding(
                    "models.too-many-replicas",
                    model,
                    "low" if partial else "medium",
                    f"Model {model.name} wants {wanted} replicas but its Server has {available}",
                    [
                        field_evidence(model, "spec.replicas", wanted, f"spec.replicas {wanted}"),
                        _model_condition_evidence(model),
                    ],
                    failure_mode="F12",
                    explains=[] if model_ready(model) else [model_symptom_id(model.name)],
                    explanation="Each Model replica needs its own Server replica. With minReplicas the Model can "
                    "still become partially available.",
                )
            )
    return concluded(findings, "every Model fits its Server's replica count")


LOAD_FAILURE_KINDS = (
    (
        "Failed rclone request",
        "storage: rclone could not copy the artifact (storageUri, secret or egress to object storage)",
    ),
    ("Memory will go below zero", "memory: the replica ran out of capacity while loading"),
    ("", "the inference server refused to load the model"),
)


@check("models.load-failures", "Models that failed to load", modes=("F13",), needs=("models",))
def load_failures(view: TenantView) -> Outcome:
    findings = []
    for model in view.models:
        state, reason = model_state(model)
        if state != "ModelFailed" or controller_error(model, view.ns):
            continue
        kind = next(meaning for needle, meaning in LOAD_FAILURE_KINDS if needle in reason)
        findings.append(
            finding(
                "models.load-failed",
                model,
                "high",
                f"Model {model.name} failed to load: {kind}",
                [
                    _model_condition_evidence(model),
                    field_evidence(model, "spec.storageUri", model.spec.get("storageUri"), "artifact location"),
                ],
                failure_mode="F13",
                explains=[model_symptom_id(model.name)],
                explanation="The agent reported a load failure; the reason is its error text.",
            )
        )
    return concluded(findings, "no Model failed to load")


@check(
    "controller.scheduler",
    "The controller reaches the tenant scheduler",
    modes=("F10", "F14"),
    needs=("models",),
)
def controller_scheduler(view: TenantView) -> Outcome:
    target = f"seldon-scheduler.{view.ns}"
    affected = [m for m in view.models if controller_error(m, view.ns)]
    if not affected:
        return passed("no Model reports a controller-to-scheduler error")
    reason = model_state(affected[0])[1]
    if "no such host" in reason:
        cause = f"{target} does not resolve: there is no scheduler Service (see runtime.present)"
    elif "timeout" in reason or "deadline" in reason:
        cause = "packets to the scheduler are dropped: a NetworkPolicy or firewall, or Istio STRICT mTLS"
    else:
        cause = "the scheduler refused or reset the connection"
    found = finding(
        "controller.scheduler-unreachable",
        view.get("operator_deployments", "seldon-v2-controller-manager") or None,
        "high",
        f"the Seldon controller cannot reach {target}:9004 ({cause})",
        [_model_condition_evidence(m) for m in affected[:5]],
        failure_mode="F10",
        explains=[model_symptom_id(m.name) for m in affected],
        explanation="The controller in the operator namespace sends Models to each tenant's scheduler on "
        "port 9004 (9044 with TLS); Models stay ModelProgressing until it gets through.",
        data={"cause": cause, "models": [m.name for m in affected]},
    )
    return concluded([found], "")


@check("istio.sidecars", "Istio sidecars do not break Seldon's ports", modes=("F14",), needs=("pods",))
def istio(view: TenantView) -> Outcome:
    injected = view.snap.namespace_labels(view.ns).get("istio-injection") == "enabled"
    sidecar_pods = [p for p in view.snap.of("pods") if container(p.spec, "istio-proxy")]
    if not injected and not sidecar_pods:
        return passed("no Istio sidecars in the namespace")
    findings = []
    prefix = (
        ((view.runtime.spec.get("config") or {}).get("serviceConfig") or {}).get("grpcServicePrefix")
        if view.runtime
        else None
    )
    if not prefix:
        findings.append(
            finding(
                "istio.grpc-port-names",
                view.runtime,
                "low",
                "Istio sidecars are present but the scheduler ports are not named grpc-/http2-",
                [
                    Evidence(
                        summary=f"{len(sidecar_pods)} pod(s) with istio-proxy; serviceConfig.grpcServicePrefix unset"
                    )
                ],
                failure_mode="F14",
                explanation="Istio detects HTTP/2 by port name; set serviceConfig.grpcServicePrefix to grpc- so the "
                "scheduler and mesh ports are proxied as gRPC.",
            )
        )
    return concluded(findings, "Istio sidecars present and configured for Seldon's gRPC ports", warn_only=True)


def _is_restart(view: TenantView, pod: KubeObject, started: datetime) -> bool:
    """A restart, not a first start: only a restarted scheduler waits for the Servers it knew."""
    restarts = (container_status(pod, "scheduler") or {}).get("restartCount") or 0
    created = view.runtime.metadata.creation_timestamp if view.runtime else None
    return bool(restarts) or (created is not None and (started - created).total_seconds() > SCHEDULER_WAIT_SECONDS)


def _started_at(pod: KubeObject) -> datetime | None:
    running = ((container_status(pod, "scheduler") or {}).get("state") or {}).get("running") or {}
    started = running.get("startedAt")
    return datetime.fromisoformat(started.replace("Z", "+00:00")) if started else None


@check(
    "scheduler.restart",
    "The scheduler is not waiting for servers after a restart",
    modes=("F16",),
    needs=("pods", "models"),
)
def scheduler_restart(view: TenantView) -> Outcome:
    judged = False
    for pod in view.component_pods("seldon-scheduler"):
        started = _started_at(pod)
        if started is None:
            continue
        judged = True
        age = (view.snap.collected_at - started).total_seconds()
        waiting = [m for m in view.models if model_state(m)[0] in ("ModelProgressing", "ScheduleFailed")]
        if 0 <= age < SCHEDULER_WAIT_SECONDS and waiting and _is_restart(view, pod, started):
            found = finding(
                "scheduler.recently-restarted",
                pod,
                "low",
                f"the scheduler started {int(age)} s before collection; Models may wait up to "
                f"{SCHEDULER_WAIT_SECONDS} s for Servers to reconnect",
                [
                    field_evidence(
                        pod,
                        "status.containerStatuses[name=scheduler].state.running.startedAt",
                        started.isoformat(),
                        f"scheduler started at {started.isoformat()}",
                    )
                ],
                failure_mode="F16",
                explains=[model_symptom_id(m.name) for m in waiting],
                explanation="After a restart the scheduler waits for the expected Servers to reconnect before "
                "scheduling. Diagnose again once that time has passed.",
            )
            return concluded([found], "", warn_only=True)
    if not judged:
        return skipped("no running scheduler pod with a start time")
    return passed("the scheduler has been up longer than its reconnect wait, or is new")


CHECKS = (models_ready, requirements, replicas, load_failures, controller_scheduler, istio, scheduler_restart)
