"""The object store: what etcd plus the generic registry (k8s.io/apiserver/pkg/registry/generic) do.

* One global resourceVersion counter; every write takes the next value, as a string.
* metadata.generation is 1 at creation and grows when anything outside metadata/status changes,
  for the kinds whose strategy tracks it.
* Kinds with a status subresource ignore status on the main resource and everything but status on
  `/status`.
* An update whose result equals the stored object is a no-op (no new resourceVersion), as in
  GuaranteedUpdate.
* Deleting an owner deletes its dependents and deleting a namespace deletes its content
  (synchronously; the real garbage collector is asynchronous).

One re-entrant lock guards everything: handlers and the operator hook call in concurrently.
"""

from __future__ import annotations

import copy
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import schema
from .errors import (
    already_exists,
    bad_request,
    conflict,
    field_error,
    internal,
    invalid,
    name_mismatch,
    not_found,
)
from .names import generate_name, name_errors, new_uid, timestamp
from .resources import NAMESPACE_TYPE, ResourceType

Json = dict[str, Any]
Key = tuple[str, str]  # (namespace or "", name)
NAMESPACES = NAMESPACE_TYPE.key
NAME_LABEL = "kubernetes.io/metadata.name"
# Status a fresh object starts with (PrepareForCreate); other kinds start without one.
_INITIAL_STATUS: dict[tuple[str, str], Json] = {
    NAMESPACES: {"phase": "Active"},
    ("", "pods"): {"phase": "Pending"},
}
_SYSTEM_META = ("uid", "creationTimestamp", "generation", "deletionTimestamp", "resourceVersion")


@dataclass
class WriteOptions:
    dry_run: bool = False
    strict: bool = False  # fieldValidation=Strict: unknown fields are an error instead of a warning
    warnings: list[str] = field(default_factory=list)


def _content(obj: Json) -> Json:
    """What a generation bump looks at: everything but metadata and status."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


class Store:
    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self.lock = threading.RLock()
        self._objects: dict[tuple[str, str], dict[Key, Json]] = defaultdict(dict)
        self._rv = 0
        self._seq = 0
        self._clock = clock or (lambda: datetime.now(UTC))

    @property
    def resource_version(self) -> str:
        return str(self._rv)

    def now(self) -> str:
        return timestamp(self._clock())

    def next_seq(self) -> int:
        with self.lock:
            self._seq += 1
            return self._seq

    # --- reads -----------------------------------------------------------------------------------

    def find(self, rt: ResourceType, namespace: str | None, name: str) -> Json | None:
        with self.lock:
            obj = self._objects[rt.key].get((namespace or "", name))
            return copy.deepcopy(obj) if obj is not None else None

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> Json:
        return copy.deepcopy(self._stored(rt, namespace, name))

    def list(
        self, rt: ResourceType, namespace: str | None, accept: Callable[[Json], bool] | None = None
    ) -> tuple[list[Json], str]:
        """Items sorted by namespace then name (etcd key order), and the list resourceVersion."""
        with self.lock:
            items = [
                obj
                for (ns, _), obj in sorted(self._objects[rt.key].items())
                if (namespace is None or ns == namespace) and (accept is None or accept(obj))
            ]
            return copy.deepcopy(items), self.resource_version

    def _stored(self, rt: ResourceType, namespace: str | None, name: str) -> Json:
        obj = self._objects[rt.key].get((namespace or "", name))
        if obj is None:
            raise not_found(rt.group, rt.plural, name)
        return obj

    # --- create ----------------------------------------------------------------------------------

    def create(
        self,
        rt: ResourceType,
        namespace: str | None,
        body: Json,
        opts: WriteOptions | None = None,
        *,
        seed: bool = False,
    ) -> Json:
        """POST. `seed` stores the object as given (status, uid, resourceVersion) like a restore."""
        opts = opts or WriteOptions()
        obj = copy.deepcopy(body)
        meta = self._prepare_meta(rt, obj, namespace)
        with self.lock:
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = generate_name(meta["generateName"], self.next_seq())
            if not seed:
                self._prepare_create(rt, obj, opts)
            self._ensure_namespace(rt, meta.get("namespace", ""), seed)
            key = (meta.get("namespace", ""), meta["name"])
            if key in self._objects[rt.key] and not seed:  # a seed overwrites, like a restore
                raise already_exists(rt.group, rt.plural, meta["name"])
            self._fill_system_meta(rt, meta, overwrite=not seed)
            if opts.dry_run:
                meta.pop("resourceVersion", None)  # a dry-run create has no resourceVersion yet
                return obj
            self._commit(rt, key, obj, keep_rv=seed)
            return copy.deepcopy(obj)

    def _prepare_meta(self, rt: ResourceType, obj: Json, namespace: str | None) -> Json:
        _check_type(rt, obj)
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise bad_request("metadata must be an object")
        body_ns = meta.get("namespace") or ""
        if not rt.namespaced:
            meta.pop("namespace", None)
        elif namespace and body_ns and body_ns != namespace:
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
        elif namespace or body_ns:
            meta["namespace"] = namespace or body_ns
        else:
            raise bad_request("an empty namespace may not be set during creation")
        if rt.plural == "namespaces" and not rt.group and meta.get("name"):
            meta.setdefault("labels", {})[NAME_LABEL] = meta["name"]
        return meta

    def _prepare_create(self, rt: ResourceType, obj: Json, opts: WriteOptions) -> None:
        meta = obj["metadata"]
        errors = name_errors(rt, meta.get("name"))
        if errors:
            raise invalid(rt.group, rt.kind, meta.get("name") or "", errors)
        if meta.get("resourceVersion"):
            raise internal("resourceVersion should not be set on objects to be created")
        if rt.has_status:
            obj.pop("status", None)
        if rt.key in _INITIAL_STATUS:
            obj["status"] = copy.deepcopy(_INITIAL_STATUS[rt.key])
        self._admit(rt, obj, opts)

    def _ensure_namespace(self, rt: ResourceType, namespace: str, seed: bool) -> None:
        """Creating in a missing namespace is a 404 (NamespaceLifecycle); seeding creates it."""
        if not rt.namespaced or ("", namespace) in self._objects[NAMESPACES]:
            return
        if not seed:
            raise not_found("", "namespaces", namespace)
        meta: Json = {"name": namespace, "labels": {NAME_LABEL: namespace}}
        ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": meta, "status": {"phase": "Active"}}
        self._fill_system_meta(NAMESPACE_TYPE, meta, overwrite=False)
        self._commit(NAMESPACE_TYPE, ("", namespace), ns, keep_rv=False)

    def _fill_system_meta(self, rt: ResourceType, meta: Json, *, overwrite: bool) -> None:
        # FillObjectMetaSystemFields overwrites uid and creationTimestamp; a seed keeps its own.
        if overwrite or not meta.get("uid"):
            meta["uid"] = new_uid(self.next_seq())
        if overwrite or not meta.get("creationTimestamp"):
            meta["creationTimestamp"] = self.now()
        if rt.tracks_generation and (overwrite or not meta.get("generation")):
            meta["generation"] = 1

    def _commit(self, rt: ResourceType, key: Key, obj: Json, *, keep_rv: bool) -> None:
        given = str(obj["metadata"].get("resourceVersion") or "")
        if keep_rv and given.isdigit():
            self._rv = max(self._rv, int(given))
        else:
            self._rv += 1
            obj["metadata"]["resourceVersion"] = str(self._rv)
        self._objects[rt.key][key] = obj

    # --- update and patch ------------------------------------------------------------------------

    def update(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: Json,
        opts: WriteOptions | None = None,
        *,
        subresource: str = "",
    ) -> Json:
        """PUT: optimistic concurrency on metadata.resourceVersion."""
        with self.lock:
            old = self._stored(rt, namespace, name)
            return self._replace(rt, old, copy.deepcopy(body), opts or WriteOptions(), subresource, True)

    def patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        apply: Callable[[Json], Json],
        opts: WriteOptions | None = None,
        *,
        subresource: str = "",
    ) -> Json:
        """PATCH: `apply` maps the stored object to the patched one; a resourceVersion the patch
        sets acts as a precondition, exactly like a PUT body's."""
        with self.lock:
            old = self._stored(rt, namespace, name)
            new = apply(copy.deepcopy(old))
            return self._replace(rt, old, new, opts or WriteOptions(), subresource, False)

    def _replace(
        self, rt: ResourceType, old: Json, new: Json, opts: WriteOptions, subresource: str, require_rv: bool
    ) -> Json:
        old_meta = old["metadata"]
        if not isinstance(new, dict):
            raise bad_request("the object must be a JSON object")
        meta = self._prepare_meta(rt, new, old_meta.get("namespace"))
        if meta.get("name") != old_meta["name"]:
            raise name_mismatch(meta.get("name"), old_meta["name"])
        given = meta.get("resourceVersion")
        if given and str(given) != old_meta["resourceVersion"]:
            raise conflict(rt.group, rt.plural, old_meta["name"])
        if not given and require_rv and not rt.unconditional_update:
            # genericregistry.Store words this one with the resource, not the kind:
            # `servers.mlops.seldon.io "x" is invalid: metadata.resourceVersion: Invalid value: 0x0: ...`
            raise invalid(
                rt.group,
                rt.plural,
                old_meta["name"],
                [field_error("metadata.resourceVersion", "FieldValueInvalid", "must be specified for an update")],
            )
        result = _apply_subresource(rt, old, new, subresource)
        self._admit(rt, result, opts)
        result_meta = result["metadata"]
        for key in _SYSTEM_META:  # clients cannot set these; a kind without generation never gets one
            if key in old_meta:
                result_meta[key] = old_meta[key]
            else:
                result_meta.pop(key, None)
        if rt.tracks_generation and _content(result) != _content(old):
            result_meta["generation"] = int(old_meta.get("generation") or 0) + 1
        if result == old or opts.dry_run:
            return copy.deepcopy(result)
        self._commit(rt, (old_meta.get("namespace", ""), old_meta["name"]), result, keep_rv=False)
        return copy.deepcopy(result)

    def _admit(self, rt: ResourceType, obj: Json, opts: WriteOptions) -> None:
        if not rt.custom:
            return
        result = schema.admit(obj, rt.schema)
        if result.pruned and opts.strict:
            raise bad_request("strict decoding error: " + ", ".join(f'unknown field "{p}"' for p in result.pruned))
        opts.warnings.extend(f'unknown field "{p}"' for p in result.pruned)
        if result.causes:
            raise invalid(rt.group, rt.kind, obj["metadata"].get("name", ""), result.causes)

    # --- delete ----------------------------------------------------------------------------------

    def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        opts: WriteOptions | None = None,
        *,
        orphan: bool = False,
    ) -> Json:
        """Remove the object; return it as last stored, with the deletion's resourceVersion."""
        with self.lock:
            obj = copy.deepcopy(self._stored(rt, namespace, name))
            if opts is not None and opts.dry_run:
                return obj
            self._remove(rt.key, (namespace or "", name))
            obj["metadata"]["resourceVersion"] = self.resource_version
            if not orphan:
                self._collect_garbage(obj, rt.key == NAMESPACES)
            return obj

    def _remove(self, type_key: tuple[str, str], key: Key) -> None:
        del self._objects[type_key][key]
        self._rv += 1

    def _collect_garbage(self, owner: Json, is_namespace: bool) -> None:
        uid, ns_name = owner["metadata"].get("uid"), owner["metadata"]["name"]
        doomed = [
            (type_key, key, obj)
            for type_key, key, obj in self._all()
            if (is_namespace and key[0] == ns_name)
            or any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences") or [])
        ]
        for type_key, key, obj in doomed:
            if key in self._objects[type_key]:
                self._remove(type_key, key)
                self._collect_garbage(obj, False)

    def _all(self) -> Iterator[tuple[tuple[str, str], Key, Json]]:
        for type_key, objects in self._objects.items():
            for key, obj in objects.items():
                yield type_key, key, obj


def _check_type(rt: ResourceType, obj: Json) -> None:
    """apiVersion/kind may be omitted (the URL decides) but must not contradict the URL."""
    for key, expected in (("apiVersion", rt.api_version), ("kind", rt.kind)):
        given = obj.get(key)
        if given and given != expected:
            raise bad_request(
                f"the API version in the data ({obj.get('apiVersion')}) does not match the expected "
                f"API version ({rt.api_version})"
                if key == "apiVersion"
                else f"the kind in the data ({given}) does not match the expected kind ({expected})"
            )
        obj[key] = expected


def _apply_subresource(rt: ResourceType, old: Json, new: Json, subresource: str) -> Json:
    if subresource == "status":
        result = copy.deepcopy(old)
        source = new
    elif rt.has_status:
        result, source = new, old
    else:
        return new
    if "status" in source:
        result["status"] = copy.deepcopy(source["status"])
    else:
        result.pop("status", None)
    return result
