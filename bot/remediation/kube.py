"""The Kubernetes writes of a remediation, behind one small interface.

Only the executor writes to the cluster, and only through this module: reads of the target,
merge patches (with the resourceVersion precondition in the body, so a changed object is refused
with 409 instead of overwritten), server-side dry runs, and SelfSubjectAccessReviews. API errors
become RemediationErrors with a message a human can act on.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from bot.diagnosis.models import ObjectRef

MERGE_PATCH = "application/merge-patch+json"
# kind -> (group, version, plural); the kinds a remediation may touch.
KINDS: dict[str, tuple[str, str, str]] = {
    "Server": ("mlops.seldon.io", "v1alpha1", "servers"),
    "ServerConfig": ("mlops.seldon.io", "v1alpha1", "serverconfigs"),
    "StatefulSet": ("apps", "v1", "statefulsets"),
    "Deployment": ("apps", "v1", "deployments"),
}


class RemediationError(Exception):
    """A step failed; `reason` is machine-readable (denied, conflict, not-found, invalid, unreachable, ...)."""

    def __init__(self, reason: str, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.reason, self.code = reason, code


def _status_message(exc: ApiException) -> str:
    try:
        return json.loads(exc.body or "{}").get("message") or f"{exc.status} {exc.reason}"
    except (TypeError, ValueError):
        return f"{exc.status} {exc.reason}"


_REASONS = {401: "unauthorized", 403: "denied", 404: "not-found", 409: "conflict", 422: "invalid"}


def as_error(exc: Exception, doing: str) -> RemediationError:
    if isinstance(exc, ApiException):
        reason = _REASONS.get(exc.status or 0, "failed")
        return RemediationError(reason, f"{doing}: {_status_message(exc)}", exc.status)
    return RemediationError("unreachable", f"{doing}: the Kubernetes API did not answer: {exc}")


def plural(ref: ObjectRef) -> tuple[str, str, str]:
    if ref.kind not in KINDS:
        raise RemediationError("unsupported", f"the bot does not change {ref.kind} objects; apply this by hand")
    return KINDS[ref.kind]


class KubeTarget:
    """Reads and writes of one kind of object in the cluster; reads retried on 429/5xx only."""

    def __init__(
        self,
        api: client.ApiClient,
        *,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api, self.timeout, self.retries, self.backoff, self._sleep = api, timeout, retries, backoff, sleep
        self.custom, self.apps = client.CustomObjectsApi(api), client.AppsV1Api(api)
        self.authz = client.AuthorizationV1Api(api)

    def _call(self, fn: Callable[[], Any], doing: str, *, read: bool) -> dict[str, Any]:
        for attempt in range(self.retries + 1):
            try:
                return json.loads(fn().data)
            except ApiException as exc:
                retry = read and (exc.status == 429 or (exc.status or 0) >= 500) and attempt < self.retries
                if not retry:
                    raise as_error(exc, doing) from None
                self._sleep(self.backoff * 2**attempt)
            except (HTTPError, OSError) as exc:
                raise as_error(exc, doing) from None
        raise AssertionError("unreachable")

    def get(self, ref: ObjectRef) -> dict[str, Any]:
        group, version, kind_plural = plural(ref)
        opts = {"_preload_content": False, "_request_timeout": self.timeout}
        if group == "apps":
            method = getattr(self.apps, f"read_namespaced_{_snake(ref.kind)}")
            return self._call(lambda: method(ref.name, ref.namespace, **opts), f"read {ref}", read=True)
        return self._call(
            lambda: self.custom.get_namespaced_custom_object(
                group, version, ref.namespace, kind_plural, ref.name, **opts
            ),
            f"read {ref}",
            read=True,
        )

    def merge_patch(self, ref: ObjectRef, patch: dict[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        """JSON merge patch (lists replaced). Writes are never retried: a retry could apply twice."""
        group, version, kind_plural = plural(ref)
        opts: dict[str, Any] = {
            "_preload_content": False,
            "_request_timeout": self.timeout,
            "_content_type": MERGE_PATCH,
        }
        if dry_run:
            opts["dry_run"] = "All"
        doing = f"{'dry-run ' if dry_run else ''}patch {ref}"
        if group == "apps":
            method = getattr(self.apps, f"patch_namespaced_{_snake(ref.kind)}")
            return self._call(lambda: method(ref.name, ref.namespace, patch, **opts), doing, read=False)
        return self._call(
            lambda: self.custom.patch_namespaced_custom_object(
                group, version, ref.namespace, kind_plural, ref.name, patch, **opts
            ),
            doing,
            read=False,
        )

    def can(self, verb: str, resource: str, group: str, namespace: str, name: str | None = None) -> bool:
        attributes = client.V1ResourceAttributes(
            verb=verb, resource=resource, group=group, namespace=namespace, name=name
        )
        body = client.V1SelfSubjectAccessReview(
            spec=client.V1SelfSubjectAccessReviewSpec(resource_attributes=attributes)
        )
        review = self._call(
            lambda: self.authz.create_self_subject_access_review(
                body, _preload_content=False, _request_timeout=self.timeout
            ),
            "access review",
            read=True,
        )
        return bool((review.get("status") or {}).get("allowed"))


def _snake(kind: str) -> str:
    return {"StatefulSet": "stateful_set", "Deployment": "deployment"}[kind]
