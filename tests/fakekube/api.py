"""The request pipeline, independent of HTTP plumbing: latency and faults, authentication, routing,
authorization, the verb handler, then write listeners (the operator hook).

Order follows the apiserver's filter chain where it matters to clients: an unauthenticated request
gets 401 before anything else is looked at, a forbidden one gets 403 before a 404.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import discovery
from .authz import Attributes, Authorizer
from .errors import (
    ApiError,
    already_exists,
    conflict,
    field_error,
    internal,
    invalid,
    method_not_allowed,
    not_found,
    path_not_found,
    unauthorized,
)
from .faults import Fault, Faults
from .handlers import Call, Handlers
from .resources import SUBRESOURCE_VERBS, Registry, ResourceType
from .routes import DiscoveryRoute, ResourceRoute, Route, parse
from .store import WriteOptions

Json = dict[str, Any]
_VERBS = {
    ("GET", False): "list",
    ("GET", True): "get",
    ("POST", False): "create",
    ("PUT", True): "update",
    ("PATCH", True): "patch",
    ("DELETE", True): "delete",
    ("DELETE", False): "deletecollection",
}
# max-inflight / APF reject with plain text, not a Status (k8s.io/apiserver/pkg/server/filters).
_TOO_MANY = b"Too many requests, please try again later.\n"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class WriteEvent:
    """A committed write made through the HTTP API (dry runs and the fake's own writes excluded)."""

    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str
    verb: str


WriteListener = Callable[[WriteEvent], None]


def json_response(status: int, body: Json, headers: dict[str, str] | None = None) -> Response:
    return Response(status, json.dumps(body).encode("utf-8"), headers=headers or {})


def error_response(error: ApiError) -> Response:
    return json_response(error.code, error.status(), error.headers)


def _verb(req: Request, route: ResourceRoute) -> str:
    verb = _VERBS.get((req.method, route.name is not None))
    if verb == "list" and req.query.get("watch", "").lower() in ("true", "1"):
        verb = "watch"
    if route.namespace is None and route.rt.namespaced and verb not in ("list", "watch"):
        verb = None  # /api/v1/pods serves only the all-namespaces LIST
    allowed = SUBRESOURCE_VERBS[route.subresource] if route.subresource else route.rt.verbs
    if verb is None or verb not in allowed:
        raise method_not_allowed(verb or req.method.lower(), route.rt.group, route.rt.plural)
    return verb


def _bearer_token(req: Request) -> str:
    scheme, _, token = req.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme == "Bearer" else ""


def _attributes(route: ResourceRoute, verb: str) -> Attributes:
    rt = route.rt
    return Attributes(verb, rt.group, rt.plural, route.subresource, route.namespace or "", route.name or "")


class App:
    def __init__(
        self,
        registry: Registry,
        handlers: Handlers,
        authz: Authorizer,
        faults: Faults,
        address: Callable[[], str],
    ) -> None:
        self.registry, self.handlers, self.authz, self.faults = registry, handlers, authz, faults
        self._address = address
        self.listeners: list[WriteListener] = []

    def handle(self, req: Request) -> Response | None:
        """The response, or None to reset the connection without one."""
        fault = self._delay(req)
        if fault is not None and fault.reset:
            return None
        try:
            return self._answer(req, fault)
        except ApiError as error:
            return error_response(error)
        except Exception as exc:  # a fake bug: answer 500 rather than drop the connection
            traceback.print_exc()
            return error_response(internal(f"fakekube: {exc!r}"))

    def _delay(self, req: Request) -> Fault | None:
        """Sleep the global latency plus the matching fault's; return that fault."""
        fault = self.faults.take(req.method, req.path)
        delay = self.faults.latency + (fault.latency if fault is not None else 0.0)
        if delay > 0:
            time.sleep(delay)
        return fault

    def _answer(self, req: Request, fault: Fault | None) -> Response:
        route = parse(req.path, self.registry)
        if fault is not None and fault.status is not None:
            return self._fault(fault.status, req, route)
        if not _bearer_token(req):  # any token is accepted; authorization is the rule set's job
            raise unauthorized()
        if route is None:
            raise path_not_found()
        if isinstance(route, DiscoveryRoute):
            return json_response(200, self._discovery(route))
        return self._resource(req, route)

    def _discovery(self, route: DiscoveryRoute) -> Json:
        docs = {
            "version": lambda: discovery.VERSION_INFO,
            "core": lambda: discovery.core_versions(self._address()),
            "groups": lambda: discovery.group_list(self.registry),
            "group": lambda: discovery.group(self.registry, route.group),
            "resources": lambda: discovery.resource_list(self.registry, route.group, route.version),
        }
        doc = docs[route.what]()
        if doc is None:
            raise path_not_found()
        return doc

    def _resource(self, req: Request, route: ResourceRoute) -> Response:
        verb = _verb(req, route)
        self.authz.check(_attributes(route, verb))
        call = Call(route, verb, req.query, req.content_type, req.body)
        status, body, opts = self.handlers.dispatch(call)
        headers = self._warnings(opts, req.query)
        if opts is not None and not opts.dry_run:
            self._notify(WriteEvent(route.rt, route.namespace, route.name, route.subresource, verb))
        if isinstance(body, str):
            return Response(status, body.encode("utf-8"), "text/plain", headers)
        return json_response(status, body, headers)

    @staticmethod
    def _warnings(opts: WriteOptions | None, query: dict[str, str]) -> dict[str, str]:
        if opts is None or not opts.warnings or query.get("fieldValidation") == "Ignore":
            return {}
        return {"Warning": ", ".join("299 - " + json.dumps(w) for w in opts.warnings)}

    def _notify(self, event: WriteEvent) -> None:
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception as exc:  # a broken hook must be loud, not a hung client
                traceback.print_exc()
                raise internal(f"fakekube write listener failed: {exc!r}") from exc

    def _fault(self, code: int, req: Request, route: Route | None) -> Response:
        """An injected status, worded as the apiserver words that status for this request."""
        if code == 429:
            return Response(429, _TOO_MANY, "text/plain; charset=utf-8", {"Retry-After": "1"})
        resource = route if isinstance(route, ResourceRoute) else None
        if code == 403 and resource is not None:
            verb = _VERBS.get((req.method, resource.name is not None)) or req.method.lower()
            return error_response(self.authz.forbidden(_attributes(resource, verb)))
        rt = resource.rt if resource else None
        name = (resource.name if resource else None) or _body_name(req)
        return error_response(_status_error(code, req.method, rt, name))


def _body_name(req: Request) -> str:
    try:
        body = json.loads(req.body or b"{}")
    except ValueError:
        return ""
    return str(((body if isinstance(body, dict) else {}).get("metadata") or {}).get("name") or "")


def _status_error(code: int, method: str, rt: ResourceType | None, name: str) -> ApiError:
    group, plural = (rt.group, rt.plural) if rt else ("", "")
    if code == 401:
        return unauthorized()
    if code == 404:
        return not_found(group, plural, name) if rt and name else path_not_found()
    if code == 409:
        return already_exists(group, plural, name) if method == "POST" else conflict(group, plural, name)
    if code == 422 and rt is not None:
        cause = field_error("metadata.name", "FieldValueInvalid", "injected by fakekube", name)
        return invalid(group, rt.kind, name, [cause])
    if code == 503:
        return ApiError(503, "ServiceUnavailable", "the server is currently unable to handle the request", {})
    if code >= 500:
        return internal("fakekube: injected fault")
    return ApiError(code, "BadRequest" if code == 400 else "Unknown", f"fakekube: injected status {code}", {})
