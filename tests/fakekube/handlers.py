"""One function per API verb on a resource route, returning (HTTP status, body).

Response shapes follow the apiserver: GET/PUT/PATCH 200 with the object, POST 201, LIST a
`<Kind>List` whose built-in items carry no apiVersion/kind (the typed list encoders drop them; custom
resource lists keep them), DELETE the object for kinds that return it and a `Status` otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .authz import Authorizer
from .errors import (
    ApiError,
    bad_request,
    field_error,
    invalid,
    method_not_allowed,
    name_mismatch,
    patch_rejected,
    unsupported_media_type,
)
from .patch import PatchError, json_patch, merge_patch, strategic_merge_patch
from .podlogs import PodLogs
from .routes import ResourceRoute
from .selectors import object_filter
from .store import Store, WriteOptions

Json = dict[str, Any]
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
# What PatchResource accepts: custom resources have no strategic merge patch.
CUSTOM_PATCH_TYPES = [JSON_PATCH, MERGE_PATCH, APPLY_PATCH]
BUILTIN_PATCH_TYPES = [JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH, APPLY_PATCH]
_OPTIONS_KIND = {
    "create": "CreateOptions",
    "update": "UpdateOptions",
    "patch": "PatchOptions",
    "delete": "DeleteOptions",
    "deletecollection": "DeleteOptions",
}


@dataclass(frozen=True)
class Call:
    """One resource request, already routed and authorized."""

    route: ResourceRoute
    verb: str
    query: dict[str, str]
    content_type: str
    body: bytes

    @property
    def namespace(self) -> str | None:
        return self.route.namespace

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise bad_request(f"json parse error: {exc}") from None

    def object(self) -> Json:
        body = self.json()
        if not isinstance(body, dict):
            raise bad_request("the request body must be a JSON object")
        return body

    def delete_options(self) -> Json:
        """A DELETE may carry DeleteOptions in its body instead of the query."""
        body = self.json() if self.verb.startswith("delete") and self.body else None
        return body if isinstance(body, dict) else {}

    def options(self) -> WriteOptions:
        dry_run = self.query.get("dryRun") or next(iter(self.delete_options().get("dryRun") or []), None)
        if dry_run not in (None, "All"):
            raise invalid(
                "meta.k8s.io",
                _OPTIONS_KIND[self.verb],
                "",
                [field_error("dryRun[0]", "FieldValueNotSupported", 'supported values: "All"', dry_run)],
            )
        return WriteOptions(dry_run=dry_run == "All", strict=self.query.get("fieldValidation") == "Strict")


def _json_patcher(ops: Any) -> Callable[[Json], Json]:
    if not isinstance(ops, list):
        raise bad_request(f"json: cannot unmarshal {type(ops).__name__} into Go value of type jsonpatch.Patch")

    def apply(obj: Json) -> Json:
        try:
            return json_patch(obj, ops)
        except (PatchError, TypeError, KeyError) as exc:
            # patch.go: a JSON patch that does not apply -> 422 Invalid with a generic message
            # (errors.NewGenericServerResponse), not 409; the evanphx error text is dropped.
            raise patch_rejected() from exc

    return apply


def patcher(call: Call) -> Callable[[Json], Json]:
    """The function PATCH applies to the stored object, chosen by Content-Type."""
    rt = call.route.rt
    media = call.content_type.split(";")[0].strip().lower()
    accepted = CUSTOM_PATCH_TYPES if rt.custom else BUILTIN_PATCH_TYPES
    if media not in accepted:
        raise unsupported_media_type(accepted)
    if media == APPLY_PATCH:
        raise ApiError(415, "UnsupportedMediaType", "fakekube does not implement server-side apply")
    doc = call.json()
    if media == JSON_PATCH:
        return _json_patcher(doc)
    if not isinstance(doc, dict):
        raise bad_request("a merge patch must be a JSON object")
    merge = strategic_merge_patch if media == STRATEGIC_PATCH else merge_patch
    return lambda obj: merge(obj, doc)


def list_body(call: Call, items: list[Json], resource_version: str) -> Json:
    rt = call.route.rt
    meta: Json = {"resourceVersion": resource_version}
    if rt.custom:
        meta = {"continue": "", **meta}
    else:
        items = [{k: v for k, v in item.items() if k not in ("apiVersion", "kind")} for item in items]
    return {"kind": f"{rt.kind}List", "apiVersion": rt.api_version, "metadata": meta, "items": items}


class Handlers:
    def __init__(self, store: Store, logs: PodLogs, authz: Authorizer) -> None:
        self.store, self.logs, self.authz = store, logs, authz

    def dispatch(self, call: Call) -> tuple[int, Json | str, WriteOptions | None]:
        handler = getattr(self, f"_{call.verb}", None)
        if handler is None:  # watch: discovery lists it, the fake does not stream
            raise method_not_allowed(call.verb, call.route.rt.group, call.route.rt.plural)
        return handler(call)

    def _get(self, call: Call) -> tuple[int, Json | str, None]:
        route = call.route
        obj = self.store.get(route.rt, route.namespace, route.name or "")
        if route.subresource == "log":
            return 200, self.logs.read(obj, call.query), None
        return 200, obj, None

    def _list(self, call: Call) -> tuple[int, Json, None]:
        rt = call.route.rt
        accept = object_filter(rt, call.query.get("labelSelector"), call.query.get("fieldSelector"))
        items, rv = self.store.list(rt, call.namespace, accept)
        return 200, list_body(call, items, rv), None

    def _create(self, call: Call) -> tuple[int, Json, WriteOptions | None]:
        if call.route.rt.plural == "selfsubjectaccessreviews":
            return 201, self._review(call.object()), None
        opts = call.options()
        return 201, self.store.create(call.route.rt, call.namespace, call.object(), opts), opts

    def _update(self, call: Call) -> tuple[int, Json, WriteOptions]:
        opts, route, body = call.options(), call.route, call.object()
        with self.store.lock:
            if route.rt.create_on_update and self.store.find(route.rt, route.namespace, route.name or "") is None:
                return 201, self._create_on_update(call, body, opts), opts
            obj = self.store.update(
                route.rt, route.namespace, route.name or "", body, opts, subresource=route.subresource
            )
        return 200, obj, opts

    def _create_on_update(self, call: Call, body: Json, opts: WriteOptions) -> Json:
        meta = body.setdefault("metadata", {})
        if meta.get("name", call.route.name) != call.route.name:
            raise name_mismatch(meta.get("name"), call.route.name)
        meta["name"] = call.route.name
        meta.pop("resourceVersion", None)
        return self.store.create(call.route.rt, call.namespace, body, opts)

    def _patch(self, call: Call) -> tuple[int, Json, WriteOptions]:
        opts, route = call.options(), call.route
        obj = self.store.patch(
            route.rt, route.namespace, route.name or "", patcher(call), opts, subresource=route.subresource
        )
        return 200, obj, opts

    def _delete(self, call: Call) -> tuple[int, Json, WriteOptions]:
        opts, route, rt = call.options(), call.route, call.route.rt
        obj = self.store.delete(rt, route.namespace, route.name or "", opts, orphan=self._orphans(call))
        if rt.returns_object_on_delete:
            return 200, obj, opts
        details = {
            "name": obj["metadata"]["name"],
            "group": rt.group,
            "kind": rt.plural,
            "uid": obj["metadata"].get("uid"),
        }
        status = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {k: v for k, v in details.items() if v},
        }
        return 200, status, opts

    def _deletecollection(self, call: Call) -> tuple[int, Json, WriteOptions]:
        opts, rt = call.options(), call.route.rt
        accept = object_filter(rt, call.query.get("labelSelector"), call.query.get("fieldSelector"))
        with self.store.lock:
            items, _ = self.store.list(rt, call.namespace, accept)
            deleted = [
                self.store.delete(
                    rt,
                    item["metadata"].get("namespace"),
                    item["metadata"]["name"],
                    opts,
                    orphan=self._orphans(call),
                )
                for item in items
            ]
        return 200, list_body(call, deleted, self.store.resource_version), opts

    @staticmethod
    def _orphans(call: Call) -> bool:
        options = call.delete_options()
        policy = options.get("propagationPolicy") or call.query.get("propagationPolicy")
        return policy == "Orphan" or options.get("orphanDependents") is True

    def _review(self, review: Json) -> Json:
        """SelfSubjectAccessReview: answered from the same rules that guard real requests; not stored."""
        spec = review.get("spec") or {}
        return {
            "kind": "SelfSubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": None},
            "spec": spec,
            "status": self.authz.review(spec),
        }
