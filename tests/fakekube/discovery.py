"""Discovery documents (/api, /api/v1, /apis, /apis/<group>[/<version>], /version) in the shapes
the apiserver serves for `Accept: application/json` (not the aggregated v2 format)."""

from __future__ import annotations

from typing import Any

from .resources import SUBRESOURCE_VERBS, Registry, ResourceType

Json = dict[str, Any]

VERSION_INFO: Json = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.4",
    "gitCommit": "a78aa47129b8539636eb86a9d00e31b2720fe06b",
    "gitTreeState": "clean",
    "buildDate": "2024-12-10T18:44:48Z",
    "goVersion": "go1.22.9",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def _resource_entry(t: ResourceType) -> Json:
    entry: Json = {
        "name": t.plural,
        "singularName": t.singular,
        "namespaced": t.namespaced,
        "kind": t.kind,
        "verbs": list(t.verbs),
    }
    if t.short_names:
        entry["shortNames"] = list(t.short_names)
    if t.categories:
        entry["categories"] = list(t.categories)
    return entry


def _subresource_entry(t: ResourceType, sub: str) -> Json:
    # Subresources have an empty singularName and list only the verbs they serve.
    return {
        "name": f"{t.plural}/{sub}",
        "singularName": "",
        "namespaced": t.namespaced,
        "kind": t.kind,
        "verbs": list(SUBRESOURCE_VERBS[sub]),
    }


def resource_list(registry: Registry, group: str, version: str) -> Json | None:
    types = registry.in_group_version(group, version)
    if not types:
        return None
    resources = []
    for t in types:
        resources.append(_resource_entry(t))
        resources.extend(_subresource_entry(t, sub) for sub in sorted(t.subresources))
    doc: Json = {
        "kind": "APIResourceList",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }
    if group:  # the core list is served without apiVersion, the group lists with it
        doc = {"kind": "APIResourceList", "apiVersion": "v1", **doc}
    return doc


def core_versions(server_address: str) -> Json:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group(name: str, versions: list[str]) -> Json:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def group_list(registry: Registry) -> Json:
    groups = [_group(name, versions) for name, versions in registry.group_versions().items()]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def group(registry: Registry, name: str) -> Json | None:
    versions = registry.group_versions().get(name)
    if not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}
