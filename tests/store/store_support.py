"""Helpers for the store tests: a movable clock, sample proposals and events, and race workers.

The workers are module-level functions so that `multiprocessing` (spawn) can import them in a
child process: each child opens its own `Store` on the same URL, like a second replica.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.diagnosis.models import ObjectRef, Proposal
from bot.remediation.events import Actor, AuditEvent
from bot.store import Store, StoreError


def server_ref(name: str = "mlserver", namespace: str = "risk-ml") -> ObjectRef:
    return ObjectRef(kind="Server", name=name, namespace=namespace, api_version="mlops.seldon.io/v1alpha1")


def make_proposal(name: str = "mlserver", namespace: str = "risk-ml") -> Proposal:
    return Proposal(
        id=f"capacity.memory-request-missing@Server/{name}",
        finding_id=f"capacity.memory-request-missing@Server/{name}",
        title=f"Set memory requests on Server {name}",
        action="patch",
        target=server_ref(name, namespace),
        target_resource_version="4242",
        patch_type="merge",
        patch={
            "spec": {"podSpec": {"containers": [{"name": "mlserver", "resources": {"requests": {"memory": "2Gi"}}}]}}
        },
        rationale="agents report zero capacity without a memory request",
        automatic=True,
    )


def make_event(
    time: datetime, tenant: str = "risk-ml", *, step: str = "applied", detail: str = "", **extra: Any
) -> AuditEvent:
    return AuditEvent.model_validate(
        {
            "time": time,
            "tenant": tenant,
            "step": step,
            "outcome": "ok",
            "actor": {"id": "U01ALICE", "name": "alice"},
            "correlation_id": extra.pop("correlation_id", "run-1"),
            "target": server_ref(namespace=tenant),
            "patch_summary": "spec.podSpec.containers[mlserver].resources.requests.memory: 2Gi",
            "detail": detail,
            "data": {"revision": "mlserver-7d9f", "replicas": 3},
            **extra,
        }
    )


def attempt(store: Store, action: str, record_id: str, who: str) -> tuple[str, str, str, str]:
    """One racer's try: (who, 'won'|'lost', error class, message)."""
    actor = Actor(id=who, name=who.lower())
    try:
        if action == "approve":
            store.approvals.approve(record_id, actor)
        elif action == "apply":
            store.approvals.start_applying(record_id, actor, replica_id=who)
        else:
            raise ValueError(action)
    except StoreError as exc:
        return who, "lost", type(exc).__name__, str(exc)
    return who, "won", "", ""


def race_process(url: str, action: str, record_id: str, who: str, ready: Any, go: Any, results: Any) -> None:
    """A second replica: open the store, say ready, wait for the start signal, try once."""
    with Store.open(url, env={}) as store:
        ready.put(who)
        go.wait(60)
        results.put(attempt(store, action, record_id, who))


def append_process(url: str, who: str, count: int, ready: Any, go: Any, results: Any) -> None:
    """A second replica appending to the shared chain."""
    with Store.open(url, env={}) as store:
        ready.put(who)
        go.wait(60)
        from bot.store.clock import system_clock

        for i in range(count):
            store.audit.append(make_event(system_clock(), detail=f"{who} #{i}"))
        results.put(who)
