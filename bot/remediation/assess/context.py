"""The context every judge reads: the target, its pod spec before and after the patch, what runs now.

For a StatefulSet or Deployment the pod spec is its template; for a Server or ServerConfig it is the
operator's merge of Server and ServerConfig (`bot.seldon.operator`), as the pods would get it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bot.diagnosis.models import Evidence, ObjectRef
from bot.diagnosis.view import SERVER_LABEL, TenantView, field_evidence, obj_ref
from bot.errors import InputError
from bot.remediation.assess.patching import apply_patch, dig
from bot.seldon.objects import AGENT, container, containers
from bot.seldon.operator import LAST_APPLIED_ANNOTATION as LAST_APPLIED
from bot.seldon.operator import server_pod_spec
from bot.seldon.version import Version, image_version
from bot.snapshot import ALL_KINDS, KubeObject

# Kinds a patch may target: kind -> snapshot key. Other kinds hold no Server pod spec.
_TARGET_KINDS = {
    "StatefulSet": "statefulsets",
    "Deployment": "deployments",
    "Server": "servers",
    "ServerConfig": "serverconfigs",
}
WORKLOAD_KINDS = ("StatefulSet", "Deployment")
# Where the pod spec sits in each kind (and in a Pod, for evidence read from running pods).
POD_SPEC_PATH = {
    "StatefulSet": ("spec", "template", "spec"),
    "Deployment": ("spec", "template", "spec"),
    "Server": ("spec", "podSpec"),
    "ServerConfig": ("spec", "podSpec"),
    "Pod": ("spec",),
}


@dataclass(frozen=True)
class Ctx:
    view: TenantView
    patch: dict[str, Any]
    target: KubeObject
    patched: dict[str, Any]  # the whole target object after the patch
    server: KubeObject | None  # the Server whose pods the patch reaches
    config: KubeObject | None  # its live ServerConfig
    before: dict[str, Any]  # pod spec before the patch
    after: dict[str, Any]  # pod spec after the patch (after the operator's merge for CRs)
    running: dict[str, Any]  # what runs now, for probe evidence
    running_source: KubeObject | None

    @property
    def kind(self) -> str:
        return self.target.kind

    @property
    def fragment(self) -> dict[str, Any]:
        """The pod spec part of the patch."""
        return dig(self.patch, POD_SPEC_PATH[self.kind]) or {}

    def patch_containers(self) -> list[dict[str, Any]]:
        return [c for c in self.fragment.get("containers") or [] if isinstance(c, dict)]

    def patch_env(self, name: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for c in self.patch_containers():
            for var in c.get("env") or []:
                if isinstance(var, dict) and var.get("name") == name:
                    yield c["name"], var

    @property
    def ns(self) -> str:
        return self.view.ns


def find_target(view: TenantView, patch: dict[str, Any]) -> KubeObject:
    kind, name = patch["kind"], patch["metadata"]["name"]
    key = _TARGET_KINDS.get(kind)
    if key is None:
        raise InputError(f"patch: cannot assess a {kind} patch; supported kinds: {', '.join(_TARGET_KINDS)}")
    if patch["apiVersion"] != ALL_KINDS[key][0]:
        raise InputError(f"patch: {kind} has apiVersion {ALL_KINDS[key][0]}, not {patch['apiVersion']}")
    namespace = view.snap.operator_namespace if kind == "ServerConfig" else view.ns
    wanted = patch["metadata"].get("namespace")
    if wanted and wanted != namespace:
        raise InputError(
            f"patch: {kind} {wanted}/{name} is outside the snapshot, which holds namespace {view.ns}"
            f" (ServerConfigs: {view.snap.operator_namespace})"
        )
    target = view.get(key, name)
    if target is None:
        raise InputError(f"patch: {kind} {namespace}/{name} is not in the snapshot; {_inventory(view, key)}")
    return target


def check_containers(patch: dict[str, Any]) -> None:
    """Containers are matched by name everywhere (strategic merge, operator merge): a name is required."""
    path = POD_SPEC_PATH[patch["kind"]]
    items = (dig(patch, path) or {}).get("containers")
    if items is not None and not isinstance(items, list):
        raise InputError(f"patch: {'.'.join(path)}.containers must be a list")
    for i, item in enumerate(items or []):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise InputError(f"patch: {'.'.join(path)}.containers[{i}] has no name")


def _inventory(view: TenantView, key: str) -> str:
    """What the snapshot holds, so the user can fix a typo in the patch."""

    def names(k: str) -> str:
        return ", ".join(sorted(o.name for o in view.snap.of(k))) or "none"

    others = "; ".join(f"{kind}s: {names(k)}" for kind, k in _TARGET_KINDS.items() if k != key)
    return f"{ALL_KINDS[key][1]}s there: {names(key)} (also {others})"


def build_context(view: TenantView, patch: dict[str, Any], target: KubeObject) -> Ctx:
    live = target.to_dict()
    patched = apply_patch(live, patch, strategic=target.kind in WORKLOAD_KINDS)
    server, config = _server_and_config(view, target)
    if target.kind in WORKLOAD_KINDS:
        before, after = dig(live, POD_SPEC_PATH[target.kind]), dig(patched, POD_SPEC_PATH[target.kind])
    elif target.kind == "Server":
        before, after = _pod_spec(live, config), _pod_spec(patched, config)
    else:  # ServerConfig: what its Servers' pods become
        patched_config = KubeObject.model_validate(patched)
        base = server.to_dict() if server else None
        before, after = _pod_spec(base, target), _pod_spec(base, patched_config)
    running, source = view.running_pod_spec(server) if server else ({}, None)
    if source is None and target.kind in WORKLOAD_KINDS:
        running, source = before or {}, target
    return Ctx(view, patch, target, patched, server, config, before or {}, after or {}, running, source)


def _server_and_config(view: TenantView, target: KubeObject) -> tuple[KubeObject | None, KubeObject | None]:
    if target.kind == "ServerConfig":
        users = [s for s in view.servers if s.spec.get("serverConfig") == target.name]
        return (users[0] if users else None), target
    server = target if target.kind == "Server" else _server_of(view, target)
    return server, (view.serverconfig(server) if server else None)


def _server_of(view: TenantView, workload: KubeObject) -> KubeObject | None:
    for ref in workload.metadata.owner_references:
        if ref.kind == "Server":
            return view.get("servers", ref.name)
    selector = (workload.spec.get("selector") or {}).get("matchLabels") or {}
    name = workload.labels.get(SERVER_LABEL) or selector.get(SERVER_LABEL)
    return view.get("servers", name) if name else None


def _pod_spec(server: dict[str, Any] | None, config: KubeObject | None) -> dict[str, Any]:
    """The operator's merge; without a Server, the ServerConfig's own pod spec."""
    config_dict = config.to_dict() if config else {"spec": {}}
    if server is None:
        return config_dict["spec"].get("podSpec") or {}
    return server_pod_spec(server, config_dict)  # never mutates its inputs


def owner_of(ctx: Ctx) -> ObjectRef | None:
    if ctx.kind not in WORKLOAD_KINDS:
        return None
    ref = next((r for r in ctx.target.metadata.owner_references if r.controller), None)
    if ref:
        return ObjectRef(
            kind=ref.kind, name=ref.name, namespace=ctx.target.namespace, api_version=ref.api_version or None
        )
    if LAST_APPLIED in ctx.target.metadata.annotations and ctx.server:
        return obj_ref(ctx.server)
    return None


def desired_pod_spec(ctx: Ctx) -> dict[str, Any]:
    """The pod spec the operator generates; the live template when the ServerConfig is missing."""
    return (ctx.view.desired_pod_spec(ctx.server) if ctx.server else None) or ctx.before


def container_evidence(
    source: KubeObject | None, spec: dict[str, Any], name: str, field: str, summary: str
) -> Evidence:
    """Evidence for `field` of container `name`, located in `source` when it is known."""
    names = [c.get("name") for c in containers(spec)]
    value = (container(spec, name) or {}).get(field)
    if source is None or name not in names:
        return Evidence(summary=summary, value=value)
    path = ".".join(POD_SPEC_PATH.get(source.kind, ("spec",)))
    return field_evidence(source, f"{path}.containers[{names.index(name)}].{field}", value, summary)


def agent_image(ctx: Ctx) -> tuple[str | None, Version | None, Evidence]:
    image = (container(ctx.after, AGENT) or {}).get("image")
    version = image_version(image)
    evidence = container_evidence(ctx.running_source, ctx.running, AGENT, "image", f"agent image {image or 'unknown'}")
    return image, version, evidence
