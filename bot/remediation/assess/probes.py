"""The kubelet's probes of a container: what they dial, how long until they kill it, and what a pod
that never becomes Ready breaks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.diagnosis.models import Evidence
from bot.remediation.assess.context import Ctx, agent_image, container_evidence
from bot.seldon.objects import container
from bot.seldon.version import ENDPOINTSLICE_GATE


@dataclass(frozen=True)
class Probe:
    kind: str  # startupProbe, livenessProbe, readinessProbe
    spec: dict[str, Any]
    words: str  # "startupProbe httpGet /v2/health/live on port server-http (9000)"
    evidence: Evidence


def network_probes(ctx: Ctx, cname: str) -> list[Probe]:
    """The container's kubelet probes that connect to the pod IP (exec probes run inside it)."""
    spec, source = ctx.running, ctx.running_source
    if container(spec, cname) is None:
        spec, source = ctx.after, None
    target = container(spec, cname) or {}
    probes = []
    for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
        probe = target.get(kind) or {}
        handler = next((h for h in ("httpGet", "tcpSocket", "grpc") if h in probe), None)
        if handler is None or probe[handler].get("host"):
            continue
        port = _port_words(target, probe[handler].get("port"))
        words = " ".join(w for w in (kind, handler, probe[handler].get("path"), "on port", port) if w)
        summary = f"{cname} {words}: the kubelet dials the pod IP"
        probes.append(Probe(kind, probe, words, container_evidence(source, spec, cname, kind, summary)))
    return probes


def _port_words(target: dict[str, Any], port: Any) -> str:
    """`server-http (9000)` for a named port, `9000` for a number."""
    if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
        return str(port)
    number = next((p.get("containerPort") for p in target.get("ports") or [] if p.get("name") == port), None)
    return f"{port} ({number})" if number else f"{port} (undeclared)"


def kill_after(probe: dict[str, Any]) -> tuple[int, str]:
    """Seconds of failures before the kubelet kills the container, and the arithmetic (API defaults)."""
    delay = int(probe.get("initialDelaySeconds", 0))
    threshold, period = int(probe.get("failureThreshold", 3)), int(probe.get("periodSeconds", 10))
    total = delay + threshold * period
    formula = f"failureThreshold {threshold} x periodSeconds {period}"
    if delay:
        formula += f" + initialDelaySeconds {delay}"
    return total, f"{formula} = {total} s"


def never_ready(ctx: Ctx, evidence: list[Evidence]) -> str:
    """What an unready Server pod breaks, by agent version (the EndpointSlice gate is >=2.10.0)."""
    image, version, image_evidence = agent_image(ctx)
    evidence.append(image_evidence)
    text = "The pod never becomes Ready, so the Server stays Ready=False"
    gate = (
        "its EndpointSlice gate waits for the pod IP to be Ready in the EndpointSlice of <server>-<i> "
        "before any load, so the agent subscribes and disconnects in a loop and no model loads (F8)."
    )
    if version is None:
        return f"{text}; agent image {image} has no version tag: if it is >=2.10.0, {gate}"
    if version.at_least(*ENDPOINTSLICE_GATE):
        return f"{text}; the agent is {version} (>=2.10.0): {gate}"
    return text + "."


def istio_note(ctx: Ctx) -> str:
    pod = ctx.running_source if ctx.running_source and ctx.running_source.kind == "Pod" else None
    labels = ctx.view.snap.namespace_labels(ctx.ns)
    if pod and (container(pod.spec, "istio-proxy") or "sidecar.istio.io/status" in pod.metadata.annotations):
        return f" (pod {pod.name} has an Istio sidecar)"
    if labels.get("istio-injection") == "enabled" or "istio.io/rev" in labels:
        return f" (namespace {ctx.ns} has Istio injection enabled)"
    return ""
