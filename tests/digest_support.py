"""Helpers for the digest tests and benchmark: many tenants on one fake API server, clocks, configs.

A tenant is an example bundle (generated from Seldon's real YAML) with its namespace renamed
everywhere it appears (metadata, selectors, DNS names), so every copy is diagnosed exactly like
the example. Operator-namespace objects (ServerConfigs, the controller) are seeded once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from clocks import FakeClock

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def bundle_objects(example: str) -> tuple[str, list[dict[str, Any]], dict[tuple[str, str, bool], list[str]]]:
    """(namespace, objects, logs by (pod, container, previous)) of an example bundle."""
    bundle = EXAMPLES / example
    manifest = yaml.safe_load((bundle / "manifest.yaml").read_text(encoding="utf-8"))
    objects: list[dict[str, Any]] = []
    for file in sorted((bundle / "objects").glob("*.yaml"), key=lambda p: (p.stem != "namespaces", p.stem)):
        objects += yaml.load(file.read_text(encoding="utf-8"), Loader=_LOADER) or []
    logs = {}
    for entry in manifest.get("logs") or []:
        lines = (bundle / entry["file"]).read_text(encoding="utf-8", errors="replace").splitlines()
        logs[(entry["pod"], entry["container"], bool(entry.get("previous")))] = lines
    return manifest["namespace"], objects, logs


def seed_tenants(kube: Any, example: str, namespaces: Iterable[str]) -> None:
    """Seed one copy of the example per namespace; objects outside it (the operator's) only if missing."""
    source, objects, logs = bundle_objects(example)
    for namespace in namespaces:
        copies = []
        for obj in objects:
            meta = obj.get("metadata") or {}
            in_tenant = meta.get("namespace") == source or (obj.get("kind") == "Namespace" and meta["name"] == source)
            if in_tenant:
                copies.append(json.loads(json.dumps(obj).replace(source, namespace)))
            elif kube.get_object(obj["apiVersion"], obj["kind"], meta.get("namespace"), meta["name"]) is None:
                copies.append(obj)
        kube.seed(copies)
        for (pod, container, previous), lines in logs.items():
            kube.set_log(namespace, pod, container, [ln.replace(source, namespace) for ln in lines], previous)


class Replica:
    """One bot replica for digest tests: its own store connection, services and runtime (not started)."""

    def __init__(
        self, *, kube: Any, slack: Any, store_url: str, clock: FakeClock, replica_id: str, config: Any
    ) -> None:
        from bot.digest.leader import LeaseSettings
        from bot.digest.runtime import DigestRuntime, RuntimeSettings
        from bot.slack.authz import Authorizer
        from bot.slack.services import Services, WorkerPool
        from bot.store.store import Store

        self.store = Store.open(store_url, env={}, clock=clock)
        self.services = Services(
            config=config,
            authz=Authorizer(config, lambda _: set()),
            store=self.store,
            kube=kube.api_client(),
            pool=WorkerPool(1),
            clock=clock,
            replica_id=replica_id,
        )
        settings = RuntimeSettings(LeaseSettings(namespace=LEASE_NAMESPACE), round_window=0.05)
        self.runtime = DigestRuntime(
            self.services, slack.client(), kube.api_client(), replica_id=replica_id, settings=settings
        )

    def close(self) -> None:
        self.runtime.stop()
        self.services.pool.shutdown()
        self.store.close()


LEASE_NAMESPACE = "seldon-chatops"


def lease_namespace_object() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": LEASE_NAMESPACE}}


def apscheduler_clock(clock: FakeClock) -> type[datetime]:
    """A `datetime` class whose now() is the fake clock: APScheduler 3 reads the wall clock directly,
    so tests put this in `apscheduler.schedulers.base` (monkeypatch) to run the real scheduler on it."""

    class ControlledDatetime(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return clock().astimezone(tz)

    return ControlledDatetime
