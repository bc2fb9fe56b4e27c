"""URL paths to what they address: a discovery document or a resource (collection, object,
subresource), following the apiserver's layout:

    /api/v1/<plural>[/<name>[/<sub>]]                         cluster-scoped, or all namespaces
    /api/v1/namespaces/<ns>/<plural>[/<name>[/<sub>]]         namespaced
    /apis/<group>/<version>/...                               the same for a group
"""

from __future__ import annotations

from dataclasses import dataclass

from .resources import Registry, ResourceType


@dataclass(frozen=True)
class ResourceRoute:
    rt: ResourceType
    namespace: str | None  # None: cluster-scoped kind, or a LIST across all namespaces
    name: str | None
    subresource: str = ""


@dataclass(frozen=True)
class DiscoveryRoute:
    what: str  # "version", "core", "groups", "group", "resources"
    group: str = ""
    version: str = ""


Route = ResourceRoute | DiscoveryRoute


def _split(path: str) -> tuple[str, str, list[str]] | None:
    """(group, version, rest) for a resource path, None otherwise."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        return "", parts[1], parts[2:]
    if len(parts) >= 3 and parts[0] == "apis":
        return parts[1], parts[2], parts[3:]
    return None


def _discovery(path: str) -> DiscoveryRoute | None:
    parts = [p for p in path.split("/") if p]
    fixed = {
        "version": DiscoveryRoute("version"),
        "api": DiscoveryRoute("core"),
        "apis": DiscoveryRoute("groups"),
    }
    if len(parts) == 1 and parts[0] in fixed:
        return fixed[parts[0]]
    if len(parts) == 2 and parts[0] == "api":
        return DiscoveryRoute("resources", "", parts[1])
    if len(parts) == 2 and parts[0] == "apis":
        return DiscoveryRoute("group", parts[1])
    if len(parts) == 3 and parts[0] == "apis":
        return DiscoveryRoute("resources", parts[1], parts[2])
    return None


def _object_route(rt: ResourceType, namespace: str | None, tail: list[str]) -> ResourceRoute | None:
    if len(tail) > 2 or (len(tail) == 2 and tail[1] not in rt.subresources):
        return None
    return ResourceRoute(rt, namespace, tail[0] if tail else None, tail[1] if len(tail) == 2 else "")


def parse(path: str, registry: Registry) -> Route | None:
    if found := _discovery(path):
        return found
    split = _split(path)
    if split is None or not split[2]:
        return None
    group, version, rest = split
    if rest[0] == "namespaces" and len(rest) >= 3:
        rt = registry.by_path(group, version, rest[2])
        if rt is not None and rt.namespaced:
            return _object_route(rt, rest[1], rest[3:])
    rt = registry.by_path(group, version, rest[0])
    if rt is None:
        return None
    if rt.namespaced:  # only the all-namespaces collection lives outside /namespaces/<ns>/
        return ResourceRoute(rt, None, None) if len(rest) == 1 else None
    return _object_route(rt, None, rest[1:])
