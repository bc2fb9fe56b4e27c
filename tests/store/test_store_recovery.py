"""Restart safety: APPLYING records are reconciled, settled, audited and reported; none is lost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from clocks import FakeClock
from store_support import make_proposal

from bot.remediation.events import Actor
from bot.store import ProposalRecord, ReconcileResult, Store

BOB = Actor(id="U02BOB", name="bob")
BOT = Actor(id="bot:a", name="seldon-chatops")


def _applying(store: Store, name: str, replica: str | None = "replica-a") -> ProposalRecord:
    record = store.approvals.request(
        make_proposal(name), tenant="risk-ml", requester=Actor(id="U01ALICE"), correlation_id=f"run-{name}"
    )
    store.approvals.approve(record.id, BOB)
    return store.approvals.start_applying(record.id, BOT, replica_id=replica)


def test_recover_settles_each_record_by_what_the_cluster_says(store: Store) -> None:
    applied, not_applied, unknown, failing = (_applying(store, n) for n in ("a", "b", "c", "d"))
    untouched = store.approvals.request(
        make_proposal("e"), tenant="risk-ml", requester=Actor(id="U01ALICE"), correlation_id="run-e"
    )
    answers: dict[str, ReconcileResult] = {applied.id: "applied", not_applied.id: "not-applied", unknown.id: "unknown"}
    seen: list[str] = []

    def reconcile(record: ProposalRecord) -> ReconcileResult:
        seen.append(record.id)
        if record.id == failing.id:
            raise ConnectionError("API server unreachable")
        return answers[record.id]

    report = store.recover(reconcile)
    assert sorted(seen) == sorted([applied.id, not_applied.id, unknown.id, failing.id])
    states = {item.record_id: (item.reconcile, item.state) for item in report.items}
    assert states == {
        applied.id: ("applied", "SUCCEEDED"),
        not_applied.id: ("not-applied", "INTERRUPTED"),
        unknown.id: ("unknown", "INTERRUPTED"),
        failing.id: ("unknown", "INTERRUPTED"),
    }
    assert report.skipped == []
    done = store.approvals.get(applied.id)
    assert (done.state, done.result_detail) == ("SUCCEEDED", "completed after restart: the change is on the cluster")
    assert "reconcile failed: ConnectionError: API server unreachable" in (
        store.approvals.get(failing.id).result_detail or ""
    )
    assert store.approvals.get(untouched.id).state == "PENDING"
    events = {e.data["record_id"]: e for e in store.audit.query("risk-ml")}
    assert set(events) == {applied.id, not_applied.id, unknown.id, failing.id}
    assert (events[applied.id].step, events[applied.id].outcome) == ("applied", "ok")
    assert (events[not_applied.id].step, events[not_applied.id].approver) == ("interrupted", BOB)
    assert store.verify().ok
    assert store.recover(reconcile).items == []  # nothing left in APPLYING


def test_recover_leaves_a_live_replicas_apply_alone_until_stale(store: Store, clock: FakeClock) -> None:
    mine, theirs, legacy = (
        _applying(store, "a", "replica-a"),
        _applying(store, "b", "replica-b"),
        _applying(store, "c", None),
    )
    report = store.recover(lambda _: "not-applied", replica_id="replica-a", stale_after=timedelta(minutes=15))
    assert {i.record_id for i in report.items} == {mine.id, legacy.id}
    assert len(report.skipped) == 1 and report.skipped[0].startswith(f"{theirs.id}: applying on replica replica-b")
    assert store.approvals.get(theirs.id).state == "APPLYING"
    clock.advance(timedelta(minutes=15))
    report = store.recover(lambda _: "applied", replica_id="replica-a", stale_after=timedelta(minutes=15))
    assert [(i.record_id, i.state) for i in report.items] == [(theirs.id, "SUCCEEDED")]


@pytest.mark.parametrize("answer", ["yes", None])
def test_a_nonsense_answer_counts_as_unknown(store: Store, answer: object) -> None:
    record = _applying(store, "a")
    report = store.recover(lambda _: answer)  # type: ignore[arg-type,return-value]
    assert [(i.reconcile, i.state) for i in report.items] == [("unknown", "INTERRUPTED")]
    assert f"reconcile answered {answer!r}" in (store.approvals.get(record.id).result_detail or "")
