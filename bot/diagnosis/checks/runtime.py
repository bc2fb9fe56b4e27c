"""Is the tenant's SeldonRuntime there and working (scheduler, envoy, gateways, their Services)?"""

from __future__ import annotations

from bot.diagnosis.checks.base import Outcome, check, concluded, finding, passed, skipped
from bot.diagnosis.models import Evidence, ObjectRef
from bot.diagnosis.symptoms import model_symptom_id, pod_symptom_id, server_symptom_id
from bot.diagnosis.view import TenantView, field_evidence, obj_ref
from bot.seldon.objects import condition

SCHEDULER_SERVICE_PORTS = {"xds": 9002, "scheduler": 9004, "agent": 9005, "dataflow": 9008}
# SeldonRuntime condition -> the components it stands for, and what breaks without it.
COMPONENT_CONDITIONS = {
    "SchedulerReady": (
        "seldon-scheduler",
        "critical",
        "no Server can subscribe and no Model can be scheduled",
    ),
    "EnvoyReady": ("seldon-envoy", "high", "inference requests to seldon-mesh fail"),
    "ModelGatewayReady": ("seldon-modelgateway", "medium", "Kafka-based model inference stops"),
    "PipelineGatewayReady": ("seldon-pipelinegateway", "medium", "Pipelines cannot serve"),
    "DataflowEngineReady": ("seldon-dataflow-engine", "medium", "Pipelines cannot run"),
    "HodometerReady": ("hodometer", "low", "usage metrics are not sent"),
}


def all_symptom_ids(view: TenantView) -> list[str]:
    return (
        [server_symptom_id(s.name) for s in view.servers]
        + [model_symptom_id(m.name) for m in view.models]
        + [pod_symptom_id(p.name) for p in view.snap.of("pods")]
    )


def _absence_evidence(view: TenantView) -> list[Evidence]:
    """What a missing runtime leaves behind: failed pod creations and missing dependencies."""
    evidence = [
        Evidence(
            summary=f"no SeldonRuntime in namespace {view.ns}",
            object=ObjectRef(kind="SeldonRuntime", name="*", namespace=view.ns),
        )
    ]
    for kind, name in (
        ("services", "seldon-scheduler"),
        ("serviceaccounts", "seldon-server"),
        ("configmaps", "seldon-agent"),
    ):
        if view.snap.collected(kind) and view.get(kind, name) is None:
            evidence.append(Evidence(summary=f"{kind[:-1]} {name} does not exist (the runtime creates it)"))
    for server in view.servers:
        for ev in view.events("StatefulSet", server.name) + [
            e for p in view.server_pods(server.name) for e in view.events("Pod", p.name)
        ]:
            message = ev.top("message") or ""
            if "seldon-server" in message or "seldon-agent" in message or "seldon-tracing" in message:
                evidence.append(field_evidence(ev, "message", message, f"event {ev.top('reason')}: {message}"))
                break
    return evidence


@check(
    "runtime.present",
    "SeldonRuntime exists in the tenant namespace",
    modes=("F6", "F7"),
    needs=("seldonruntimes", "servers"),
)
def runtime_present(view: TenantView) -> Outcome:
    if view.runtime is not None:
        return passed(
            f"SeldonRuntime {view.runtime.name} exists",
            [Evidence(summary=f"SeldonRuntime {view.runtime.name}", object=obj_ref(view.runtime))],
        )
    if not view.servers and not view.models:
        return skipped(f"namespace {view.ns} has no SeldonRuntime, Servers or Models: not a Seldon tenant")
    found = finding(
        "runtime.missing",
        ObjectRef(kind="Namespace", name=view.ns),
        "critical",
        f"namespace {view.ns} has Servers/Models but no SeldonRuntime",
        _absence_evidence(view),
        failure_mode="F7",
        explanation=(
            "Servers need the per-namespace runtime: the SeldonRuntime creates the scheduler and its "
            "Service seldon-scheduler, the ServiceAccount seldon-server with the agent Role, and the "
            "ConfigMaps seldon-agent and seldon-tracing that server pods mount. Without it server pods "
            "cannot be created or never start, and Models cannot be scheduled."
        ),
        explains=all_symptom_ids(view),
        data={"servers": [s.name for s in view.servers]},
    )
    return concluded([found], "")


@check("runtime.ready", "SeldonRuntime components are Ready", modes=("F6",), needs=("seldonruntimes",))
def runtime_ready(view: TenantView) -> Outcome:
    runtime = view.runtime
    if runtime is None:
        return skipped("no SeldonRuntime (see runtime.present)")
    if not runtime.status.get("conditions"):
        never = finding(
            "runtime.not-reconciled",
            runtime,
            "critical",
            f"SeldonRuntime {runtime.name} has no status: the operator never reconciled it",
            [field_evidence(runtime, "status.conditions", None, "no status conditions")],
            explains=all_symptom_ids(view),
            explanation="The controller fills the runtime's conditions on its first reconcile. None means "
            "the controller is down, watches other namespaces, or cannot find the SeldonConfig "
            f"{runtime.spec.get('seldonConfig')!r} in the operator namespace.",
        )
        return concluded([never], "")
    findings = []
    for type_, (component, severity, impact) in COMPONENT_CONDITIONS.items():
        cond = condition(runtime, type_)
        if cond is None or cond.get("status") == "True":
            continue
        evidence = [
            field_evidence(
                runtime,
                f"status.conditions[type={type_}]",
                cond.get("status"),
                f"{type_}={cond.get('status')}: {cond.get('reason') or cond.get('message')}",
            )
        ]
        for pod in view.component_pods(component):
            evidence.append(
                field_evidence(
                    pod,
                    "status.phase",
                    pod.status.get("phase"),
                    f"pod {pod.name} phase {pod.status.get('phase')}",
                )
            )
        explains = all_symptom_ids(view) if component == "seldon-scheduler" else [f"runtime/{runtime.name}"]
        findings.append(
            finding(
                "runtime.component-not-ready",
                ObjectRef(kind="SeldonRuntimeComponent", name=component, namespace=view.ns),
                severity,
                f"{component} is not ready: {impact}",
                evidence,
                explains=explains,
                explanation=f"The SeldonRuntime reports {type_}={cond.get('status')}; {impact}.",
            )
        )
    ready = (condition(runtime, "Ready") or {}).get("status")
    summary = f"Ready={ready}; no component condition False"
    ok = [field_evidence(runtime, "status.conditions[type=Ready]", ready, summary)]
    return concluded(findings, f"SeldonRuntime {runtime.name}: all components Ready", ok)


@check(
    "runtime.services",
    "Scheduler and mesh Services exist and have ready endpoints",
    modes=("F6",),
    needs=("seldonruntimes", "services", "endpointslices"),
)
def runtime_services(view: TenantView) -> Outcome:
    if view.runtime is None:
        return skipped("no SeldonRuntime (see runtime.present)")
    findings, ok = [], []
    for name, expected in (("seldon-scheduler", SCHEDULER_SERVICE_PORTS), ("seldon-mesh", {"data": 80})):
        svc = view.get("services", name)
        if svc is None:
            findings.append(
                finding(
                    "runtime.service-missing",
                    ObjectRef(kind="Service", name=name, namespace=view.ns),
                    "critical",
                    f"Service {name} does not exist",
                    [Evidence(summary=f"no Service {name} in {view.ns}")],
                    explanation=f"The SeldonRuntime reconciler creates Service {name}; agents, envoy and "
                    "gateways dial it by this short name.",
                    explains=all_symptom_ids(view) if name == "seldon-scheduler" else [],
                )
            )
            continue
        ports = {p.get("port") for p in svc.spec.get("ports") or []}
        missing = sorted(p for p in expected.values() if p not in ports)
        endpoints = view.ready_endpoints(name)
        if missing:
            findings.append(
                finding(
                    "runtime.service-ports",
                    svc,
                    "high",
                    f"Service {name} lacks port(s) {missing}",
                    [field_evidence(svc, "spec.ports", sorted(ports), f"{name} ports {sorted(ports)}")],
                )
            )
        if not endpoints:
            findings.append(
                finding(
                    "runtime.service-no-endpoints",
                    svc,
                    "critical" if name == "seldon-scheduler" else "high",
                    f"Service {name} has no ready endpoints",
                    [
                        Evidence(
                            summary=f"EndpointSlices of {name}: no ready endpoint",
                            object=obj_ref(svc),
                            field="endpoints",
                            value=0,
                        )
                    ],
                    explains=all_symptom_ids(view) if name == "seldon-scheduler" else [],
                )
            )
        ok.append(
            field_evidence(
                svc,
                "spec.ports",
                sorted(ports),
                f"{name}: ports {sorted(ports)}, {len(endpoints)} ready endpoint(s)",
            )
        )
    return concluded(findings, "seldon-scheduler and seldon-mesh exist with ready endpoints", ok)


CHECKS = (runtime_present, runtime_ready, runtime_services)
