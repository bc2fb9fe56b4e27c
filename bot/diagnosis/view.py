"""TenantView: indexes over one snapshot, built lazily once per diagnosis.

Checks ask the view instead of scanning the snapshot, so a tenant with 150 pods and 500 Models is
indexed once, not once per check. Everything here is derived from the snapshot alone.
"""

from __future__ import annotations

import re
from collections import defaultdict
from functools import cached_property
from typing import Any

from bot.diagnosis.models import Evidence, LogExcerpt, ObjectRef
from bot.seldon import agent_log
from bot.seldon import logs as seldon_logs
from bot.seldon.logs import LogLine
from bot.seldon.objects import AGENT, container, inference_container_name
from bot.seldon.operator import server_pod_spec
from bot.snapshot import ContainerLog, KubeObject, TenantSnapshot

_MARKERS_RE = re.compile("|".join(re.escape(m) for m in agent_log.MARKERS))
SERVER_LABEL = "seldon-server-name"
COMPONENT_LABEL = "app.kubernetes.io/name"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"


def obj_ref(obj: KubeObject) -> ObjectRef:
    return ObjectRef(kind=obj.kind, name=obj.name, namespace=obj.namespace, api_version=obj.api_version)


def field_evidence(obj: KubeObject, field: str, value: Any, summary: str) -> Evidence:
    return Evidence(summary=summary, object=obj_ref(obj), field=field, value=value)


def spec_field(source: KubeObject, path: str) -> str:
    """Field path of a pod-spec field in the object it was read from (a Pod or a workload template)."""
    prefix = "spec.template.spec" if source.kind in ("StatefulSet", "Deployment") else "spec"
    return f"{prefix}.{path}"


def log_evidence(line: LogLine, summary: str | None = None) -> Evidence:
    excerpt = LogExcerpt(
        pod=line.pod, container=line.container, previous=line.previous, time=line.time, line=line.raw[:500]
    )
    return Evidence(summary=summary or line.text()[:300], log=excerpt)


def _event_time(event: KubeObject) -> str:
    """Events in the order they last happened (RFC 3339 strings sort in time order)."""
    when = event.top("lastTimestamp") or event.top("eventTime") or event.metadata.creation_timestamp
    return str(when or "")


class TenantView:
    def __init__(self, snapshot: TenantSnapshot) -> None:
        self.snap = snapshot
        self.ns = snapshot.namespace
        self._marked: dict[tuple[str, str], list[tuple[LogLine, frozenset[str]]]] = {}
        self._parsed: dict[tuple[str, str], list[LogLine]] = {}

    # -- objects by name --------------------------------------------------------------------

    @cached_property
    def _by_name(self) -> dict[str, dict[str, KubeObject]]:
        return {kind: {o.name: o for o in items} for kind, items in self.snap.objects.items()}

    def get(self, kind: str, name: str) -> KubeObject | None:
        return self._by_name.get(kind, {}).get(name)

    @cached_property
    def servers(self) -> list[KubeObject]:
        return sorted(self.snap.of("servers"), key=lambda o: o.name)

    @cached_property
    def models(self) -> list[KubeObject]:
        return sorted(self.snap.of("models"), key=lambda o: o.name)

    @cached_property
    def _models_by_server(self) -> dict[str, list[KubeObject]]:
        index: dict[str, list[KubeObject]] = defaultdict(list)
        for model in self.models:
            index[model.spec.get("server") or ""].append(model)
        return index

    def models_for(self, server: str) -> list[KubeObject]:
        """Models that may land on this Server: pinned to it, or pinned to none."""
        return self._models_by_server.get(server, []) + self._models_by_server.get("", [])

    @cached_property
    def runtime(self) -> KubeObject | None:
        runtimes = self.snap.of("seldonruntimes")
        return runtimes[0] if runtimes else None

    # -- pods -------------------------------------------------------------------------------

    @cached_property
    def _pods_by_server(self) -> dict[str, list[KubeObject]]:
        index: dict[str, list[KubeObject]] = defaultdict(list)
        for pod in sorted(self.snap.of("pods"), key=lambda o: o.name):
            if SERVER_LABEL in pod.labels:
                index[pod.labels[SERVER_LABEL]].append(pod)
        return index

    def server_pods(self, server: str) -> list[KubeObject]:
        return self._pods_by_server.get(server, [])

    @cached_property
    def _pods_by_component(self) -> dict[str, list[KubeObject]]:
        index: dict[str, list[KubeObject]] = defaultdict(list)
        for pod in sorted(self.snap.of("pods"), key=lambda o: o.name):
            if COMPONENT_LABEL in pod.labels:
                index[pod.labels[COMPONENT_LABEL]].append(pod)
        return index

    def component_pods(self, component: str) -> list[KubeObject]:
        """Runtime pods by `app.kubernetes.io/name` (seldon-scheduler, seldon-envoy, ...)."""
        return self._pods_by_component.get(component, [])

    # -- server pod specs -------------------------------------------------------------------

    def serverconfig(self, server: KubeObject) -> KubeObject | None:
        return self.get("serverconfigs", server.spec.get("serverConfig") or "")

    def running_pod_spec(self, server: KubeObject) -> tuple[dict[str, Any], KubeObject | None]:
        """What runs: a pod's spec, else the StatefulSet template. Second value: the source object."""
        pods = self.server_pods(server.name)
        if pods:
            return pods[0].spec, pods[0]
        sts = self.get("statefulsets", server.name)
        if sts:
            return (sts.spec.get("template") or {}).get("spec") or {}, sts
        return {}, None

    def desired_pod_spec(self, server: KubeObject) -> dict[str, Any] | None:
        """What the operator would build from Server + ServerConfig (None without the ServerConfig)."""
        config = self.serverconfig(server)
        if config is None:
            return None
        return server_pod_spec(server.to_dict(), config.to_dict())

    def agent(self, pod_spec: dict[str, Any]) -> dict[str, Any] | None:
        return container(pod_spec, AGENT)

    def inference_container(self, pod_spec: dict[str, Any]) -> dict[str, Any] | None:
        name = inference_container_name(pod_spec)
        return container(pod_spec, name) if name else None

    # -- logs -------------------------------------------------------------------------------

    @cached_property
    def _raw_logs(self) -> dict[tuple[str, str], list[ContainerLog]]:
        index: dict[tuple[str, str], list[ContainerLog]] = defaultdict(list)
        # Previous instance first, so lines read in time order.
        for log in sorted(self.snap.logs, key=lambda lg: (lg.pod, lg.container, not lg.previous)):
            index[(log.pod, log.container)].append(log)
        return index

    def has_log(self, pod: str, container_name: str) -> bool:
        return (pod, container_name) in self._raw_logs

    def log_lines(self, pod: str, container_name: str) -> list[LogLine]:
        key = (pod, container_name)
        if key not in self._parsed:
            self._parsed[key] = [ln for log in self._raw_logs.get(key, []) for ln in seldon_logs.lines_of(log)]
        return self._parsed[key]

    def grep(self, pod: str, container_name: str, needle: str) -> list[LogLine]:
        if needle in agent_log.MARKERS:
            return [ln for ln, found in self.marked(pod, container_name) if needle in found]
        return [ln for ln in self.log_lines(pod, container_name) if needle in ln.text()]

    def marked(self, pod: str, container_name: str) -> list[tuple[LogLine, frozenset[str]]]:
        """The lines holding a known agent message (agent_log.MARKERS), in order, with the ones they hold.

        One scan of the raw text per container; only those lines are parsed. Checks then filter
        by marker instead of re-reading thousands of lines each.
        """
        key = (pod, container_name)
        if key not in self._marked:
            found = []
            for log in self._raw_logs.get(key, []):
                for raw in log.lines:
                    hits = _MARKERS_RE.findall(raw)
                    if hits:
                        found.append((seldon_logs.parse_line(raw, pod, container_name, log.previous), frozenset(hits)))
            self._marked[key] = found
        return self._marked[key]

    @cached_property
    def scheduler_lines(self) -> list[LogLine]:
        return [ln for pod in self.component_pods("seldon-scheduler") for ln in self.log_lines(pod.name, "scheduler")]

    @cached_property
    def scheduler_log_collected(self) -> bool:
        return any(self.has_log(p.name, "scheduler") for p in self.component_pods("seldon-scheduler"))

    # -- services, endpoints, events ----------------------------------------------------------

    @cached_property
    def _slices_by_service(self) -> dict[str, list[KubeObject]]:
        index: dict[str, list[KubeObject]] = defaultdict(list)
        for es in self.snap.of("endpointslices"):
            index[es.labels.get(SERVICE_NAME_LABEL, "")].append(es)
        return index

    def ready_endpoints(self, service: str) -> list[dict[str, Any]]:
        return [
            ep
            for es in self._slices_by_service.get(service, [])
            for ep in es.top("endpoints") or []
            if (ep.get("conditions") or {}).get("ready") is not False
        ]

    def endpoint_slices(self, service: str) -> list[KubeObject]:
        return self._slices_by_service.get(service, [])

    @cached_property
    def _events_by_object(self) -> dict[tuple[str, str], list[KubeObject]]:
        index: dict[tuple[str, str], list[KubeObject]] = defaultdict(list)
        for ev in sorted(self.snap.of("events"), key=_event_time):
            inv = ev.top("involvedObject") or ev.top("regarding") or {}
            index[(inv.get("kind", ""), inv.get("name", ""))].append(ev)
        return index

    def events(self, kind: str, name: str) -> list[KubeObject]:
        return self._events_by_object.get((kind, name), [])
