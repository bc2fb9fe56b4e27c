"""The approval state machine: legal paths, who/when recorded, and typed refusals that change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from clocks import FakeClock
from store_support import make_event, make_proposal

from bot.remediation.events import Actor
from bot.store import (
    DEFAULT_TTL,
    AlreadyDecided,
    IllegalTransition,
    ProposalExpired,
    ProposalRecord,
    SelfApprovalRefused,
    Store,
    TargetBusy,
    UnknownProposal,
)
from bot.store.approvals import EDGES, reachable

ALICE = Actor(id="U01ALICE", name="alice")
BOB = Actor(id="U02BOB", name="bob")
CAROL = Actor(id="U03CAROL", name="carol")
BOT = Actor(id="bot:replica-a", name="seldon-chatops")


def _request(store: Store, name: str = "mlserver", **kwargs: object) -> ProposalRecord:
    return store.approvals.request(
        make_proposal(name), tenant="risk-ml", requester=ALICE, correlation_id="run-1", **kwargs
    )


def _unchanged(store: Store, before: ProposalRecord) -> None:
    assert store.approvals.get(before.id) == before


def test_request_stores_the_proposal_target_patch_and_expiry(store: Store, clock: FakeClock) -> None:
    record = _request(store)
    proposal = make_proposal()
    assert record.state == "PENDING" and record.version == 1
    assert record.proposal == proposal
    assert (record.target, record.target_resource_version) == (proposal.target, "4242")
    assert (record.patch_type, record.patch) == ("merge", proposal.patch)
    assert record.requester == ALICE and record.requested_at == clock()
    assert record.expires_at == clock() + DEFAULT_TTL == clock() + timedelta(minutes=30)
    assert store.approvals.get(record.id) == record
    assert [r.id for r in store.approvals.find(tenant="risk-ml", states=["PENDING"])] == [record.id]


def test_happy_path_records_who_and_when(store: Store, clock: FakeClock) -> None:
    record = _request(store)
    clock.advance(timedelta(minutes=5))
    approved = store.approvals.approve(record.id, BOB, note="LGTM")
    assert (approved.state, approved.decided_by, approved.decided_at, approved.decision_note) == (
        "APPROVED",
        BOB,
        clock(),
        "LGTM",
    )
    clock.advance(timedelta(seconds=3))
    applying = store.approvals.start_applying(record.id, BOT, replica_id="replica-a")
    assert (applying.state, applying.applying_by, applying.replica_id) == ("APPLYING", BOT, "replica-a")
    clock.advance(timedelta(seconds=40))
    done = store.approvals.finish(record.id, "SUCCEEDED", BOT, detail="verified: capacity 2Gi")
    assert (done.state, done.finished_at, done.result_detail, done.version) == (
        "SUCCEEDED",
        clock(),
        "verified: capacity 2Gi",
        4,
    )
    assert (done.changed_by, done.decided_by) == (BOT, BOB)


@pytest.mark.parametrize("final", ["FAILED", "ROLLED_BACK"])
def test_other_final_states(store: Store, final: str) -> None:
    record = _request(store)
    store.approvals.approve(record.id, BOB)
    store.approvals.start_applying(record.id, BOT)
    assert store.approvals.finish(record.id, final, BOT, detail="rollout timed out").state == final  # type: ignore[arg-type]


def test_reject_and_then_nothing_else(store: Store) -> None:
    record = _request(store)
    rejected = store.approvals.reject(record.id, CAROL, reason="not during the freeze")
    assert (rejected.state, rejected.decided_by, rejected.decision_note) == ("REJECTED", CAROL, "not during the freeze")
    with pytest.raises(AlreadyDecided, match=r"already decided by carol \(U03CAROL\) at .* UTC \(REJECTED\)"):
        store.approvals.approve(record.id, BOB)
    with pytest.raises(IllegalTransition, match="is REJECTED: it cannot become APPLYING"):
        store.approvals.start_applying(record.id, BOT)
    _unchanged(store, rejected)


def test_the_requester_may_withdraw(store: Store) -> None:
    assert store.approvals.reject(_request(store).id, ALICE).state == "REJECTED"


def test_self_approval_is_refused_unless_allowed(store: Store) -> None:
    record = _request(store)
    with pytest.raises(SelfApprovalRefused, match=r"alice \(U01ALICE\) requested proposal .* may not approve it"):
        store.approvals.approve(record.id, ALICE)
    _unchanged(store, record)
    assert store.approvals.approve(record.id, ALICE, allow_self_approval=True).decided_by == ALICE


def test_expired_proposal_cannot_be_decided(store: Store, clock: FakeClock) -> None:
    record = _request(store, ttl=timedelta(minutes=10))
    clock.advance(timedelta(minutes=10))  # expiry is exclusive: at expires_at it is over
    with pytest.raises(ProposalExpired, match=r"expired at .*: run the diagnosis again"):
        store.approvals.approve(record.id, BOB)
    with pytest.raises(ProposalExpired):
        store.approvals.reject(record.id, BOB)
    _unchanged(store, record)


def test_expire_due_moves_overdue_proposals_and_audits_them(store: Store, clock: FakeClock) -> None:
    old = _request(store, "old", ttl=timedelta(minutes=5))
    fresh = _request(store, "fresh", ttl=timedelta(hours=1))
    decided = _request(store, "decided", ttl=timedelta(minutes=5))
    store.approvals.approve(decided.id, BOB)
    clock.advance(timedelta(minutes=6))
    expired = store.approvals.expire_due()
    assert [r.id for r in expired] == [old.id] and expired[0].state == "EXPIRED"
    assert store.approvals.get(fresh.id).state == "PENDING"
    assert store.approvals.expire_due() == []
    (event,) = store.audit.query("risk-ml")
    assert (event.step, event.outcome, event.data["record_id"]) == ("expired", "timeout", old.id)
    with pytest.raises(AlreadyDecided, match=r"\(EXPIRED\)"):
        store.approvals.approve(old.id, BOB)


def test_unknown_proposal(store: Store) -> None:
    with pytest.raises(UnknownProposal, match="unknown proposal 'nope'"):
        store.approvals.approve("nope", BOB)
    with pytest.raises(UnknownProposal):
        store.approvals.get("nope")
    with pytest.raises(UnknownProposal):
        store.approvals.finish("nope", "FAILED", BOT)


@pytest.mark.parametrize(
    ("path", "attempt", "error"),
    [
        ([], "apply", IllegalTransition),  # PENDING -> APPLYING skips the approval
        ([], "finish", IllegalTransition),
        (["approve"], "approve", AlreadyDecided),
        (["approve"], "reject", AlreadyDecided),
        (["approve"], "interrupt", IllegalTransition),
        (["approve", "apply"], "apply", AlreadyDecided),
        (["approve", "apply", "finish"], "interrupt", AlreadyDecided),  # finish won the race
        (["approve", "apply", "finish"], "approve", AlreadyDecided),
        (["reject"], "apply", IllegalTransition),
        (["reject"], "finish", IllegalTransition),
    ],
)
def test_refused_transitions_change_nothing(store: Store, path: list[str], attempt: str, error: type) -> None:
    record = _request(store)
    steps = {
        "approve": lambda: store.approvals.approve(record.id, BOB),
        "reject": lambda: store.approvals.reject(record.id, BOB),
        "apply": lambda: store.approvals.start_applying(record.id, BOT),
        "finish": lambda: store.approvals.finish(record.id, "SUCCEEDED", BOT),
        "interrupt": lambda: store.approvals.interrupt(record.id, BOT),
    }
    for step in path:
        steps[step]()
    before = store.approvals.get(record.id)
    with pytest.raises(error):
        steps[attempt]()
    _unchanged(store, before)
    assert store.audit.query("risk-ml") == []


def test_finish_only_takes_final_states(store: Store) -> None:
    record = _request(store)
    with pytest.raises(IllegalTransition):
        store.approvals.finish(record.id, "APPROVED", BOT)  # type: ignore[arg-type]
    _unchanged(store, record)


def test_one_applying_per_target_object(store: Store) -> None:
    first, second = _request(store), _request(store)
    for record in (first, second):
        store.approvals.approve(record.id, BOB)
    store.approvals.start_applying(first.id, BOT)
    before = store.approvals.get(second.id)
    with pytest.raises(TargetBusy, match="another proposal is applying to Server risk-ml/mlserver"):
        store.approvals.start_applying(second.id, BOT)
    _unchanged(store, before)
    store.approvals.finish(first.id, "SUCCEEDED", BOT)
    assert store.approvals.start_applying(second.id, BOT).state == "APPLYING"


def test_transition_event_is_appended_only_by_the_winner(store: Store, clock: FakeClock) -> None:
    record = _request(store, event=make_event(clock(), step="requested"))
    store.approvals.approve(record.id, BOB, event=make_event(clock(), step="approved", approver=BOB.model_dump()))
    with pytest.raises(AlreadyDecided):
        store.approvals.approve(record.id, CAROL, event=make_event(clock(), step="approved"))
    assert [e.step for e in store.audit.query("risk-ml")] == ["requested", "approved"]
    assert store.verify().ok


def test_the_state_machine_matches_the_spec() -> None:
    assert {s: sorted(t) for s, t in EDGES.items()} == {
        "PENDING": ["APPROVED", "EXPIRED", "REJECTED"],
        "APPROVED": ["APPLYING"],
        "APPLYING": ["FAILED", "INTERRUPTED", "ROLLED_BACK", "SUCCEEDED"],
    }
    assert "REJECTED" not in reachable("APPROVED") and "SUCCEEDED" in reachable("PENDING")


def test_bad_request_input(store: Store) -> None:
    with pytest.raises(ValueError, match="ttl must be positive"):
        _request(store, ttl=timedelta(0))
    from bot.errors import InputError

    with pytest.raises(InputError, match="invalid namespace"):
        store.approvals.request(make_proposal(), tenant="Bad_NS", requester=ALICE, correlation_id="r")
    assert store.approvals.find() == []
