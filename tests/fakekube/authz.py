"""One rule set for both questions a client can ask: SelfSubjectAccessReview answers, and whether a
real request gets 403. Default: everything allowed (`allow_all`); `deny_all` plus `allow` rules
models a least-privilege Role (self-reviews stay allowed, as system:basic-user grants them).

A namespaced rule also decides cluster-wide requests the RBAC way: a deny in one namespace denies
the all-namespaces LIST (it needs a ClusterRole), an allow in one namespace does not grant it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from .errors import ApiError, field_error, forbidden, invalid

DEFAULT_USER = "system:serviceaccount:seldon-mesh:seldon-chatops"
# The system:basic-user ClusterRole lets every authenticated user ask what it may do.
_BASIC_USER = {
    ("authorization.k8s.io", "selfsubjectaccessreviews"),
    ("authorization.k8s.io", "selfsubjectrulesreviews"),
}
_BASIC_USER_REASON = (
    'RBAC: allowed by ClusterRoleBinding "system:basic-user" of ClusterRole "system:basic-user" '
    'to Group "system:authenticated"'
)


@dataclass(frozen=True)
class Attributes:
    """authorizer.Attributes of one request; namespace "" is cluster scope or all namespaces."""

    verb: str
    group: str
    resource: str
    subresource: str = ""
    namespace: str = ""
    name: str = ""

    @property
    def full_resource(self) -> str:
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


@dataclass(frozen=True)
class Rule:
    verb: str
    resource: str
    group: str = ""
    namespace: str | None = None  # None: every namespace
    subresource: str = ""

    def matches(self, attrs: Attributes, *, cluster_wide_hits: bool) -> bool:
        if self.verb not in ("*", attrs.verb) or self.resource not in ("*", attrs.resource):
            return False
        if self.group not in ("*", attrs.group) or self.subresource not in ("*", attrs.subresource):
            return False
        return self.namespace in (None, attrs.namespace) or (cluster_wide_hits and not attrs.namespace)


def _subject(user: str) -> str:
    parts = user.split(":")
    if user.startswith("system:serviceaccount:") and len(parts) == 4:
        return f'ServiceAccount "{parts[3]}/{parts[2]}"'
    return f'User "{user}"'


class Authorizer:
    def __init__(self, user: str = DEFAULT_USER) -> None:
        self.user = user
        self._lock = threading.Lock()
        self._default_allow = True
        self._allows: list[Rule] = []
        self._denies: list[Rule] = []

    def reset(self, *, default_allow: bool) -> None:
        with self._lock:
            self._default_allow = default_allow
            self._allows.clear()
            self._denies.clear()

    def add(self, rule: Rule, *, allow: bool) -> None:
        with self._lock:
            (self._allows if allow else self._denies).append(rule)

    def decide(self, attrs: Attributes) -> tuple[bool, str]:
        """(allowed, reason) as the RBAC authorizer gives them: a denial carries no reason."""
        with self._lock:
            if any(r.matches(attrs, cluster_wide_hits=True) for r in self._denies):
                return False, ""
            if (attrs.group, attrs.resource) in _BASIC_USER:
                return True, _BASIC_USER_REASON
            if self._default_allow:
                return True, self._reason("ClusterRoleBinding", "fakekube:allow-all", "ClusterRole", "cluster-admin")
            if any(r.matches(attrs, cluster_wide_hits=False) for r in self._allows):
                binding = f"fakekube:allow/{attrs.namespace}" if attrs.namespace else "fakekube:allow"
                return True, self._reason("RoleBinding", binding, "Role", "fakekube:allow")
            return False, ""

    def _reason(self, binding_kind: str, binding: str, role_kind: str, role: str) -> str:
        return f'RBAC: allowed by {binding_kind} "{binding}" of {role_kind} "{role}" to {_subject(self.user)}'

    def review(self, spec: dict[str, Any]) -> dict[str, Any]:
        """The `status` of a SelfSubjectAccessReview for its `spec`."""
        resource, non_resource = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
        if (resource is None) == (non_resource is None):
            why = "exactly one of nonResourceAttributes or resourceAttributes must be specified"
            cause = field_error("spec.resourceAttributes", "FieldValueInvalid", why, "null")
            raise invalid("authorization.k8s.io", "SelfSubjectAccessReview", "", [cause])
        if resource is not None:
            fields = ("verb", "group", "resource", "subresource", "namespace", "name")
            attrs = Attributes(*(str(resource.get(k) or "") for k in fields))
        else:  # non-resource URLs (/healthz, ...) are judged by the same rules, path as resource
            url = non_resource or {}
            attrs = Attributes(str(url.get("verb") or ""), "", str(url.get("path") or ""))
        allowed, reason = self.decide(attrs)
        return {"allowed": allowed, **({"reason": reason} if reason else {})}

    def check(self, attrs: Attributes) -> None:
        if not self.decide(attrs)[0]:
            raise self.forbidden(attrs)

    def forbidden(self, attrs: Attributes) -> ApiError:
        """The apiserver's 403 for these attributes (responsewriters.forbiddenMessage)."""
        scope = f'in the namespace "{attrs.namespace}"' if attrs.namespace else "at the cluster scope"
        why = (
            f'User "{self.user}" cannot {attrs.verb} resource "{attrs.full_resource}" in API group '
            f'"{attrs.group}" {scope}'
        )
        return forbidden(attrs.group, attrs.resource, attrs.name, why)
