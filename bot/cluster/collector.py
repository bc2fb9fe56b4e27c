"""Live collector: one tenant namespace's TenantSnapshot from a cluster.

One LIST per kind, run concurrently, each with a timeout; reads retried with backoff on 429 and
5xx only. A kind that cannot be read (403, 404 when Seldon's CRDs are absent, a timeout) is
recorded in the snapshot with the exact missing permission, never raised. Logs are read only for
the containers the checks need, bounded in lines and bytes, and within a per-run budget of pods,
so the number of requests does not grow with the tenant beyond that budget.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from bot import __version__
from bot.cluster.redact import redact_object, redact_text
from bot.errors import ClusterError, InputError
from bot.names import validate_namespace
from bot.seldon.objects import AGENT, RCLONE, container, container_status, env_value, inference_container_name
from bot.snapshot import (
    ALL_KINDS,
    LOGGED_CONTAINERS,
    OPERATOR_KINDS,
    TENANT_KINDS,
    CollectionError,
    ContainerLog,
    KubeObject,
    TenantSnapshot,
)

SELDON_GROUP, SELDON_VERSION = "mlops.seldon.io", "v1alpha1"
CONTROLLER_SELECTOR = "control-plane=v2-controller-manager"
# (API class, method suffix, plural, group) per kind; CRDs go through CustomObjectsApi.
_TYPED: dict[str, tuple[type, str, str, str]] = {
    "statefulsets": (client.AppsV1Api, "stateful_set", "statefulsets", "apps"),
    "deployments": (client.AppsV1Api, "deployment", "deployments", "apps"),
    "pods": (client.CoreV1Api, "pod", "pods", ""),
    "services": (client.CoreV1Api, "service", "services", ""),
    "events": (client.CoreV1Api, "event", "events", ""),
    "limitranges": (client.CoreV1Api, "limit_range", "limitranges", ""),
    "configmaps": (client.CoreV1Api, "config_map", "configmaps", ""),
    "serviceaccounts": (client.CoreV1Api, "service_account", "serviceaccounts", ""),
    "endpointslices": (client.DiscoveryV1Api, "endpoint_slice", "endpointslices", "discovery.k8s.io"),
    "networkpolicies": (client.NetworkingV1Api, "network_policy", "networkpolicies", "networking.k8s.io"),
    "roles": (client.RbacAuthorizationV1Api, "role", "roles", "rbac.authorization.k8s.io"),
    "operator_deployments": (client.AppsV1Api, "deployment", "deployments", "apps"),
}
_CUSTOM = {"seldonruntimes", "servers", "models", "pipelines", "experiments", "serverconfigs"}


@dataclass(frozen=True)
class Limits:
    timeout: float = 10.0  # seconds per request
    retries: int = 3  # extra attempts on 429/5xx
    backoff: float = 0.2  # seconds, doubled per attempt (Retry-After wins when given, capped at 5 s)
    workers: int = 8
    log_lines: int = 500
    log_bytes: int = 256 * 1024
    log_pods: int = 12  # pods whose logs are read per run, unhealthy ones first
    all_logs: bool = False  # support bundles: every logged container of every pod, no budget


class _ReadFailed(Exception):
    def __init__(self, error: CollectionError) -> None:
        super().__init__(error.message)
        self.error = error


class Collector:
    def __init__(
        self,
        api: client.ApiClient,
        *,
        operator_namespace: str = "seldon-mesh",
        limits: Limits = Limits(),
        source: str = "live",
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.api = api
        self.operator_namespace = validate_namespace(operator_namespace)
        self.limits = limits
        self.source = source
        self._sleep, self._clock = sleep, clock
        self._serverconfigs: tuple[list[KubeObject], CollectionError | None] | None = None

    # -- public -------------------------------------------------------------------------------

    def collect(self, namespace: str) -> TenantSnapshot:
        validate_namespace(namespace)
        objects: dict[str, list[KubeObject]] = {}
        errors: dict[str, CollectionError] = {}
        namespaces = self._namespaces(namespace, errors)
        if namespaces is not None:
            objects["namespaces"] = namespaces
        kinds = [*TENANT_KINDS, *OPERATOR_KINDS]
        with ThreadPoolExecutor(max_workers=self.limits.workers) as pool:
            results = dict(zip(kinds, pool.map(lambda k: self._list_kind(k, namespace), kinds), strict=True))
            for kind, (items, error) in results.items():
                if error is not None:
                    errors[kind] = error
                else:
                    objects[kind] = items
            logs = list(pool.map(lambda job: self._log(namespace, *job), _log_jobs(objects, self.limits)))
        return TenantSnapshot(
            namespace=namespace,
            operator_namespace=self.operator_namespace,
            collected_at=self._clock(),
            source=self.source,
            tool_version=__version__,
            objects=objects,
            logs=[lg for lg in logs if lg is not None],
            errors=errors,
        )

    def list_by_namespace(
        self, kind: str, namespaces: Collection[str], *, cluster_wide: bool = True
    ) -> tuple[dict[str, list[KubeObject]], CollectionError | None]:
        """`kind` for several namespaces: one LIST across all of them (or one per namespace), split by namespace.

        For batch readers such as the digest: N tenants cost one request per kind, not N. Items of
        other namespaces are dropped before they are parsed. `namespaces` (cluster-scoped) are keyed
        by name. The first error is returned with what could be read; nothing is raised.
        """
        wanted = set(namespaces)
        api_version, kind_name = ALL_KINDS[kind]
        split: dict[str, list[KubeObject]] = {ns: [] for ns in wanted}
        calls = [None] if cluster_wide or kind == "namespaces" else sorted(wanted)
        error: CollectionError | None = None
        group = "" if kind == "namespaces" else _group(kind)
        for ns in calls:
            try:
                raw = self._read(self._lister(kind, ns), kind, "list", group, ns)
            except _ReadFailed as failed:
                error = error or failed.error
                continue
            for item in raw.get("items") or []:
                meta = item.get("metadata") or {}
                key = meta.get("name") if kind == "namespaces" else meta.get("namespace")
                if key in wanted:
                    obj = redact_object({"apiVersion": api_version, "kind": kind_name, **item})
                    split[key].append(KubeObject.model_validate(obj))
        return split, error

    def read_logs(self, namespace: str, objects: dict[str, list[KubeObject]]) -> list[ContainerLog]:
        """The logs `collect` reads for these objects: same choice of containers, same budget."""
        jobs = _log_jobs(objects, self.limits)
        with ThreadPoolExecutor(max_workers=self.limits.workers) as pool:
            logs = list(pool.map(lambda job: self._log(namespace, *job), jobs))
        return [lg for lg in logs if lg is not None]

    # -- objects ------------------------------------------------------------------------------

    def _namespaces(self, namespace: str, errors: dict[str, CollectionError]) -> list[KubeObject] | None:
        core = client.CoreV1Api(self.api)
        found = []
        for name in dict.fromkeys((namespace, self.operator_namespace)):
            try:
                raw = self._read(lambda n=name: core.read_namespace(n, **self._opts()), "namespaces", "get", "", None)
            except _ReadFailed as failed:
                if failed.error.code is None or failed.error.code == 401:
                    # Nothing else will work either: say so once instead of once per kind.
                    raise ClusterError(
                        f"cannot use the Kubernetes API ({self.source}): {failed.error.message}"
                    ) from None
                if failed.error.code == 404 and name == namespace:
                    raise InputError(f"namespace {namespace!r} does not exist in this cluster") from None
                if failed.error.code != 404:
                    errors["namespaces"] = failed.error
                continue
            found.append(KubeObject.model_validate({"apiVersion": "v1", "kind": "Namespace", **raw}))
        return None if "namespaces" in errors else found

    def _list_kind(self, kind: str, namespace: str) -> tuple[list[KubeObject], CollectionError | None]:
        if kind == "serverconfigs" and self._serverconfigs is not None:
            return self._serverconfigs  # cluster-wide config, read once per collector
        ns = self.operator_namespace if kind in OPERATOR_KINDS else namespace
        api_version, kind_name = ALL_KINDS[kind]
        try:
            raw = self._read(self._lister(kind, ns), kind, "list", _group(kind), ns)
            items = [
                KubeObject.model_validate(redact_object({"apiVersion": api_version, "kind": kind_name, **item}))
                for item in raw.get("items") or []
            ]
            result: tuple[list[KubeObject], CollectionError | None] = (items, None)
        except _ReadFailed as failed:
            result = ([], failed.error)
        if kind == "serverconfigs":
            self._serverconfigs = result
        return result

    def _lister(self, kind: str, ns: str | None) -> Callable[[], Any]:
        """The LIST call of a kind in `ns`, or across all namespaces when `ns` is None."""
        if kind in _CUSTOM:
            api = client.CustomObjectsApi(self.api)
            if ns is None:
                return lambda: api.list_cluster_custom_object(SELDON_GROUP, SELDON_VERSION, kind, **self._opts())
            return lambda: api.list_namespaced_custom_object(SELDON_GROUP, SELDON_VERSION, ns, kind, **self._opts())
        if kind == "namespaces":
            core = client.CoreV1Api(self.api)
            return lambda: core.list_namespace(**self._opts())
        cls, suffix, _, _ = _TYPED[kind]
        selector = {"label_selector": CONTROLLER_SELECTOR} if kind == "operator_deployments" else {}
        if ns is None:
            every = getattr(cls(self.api), f"list_{suffix}_for_all_namespaces")
            return lambda: every(**selector, **self._opts())
        method = getattr(cls(self.api), f"list_namespaced_{suffix}")
        return lambda: method(ns, **selector, **self._opts())

    def _opts(self) -> dict[str, Any]:
        return {"_preload_content": False, "_request_timeout": self.limits.timeout}

    def _read(
        self, call: Callable[[], Any], kind: str, verb: str, group: str, ns: str | None, parse: bool = True
    ) -> Any:
        """Call with retries on 429/5xx; raise _ReadFailed with a user-facing error otherwise."""
        for attempt in range(self.limits.retries + 1):
            try:
                response = call()
                data = response.data
                return json.loads(data) if parse else data
            except ApiException as exc:
                retryable = exc.status == 429 or (exc.status or 0) >= 500
                if not retryable or attempt == self.limits.retries:
                    raise _ReadFailed(_api_error(exc, kind, verb, group, ns)) from None
                self._sleep(_retry_delay(exc, self.limits.backoff * 2**attempt))
            except (HTTPError, OSError) as exc:  # timeouts, resets, refused: not retried (may not be idempotent)
                raise _ReadFailed(CollectionError(kind=kind, message=f"API unreachable: {exc}")) from None
            except ValueError as exc:
                raise _ReadFailed(CollectionError(kind=kind, message=f"invalid JSON from the API: {exc}")) from None
        raise AssertionError("unreachable")

    # -- logs -----------------------------------------------------------------------------------

    def _log(self, namespace: str, pod: str, container_name: str, previous: bool) -> ContainerLog | None:
        core = client.CoreV1Api(self.api)

        def call() -> Any:
            return core.read_namespaced_pod_log(
                pod,
                namespace,
                container=container_name,
                previous=previous,
                tail_lines=self.limits.log_lines,
                limit_bytes=self.limits.log_bytes,
                **self._opts(),
            )

        try:
            data = self._read(call, "pods/log", "get", "", namespace, parse=False)
        except _ReadFailed:
            return None  # a missing log only weakens evidence; the checks say what they could not see
        text = data.decode("utf-8", errors="replace")
        lines = text.splitlines()
        truncated = len(lines) >= self.limits.log_lines or len(data) >= self.limits.log_bytes
        if len(data) >= self.limits.log_bytes and lines:
            lines = lines[1:]  # the byte limit cuts the first line in the middle
        return ContainerLog(
            pod=pod,
            container=container_name,
            previous=previous,
            lines=[redact_text(x) for x in lines],
            truncated=truncated,
        )


def _group(kind: str) -> str:
    return SELDON_GROUP if kind in _CUSTOM else _TYPED[kind][3]


def _plural(kind: str) -> str:
    return kind if kind in _CUSTOM else _TYPED.get(kind, (None, "", kind, ""))[2]


def _api_error(exc: ApiException, kind: str, verb: str, group: str, ns: str | None) -> CollectionError:
    try:
        status = json.loads(exc.body or "{}")
    except (TypeError, ValueError):
        status = {}
    message = status.get("message") or f"{exc.status} {exc.reason}"
    resource = _plural(kind) + (f".{group}" if group else "")
    missing = None
    if exc.status == 403:
        where = f" in namespace {ns}" if ns else " (cluster-wide)"
        missing = f"{verb} {resource}{where}"
    elif exc.status == 404 and group == SELDON_GROUP:
        message = f"{message} (are the Seldon Core v2 CRDs installed?)"
    return CollectionError(
        kind=kind,
        message=message,
        code=exc.status,
        reason=status.get("reason") or exc.reason,
        missing_permission=missing,
    )


def _retry_delay(exc: ApiException, default: float) -> float:
    header = (exc.headers or {}).get("Retry-After") if exc.headers else None
    try:
        return min(float(header), 5.0) if header else default
    except ValueError:
        return default


def _log_jobs(objects: dict[str, list[KubeObject]], limits: Limits) -> list[tuple[str, str, bool]]:
    """(pod, container, previous) for the logs the checks read: unhealthy pods first, then one per Server."""
    pods = objects.get("pods", [])
    scheduler = [p for p in pods if p.labels.get("app.kubernetes.io/name") == "seldon-scheduler"]
    servers = [p for p in pods if "seldon-server-name" in p.labels]

    def unhealthy(pod: KubeObject) -> bool:
        statuses = pod.status.get("containerStatuses") or []
        return any(not s.get("ready") or s.get("restartCount") for s in statuses)

    first_of_server = {}
    for pod in sorted(servers, key=lambda p: p.name):
        first_of_server.setdefault(pod.labels["seldon-server-name"], pod)
    chosen = [*scheduler, *[p for p in servers if unhealthy(p)], *first_of_server.values(), *servers]
    picked = list(dict.fromkeys(p.name for p in chosen))
    if not limits.all_logs:
        picked = picked[: limits.log_pods + len(scheduler)]
    by_name = {p.name: p for p in pods}
    jobs = []
    for name in picked:
        pod = by_name[name]
        for cname in _containers_to_read(pod, limits.all_logs):
            jobs.append((name, cname, False))
            if ((container_status(pod, cname) or {}).get("restartCount") or 0) > 0:
                jobs.append((name, cname, True))
    return jobs


def _containers_to_read(pod: KubeObject, every: bool) -> list[str]:
    if "seldon-server-name" not in pod.labels:
        return ["scheduler"] if container(pod.spec, "scheduler") else []
    if every:
        return [c["name"] for c in pod.spec.get("containers") or [] if c.get("name") in LOGGED_CONTAINERS]
    names = [AGENT] if container(pod.spec, AGENT) else []
    inference = inference_container_name(pod.spec)
    for cname in (inference, RCLONE):
        status = container_status(pod, cname or "") or {}
        troubled = not status.get("ready", True) or status.get("restartCount")
        bind_set = cname == inference and env_value(container(pod.spec, cname or ""), "MLSERVER_HOST")
        if cname and container(pod.spec, cname) and (troubled or bind_set):
            names.append(cname)  # their logs matter only when they fail or bind somewhere unusual
    return names
