"""The resource types the fake serves: built-in kinds plus the Seldon CRDs read from their YAML.

A ResourceType carries what the apiserver's per-kind strategy decides: scope, subresources,
whether metadata.generation is tracked, whether an update must carry a resourceVersion, and what a
DELETE returns. Only the kinds the product touches are listed; adding one is a single line.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

STANDARD_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
SUBRESOURCE_VERBS = {"status": ("get", "patch", "update"), "log": ("get",)}
BASE_FIELDS = ("metadata.name", "metadata.namespace")
POD_FIELDS = (
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
)
EVENT_FIELDS = (
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
)


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = STANDARD_VERBS
    field_selectors: tuple[str, ...] = ()  # besides metadata.name / metadata.namespace
    tracks_generation: bool = False  # strategies that set generation=1 and bump it on spec changes
    unconditional_update: bool = True  # AllowUnconditionalUpdate(): PUT without resourceVersion
    create_on_update: bool = False  # AllowCreateOnUpdate(): PUT of a missing object creates it
    returns_object_on_delete: bool = False  # registry ReturnDeletedObject (or graceful deletion)
    custom: bool = False
    schema: dict[str, Any] | None = field(default=None, compare=False, hash=False, repr=False)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def key(self) -> tuple[str, str]:
        return self.group, self.plural

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    @property
    def selectable_fields(self) -> tuple[str, ...]:
        return BASE_FIELDS + self.field_selectors


def _core(plural: str, kind: str, **kw: Any) -> ResourceType:
    return ResourceType("", "v1", plural, kind, **kw)


NAMESPACE_TYPE = _core(
    "namespaces",
    "Namespace",
    namespaced=False,
    short_names=("ns",),
    subresources=("status",),
    field_selectors=("status.phase",),
    returns_object_on_delete=True,
)
BUILTIN_TYPES: tuple[ResourceType, ...] = (
    NAMESPACE_TYPE,
    _core(
        "pods",
        "Pod",
        short_names=("po",),
        subresources=("log", "status"),
        categories=("all",),
        field_selectors=POD_FIELDS,
        returns_object_on_delete=True,
    ),
    _core(
        "services",
        "Service",
        short_names=("svc",),
        subresources=("status",),
        categories=("all",),
        returns_object_on_delete=True,
    ),
    _core("configmaps", "ConfigMap", short_names=("cm",)),
    _core("secrets", "Secret", field_selectors=("type",)),
    _core("serviceaccounts", "ServiceAccount", short_names=("sa",)),
    _core("events", "Event", short_names=("ev",), field_selectors=EVENT_FIELDS, create_on_update=True),
    _core("limitranges", "LimitRange", short_names=("limits",)),
    ResourceType(
        "apps",
        "v1",
        "statefulsets",
        "StatefulSet",
        short_names=("sts",),
        subresources=("status",),
        categories=("all",),
        tracks_generation=True,
    ),
    ResourceType(
        "apps",
        "v1",
        "deployments",
        "Deployment",
        short_names=("deploy",),
        subresources=("status",),
        categories=("all",),
        tracks_generation=True,
    ),
    ResourceType("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice"),
    ResourceType(
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        "NetworkPolicy",
        short_names=("netpol",),
        tracks_generation=True,
    ),
    ResourceType("rbac.authorization.k8s.io", "v1", "roles", "Role"),
    ResourceType("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
    # leaseStrategy: a PUT must carry resourceVersion, and a PUT of a missing Lease creates it.
    ResourceType("coordination.k8s.io", "v1", "leases", "Lease", unconditional_update=False, create_on_update=True),
    ResourceType(
        "authorization.k8s.io",
        "v1",
        "selfsubjectaccessreviews",
        "SelfSubjectAccessReview",
        namespaced=False,
        verbs=("create",),
    ),
)


def default_crd_dir() -> Path:
    # tests/fakekube/resources.py -> parents[3] is the directory holding the repo and `shared/`.
    return Path(__file__).resolve().parents[3] / "shared" / "seldon" / "crds"


def _crd_types(doc: dict[str, Any]) -> list[ResourceType]:
    spec, names = doc["spec"], doc["spec"]["names"]
    return [
        ResourceType(
            spec["group"],
            version["name"],
            names["plural"],
            names["kind"],
            namespaced=spec.get("scope", "Namespaced") == "Namespaced",
            short_names=tuple(names.get("shortNames") or ()),
            categories=tuple(names.get("categories") or ()),
            # The scale subresource is declared by some Seldon CRDs but not served here.
            subresources=("status",) if "status" in (version.get("subresources") or {}) else (),
            tracks_generation=True,
            unconditional_update=False,  # customResourceStrategy.AllowUnconditionalUpdate() is false
            returns_object_on_delete=True,
            custom=True,
            schema=(version.get("schema") or {}).get("openAPIV3Schema"),
        )
        for version in spec["versions"]
        if version.get("served", True)
    ]


@functools.lru_cache(maxsize=8)
def _load_crds(directory: str, stamp: tuple[float, ...]) -> tuple[ResourceType, ...]:
    # `stamp` (file mtimes) keys the cache: parsing the 600 kB Seldon CRDs once per session is enough.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    types: list[ResourceType] = []
    for path in sorted(Path(directory).glob("*.yaml")):
        for doc in yaml.load_all(path.read_text(encoding="utf-8"), Loader=loader):
            if doc and doc.get("kind") == "CustomResourceDefinition":
                types.extend(_crd_types(doc))
    return tuple(types)


def load_crd_types(directory: Path) -> tuple[ResourceType, ...]:
    if not directory.is_dir():
        raise FileNotFoundError(f"CRD directory {directory} does not exist")
    stamp = tuple(p.stat().st_mtime for p in sorted(directory.glob("*.yaml")))
    return _load_crds(str(directory.resolve()), stamp)


class Registry:
    """Look-ups by URL (group, version, plural), by (apiVersion, kind) and by a loose name."""

    def __init__(self, types: Iterable[ResourceType]) -> None:
        self.types = tuple(types)
        self._by_path = {(t.group, t.version, t.plural): t for t in self.types}
        self._by_kind = {(t.api_version, t.kind): t for t in self.types}

    def by_path(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._by_path.get((group, version, plural))

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        return self._by_kind.get((api_version, kind))

    def resolve(self, name: str) -> ResourceType:
        """`pods`, `Pod`, `pod`, `po`, or `servers.mlops.seldon.io`: what kubectl would accept."""
        wanted = name.lower()
        for t in self.types:
            names = {t.plural, t.singular, *t.short_names, f"{t.plural}.{t.group}"}
            if wanted in names:
                return t
        raise KeyError(f"fakekube serves no resource called {name!r}")

    def group_versions(self) -> dict[str, list[str]]:
        """Non-core groups and their versions, in registration order."""
        groups: dict[str, list[str]] = {}
        for t in self.types:
            if t.group and t.version not in groups.setdefault(t.group, []):
                groups[t.group].append(t.version)
        return groups

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [t for t in self.types if (t.group, t.version) == (group, version)]
