"""Restart safety: proposals a crash left in APPLYING are reconciled against the cluster, never dropped.

The store cannot know whether the patch reached the API server, so it asks (`reconcile`, provided by
the executor, reads the target object). "applied" completes the record (SUCCEEDED, "completed after
restart"); "not-applied" and "unknown" mark it INTERRUPTED for a human. Each outcome is appended to
the audit log in the same transaction as the state change.

With several replicas, an APPLYING record may belong to a live replica that is applying right now.
Records of another replica are only taken over once their apply is older than `stale_after`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import get_args

from bot.remediation.events import Actor, AuditEvent
from bot.store.approvals import Approvals
from bot.store.clock import Clock
from bot.store.errors import TransitionError
from bot.store.models import ProposalRecord, ReconcileResult, RecoveryItem, RecoveryReport

Reconcile = Callable[[ProposalRecord], ReconcileResult]
RECOVERY_ACTOR = Actor(id="system:recovery", name="seldon-chatops recovery")
DEFAULT_STALE_AFTER = timedelta(minutes=15)
_RESULTS = frozenset(get_args(ReconcileResult))


def recover(
    approvals: Approvals,
    clock: Clock,
    reconcile: Reconcile,
    *,
    replica_id: str | None = None,
    stale_after: timedelta = DEFAULT_STALE_AFTER,
    actor: Actor = RECOVERY_ACTOR,
) -> RecoveryReport:
    """Settle every APPLYING record this replica may settle; report what became of each."""
    report = RecoveryReport()
    for record in approvals.find(states=["APPLYING"]):
        if not _ours(record, clock, replica_id, stale_after):
            report.skipped.append(f"{record.id}: applying on replica {record.replica_id} since {record.applying_at}")
            continue
        result: ReconcileResult = "unknown"
        try:
            answer = reconcile(record)
            reason = "" if answer in _RESULTS else f" (reconcile answered {answer!r})"
            result = answer if answer in _RESULTS else "unknown"
        except Exception as exc:  # the cluster could not be read: that is "unknown", not a reason to stop
            reason = f" (reconcile failed: {type(exc).__name__}: {exc})"
        try:
            item = _settle(approvals, clock, record, result, reason, actor)
        except TransitionError as exc:  # another replica settled it first
            report.skipped.append(f"{record.id}: {exc}")
            continue
        report.items.append(item)
    return report


def _ours(record: ProposalRecord, clock: Clock, replica_id: str | None, stale_after: timedelta) -> bool:
    if replica_id is None or record.replica_id in (None, replica_id):
        return True
    return record.applying_at is None or record.applying_at <= clock() - stale_after


def _settle(
    approvals: Approvals, clock: Clock, record: ProposalRecord, result: ReconcileResult, reason: str, actor: Actor
) -> RecoveryItem:
    if result == "applied":
        detail = "completed after restart: the change is on the cluster"
    elif result == "not-applied":
        detail = "interrupted by a restart: the change is not on the cluster; run it again if still wanted"
    else:
        detail = "interrupted by a restart: whether the change reached the cluster is unknown; check the target"
    detail += reason
    event = AuditEvent(
        time=clock(),
        tenant=record.tenant,
        step="applied" if result == "applied" else "interrupted",
        outcome="ok" if result == "applied" else "failed",
        actor=actor,
        approver=record.decided_by,
        correlation_id=record.correlation_id,
        proposal_id=record.proposal_id,
        target=record.target,
        detail=detail,
        data={"record_id": record.id, "reconcile": result, "replica_id": record.replica_id},
        permalink=None,
    )
    if result == "applied":
        settled = approvals.finish(record.id, "SUCCEEDED", actor, detail=detail, event=event)
    else:
        settled = approvals.interrupt(record.id, actor, detail=detail, event=event)
    return RecoveryItem(
        record_id=record.id,
        tenant=record.tenant,
        proposal_id=record.proposal_id,
        target=record.target,
        reconcile=result,
        state=settled.state,
        detail=detail,
    )
