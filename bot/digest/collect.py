"""Snapshots of many tenants at once, for a digest round: a bounded number of API requests.

`Collector.collect` reads one namespace (one LIST per kind, ~20 requests plus logs). For 200
tenants at 09:00 that is 4,000+ requests. Here each kind is listed once across all namespaces and
split by namespace (18 requests whatever the number of tenants); a kind the bot may not list
cluster-wide (403) falls back to one LIST per tenant for that kind only.

Logs are the expensive part and only some checks read them: they explain why something is broken
(agent capacity lines, scheduler connection errors), never that something is fine. A tenant whose
objects show no symptom and no finding gets no log request at all; the others get the same logs,
within the same budget, as an interactive diagnosis.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from bot import __version__
from bot.cluster.collector import Collector, Limits
from bot.diagnosis.engine import diagnose
from bot.diagnosis.models import Diagnosis
from bot.diagnosis.symptoms import collect as symptoms_of
from bot.diagnosis.view import TenantView
from bot.playbooks import Playbook
from bot.snapshot import OPERATOR_KINDS, TENANT_KINDS, CollectionError, KubeObject, TenantSnapshot
from bot.store.clock import Clock, system_clock

log = logging.getLogger(__name__)

PER_NAMESPACE_UP_TO = 2
"""Up to this many tenants, per-namespace LISTs (no other namespace's objects cross the wire)."""


@dataclass(frozen=True)
class TenantRead:
    """One tenant's outcome: a snapshot and its diagnosis, or why it could not be read."""

    namespace: str
    snapshot: TenantSnapshot | None = None
    diagnosis: Diagnosis | None = None
    error: str | None = None


CollectMany = Callable[[Sequence[str]], dict[str, TenantRead]]


class BatchCollector:
    """Reads and diagnoses a batch of tenants with one LIST per kind for the whole batch."""

    def __init__(
        self,
        api: client.ApiClient,
        playbook: Playbook,
        *,
        operator_namespace: str = "seldon-mesh",
        source: str = "live:in-cluster",
        limits: Limits | None = None,
        clock: Clock = system_clock,
        workers: int = 8,
    ) -> None:
        # Concurrency comes from the tenant pool: `workers` tenants at a time, one log read at a time each,
        # so requests in flight never outnumber the client's connection pool (8 by default).
        self.collector = Collector(
            api, operator_namespace=operator_namespace, limits=replace(limits or Limits(), workers=1), source=source
        )
        self.playbook = playbook
        self.operator_namespace = operator_namespace
        self.source = source
        self._clock = clock
        self._workers = workers
        # Kinds the bot may only list per namespace (RoleBindings per tenant, no ClusterRole): learnt
        # from the first 403, so later rounds do not ask again.
        self.namespaced_only: set[str] = set()

    def __call__(self, namespaces: Sequence[str]) -> dict[str, TenantRead]:
        return self.read(namespaces)

    def read(self, namespaces: Sequence[str]) -> dict[str, TenantRead]:
        tenants = sorted(set(namespaces))
        if not tenants:
            return {}
        objects, errors = self._objects(tenants)
        found = {name for name, items in objects["namespaces"].items() if items}
        reads: dict[str, TenantRead] = {}
        with ThreadPoolExecutor(max_workers=self._workers) as pool:
            jobs = {
                ns: pool.submit(self._tenant, ns, objects, errors)
                for ns in tenants
                if ns in found or "namespaces" in errors
            }
            for ns in tenants:
                job = jobs.get(ns)
                reads[ns] = job.result() if job else TenantRead(ns, error=f"namespace {ns!r} does not exist")
        return reads

    # -- objects ------------------------------------------------------------------------------------

    def _objects(
        self, tenants: list[str]
    ) -> tuple[dict[str, dict[str, list[KubeObject]]], dict[str, CollectionError]]:
        """Every kind, split by namespace, and the errors left after the fallbacks.

        Phase one: one request per kind (a cluster-wide LIST, the operator namespace's LIST, the
        namespaces). Phase two, only for kinds the bot may not list cluster-wide: one LIST per tenant.
        Both phases share one pool, so requests in flight never exceed `workers`.
        """
        cluster_wide = len(tenants) > PER_NAMESPACE_UP_TO
        wanted = {**{k: tenants for k in TENANT_KINDS}, **{k: [self.operator_namespace] for k in OPERATOR_KINDS}}
        wanted["namespaces"] = sorted({*tenants, self.operator_namespace})
        per_tenant = {k for k in TENANT_KINDS if not cluster_wide or k in self.namespaced_only}
        once = [k for k in wanted if k not in per_tenant and k not in self.namespaced_only]
        results: dict[str, tuple[dict[str, list[KubeObject]], CollectionError | None]] = {}
        with ThreadPoolExecutor(max_workers=self._workers) as pool:
            listed = pool.map(
                lambda k: self.collector.list_by_namespace(k, wanted[k], cluster_wide=k in TENANT_KINDS), once
            )
            for kind, (split, error) in zip(once, listed, strict=True):
                if error is not None and error.code == 403 and (kind in TENANT_KINDS or kind == "namespaces"):
                    log.info("digest: cannot list %s cluster-wide (%s); reading them per tenant", kind, error.message)
                    self.namespaced_only.add(kind)
                    per_tenant.add(kind)
                else:
                    results[kind] = (split, error)
            pairs = [(kind, ns) for kind in sorted(per_tenant - {"namespaces"}) for ns in tenants]
            listed = pool.map(lambda p: self.collector.list_by_namespace(p[0], [p[1]], cluster_wide=False), pairs)
            for (kind, _), (split, error) in zip(pairs, listed, strict=True):
                merged, first = results.get(kind, ({}, None))
                results[kind] = ({**merged, **split}, first or error)
        if "namespaces" in self.namespaced_only:
            results["namespaces"] = self._namespaces_one_by_one(wanted["namespaces"])
        objects = {kind: split for kind, (split, _) in results.items()}
        errors = {kind: error for kind, (_, error) in results.items() if error is not None}
        return objects, errors

    def _namespaces_one_by_one(self, names: list[str]) -> tuple[dict[str, list[KubeObject]], CollectionError | None]:
        """GET each namespace (what a per-namespace RoleBinding allows); a 404 means the tenant is gone."""
        core = client.CoreV1Api(self.collector.api)

        def get(name: str) -> tuple[str, KubeObject | None, CollectionError | None]:
            try:
                response = core.read_namespace(
                    name, _preload_content=False, _request_timeout=self.collector.limits.timeout
                )
                doc = json.loads(response.data)
            except ApiException as exc:
                if exc.status == 404:
                    return name, None, None
                missing = f"get namespaces in namespace {name}" if exc.status == 403 else None
                message = f"{exc.status} {exc.reason}"
                return name, None, CollectionError(kind="namespaces", message=message, code=exc.status,
                                                   missing_permission=missing)
            except (HTTPError, OSError, ValueError) as exc:
                return name, None, CollectionError(kind="namespaces", message=f"API unreachable: {exc}")
            return name, KubeObject.model_validate({"apiVersion": "v1", "kind": "Namespace", **doc}), None

        split: dict[str, list[KubeObject]] = {}
        error: CollectionError | None = None
        with ThreadPoolExecutor(max_workers=self._workers) as pool:
            for name, obj, err in pool.map(get, names):
                split[name] = [obj] if obj is not None else []
                error = error or err
        return split, error

    # -- one tenant -----------------------------------------------------------------------------------

    def _tenant(
        self, ns: str, objects: dict[str, dict[str, list[KubeObject]]], errors: dict[str, CollectionError]
    ) -> TenantRead:
        try:
            snapshot = self._snapshot(ns, objects, errors)
            diagnosis = diagnose(snapshot, self.playbook)
            if _needs_logs(snapshot, diagnosis):
                logs = self.collector.read_logs(ns, snapshot.objects)
                snapshot = snapshot.model_copy(update={"logs": logs})
                diagnosis = diagnose(snapshot, self.playbook)
            return TenantRead(ns, snapshot, diagnosis)
        except Exception as exc:  # one broken tenant must not cost the others their digest
            log.exception("digest: reading %s failed", ns)
            return TenantRead(ns, error=f"could not read {ns}: {exc}")

    def _snapshot(
        self, ns: str, objects: dict[str, dict[str, list[KubeObject]]], errors: dict[str, CollectionError]
    ) -> TenantSnapshot:
        kept: dict[str, list[KubeObject]] = {}
        for kind in (*TENANT_KINDS, *OPERATOR_KINDS):
            if kind not in errors:
                source = self.operator_namespace if kind in OPERATOR_KINDS else ns
                kept[kind] = objects[kind].get(source, [])
        if "namespaces" not in errors:
            kept["namespaces"] = [
                o for name in dict.fromkeys((ns, self.operator_namespace)) for o in objects["namespaces"].get(name, [])
            ]
        return TenantSnapshot(
            namespace=ns,
            operator_namespace=self.operator_namespace,
            collected_at=self._clock(),
            source=self.source,
            tool_version=__version__,
            objects=kept,
            errors=dict(errors),
        )


def _needs_logs(snapshot: TenantSnapshot, diagnosis: Diagnosis) -> bool:
    """Logs explain trouble; they never show that a tenant is fine. No symptom, no finding: no logs."""
    return bool(diagnosis.findings) or bool(symptoms_of(TenantView(snapshot)))
