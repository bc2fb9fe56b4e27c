"""Symptoms: what the user sees. Findings are ranked by how many of these they explain."""

from __future__ import annotations

from bot.diagnosis.models import Symptom
from bot.diagnosis.view import TenantView, obj_ref
from bot.seldon.objects import condition, condition_true, pod_ready
from bot.snapshot import KubeObject

NOT_READY_REASONS = {
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "ImagePullBackOff",
    "ErrImagePull",
    "ContainerCreating",
    "CreateContainerError",
}


def model_state(model: KubeObject) -> tuple[str, str]:
    """(scheduler state name, free-text reason): Seldon puts the state in `message`, text in `reason`."""
    cond = condition(model, "ModelReady") or condition(model, "Ready") or {}
    return cond.get("message") or "Unknown", cond.get("reason") or ""


def model_ready(model: KubeObject) -> bool:
    return bool(condition_true(model, "ModelReady") or condition_true(model, "Ready"))


def model_symptom_id(name: str) -> str:
    return f"model/{name}"


def server_symptom_id(name: str) -> str:
    return f"server/{name}"


def pod_symptom_id(name: str) -> str:
    return f"pod/{name}"


def collect(view: TenantView) -> list[Symptom]:
    symptoms: list[Symptom] = []
    runtime = view.runtime
    if runtime is not None and condition_true(runtime, "Ready") is False:
        symptoms.append(
            Symptom(
                id=f"runtime/{runtime.name}",
                object=obj_ref(runtime),
                summary=f"SeldonRuntime {runtime.name} is not Ready",
            )
        )
    for server in view.servers:
        if condition_true(server, "Ready") is not True:
            reason = (condition(server, "Ready") or {}).get("reason") or "no Ready condition"
            symptoms.append(
                Symptom(
                    id=server_symptom_id(server.name),
                    object=obj_ref(server),
                    summary=f"Server {server.name} is not Ready: {reason}",
                )
            )
    for pod in sorted(view.snap.of("pods"), key=lambda p: p.name):
        summary = _pod_trouble(pod)
        if summary:
            symptoms.append(Symptom(id=pod_symptom_id(pod.name), object=obj_ref(pod), summary=summary))
    for model in view.models:
        if not model_ready(model):
            state, reason = model_state(model)
            text = f"Model {model.name} is not Ready: {state}" + (f" ({reason})" if reason else "")
            symptoms.append(Symptom(id=model_symptom_id(model.name), object=obj_ref(model), summary=text))
    return symptoms


def _pod_trouble(pod: KubeObject) -> str | None:
    if pod.status.get("phase") == "Succeeded":
        return None
    waiting = []
    for status in pod.status.get("containerStatuses") or []:
        reason = ((status.get("state") or {}).get("waiting") or {}).get("reason")
        if reason in NOT_READY_REASONS:
            waiting.append(f"{status['name']} {reason}")
        elif not status.get("ready"):
            waiting.append(f"{status['name']} not ready")
    if pod_ready(pod) and not waiting:
        return None
    if not pod.status.get("containerStatuses"):
        return f"Pod {pod.name} is {pod.status.get('phase', 'Pending')}"
    return f"Pod {pod.name} is not Ready: " + ", ".join(waiting or ["Ready condition False"])
