"""Proposals under approval: a state machine where every transition is one compare-and-set UPDATE.

    PENDING -> APPROVED -> APPLYING -> SUCCEEDED | FAILED | ROLLED_BACK | INTERRUPTED
    PENDING -> REJECTED | EXPIRED

`UPDATE proposals SET state=:to ... WHERE id=:id AND state=:from [AND expires_at > :now]` either
changes one row or none. Two approvers, a double click or two replicas run the same statement: the
database serialises them (SQLite: one writer at a time; PostgreSQL: the second UPDATE waits for the
first's row lock, then re-checks its WHERE clause on the new row), so exactly one sees rowcount 1.
Everyone else reads the row and gets a typed error saying who won. Nothing is read-then-written.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, RowMapping
from sqlalchemy.exc import IntegrityError

from bot.diagnosis.models import ObjectRef, Proposal
from bot.names import validate_namespace
from bot.remediation.events import Actor, AuditEvent
from bot.store.audit import append_in
from bot.store.clock import Clock
from bot.store.db import read_transaction, write_transaction
from bot.store.errors import (
    AlreadyDecided,
    IllegalTransition,
    ProposalExpired,
    SelfApprovalRefused,
    TargetBusy,
    TransitionError,
    UnknownProposal,
)
from bot.store.models import FinalState, ProposalRecord, ProposalState
from bot.store.schema import proposals as t

DEFAULT_TTL = timedelta(minutes=30)
SYSTEM = Actor(id="system:seldon-chatops", name="seldon-chatops")

EDGES: Mapping[str, frozenset[str]] = {
    "PENDING": frozenset({"APPROVED", "REJECTED", "EXPIRED"}),
    "APPROVED": frozenset({"APPLYING"}),
    "APPLYING": frozenset({"SUCCEEDED", "FAILED", "ROLLED_BACK", "INTERRUPTED"}),
}


def reachable(state: str) -> frozenset[str]:
    """Every state a record in `state` can end up in (itself included)."""
    seen, todo = {state}, [state]
    while todo:
        for nxt in EDGES.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return frozenset(seen)


def _actor(row: RowMapping, prefix: str) -> Actor | None:
    actor_id = row[f"{prefix}_id"]
    return Actor(id=actor_id, name=row[f"{prefix}_name"] or "") if actor_id else None


def to_record(row: RowMapping) -> ProposalRecord:
    changed_by = _actor(row, "changed_by")
    requester = _actor(row, "requester")
    assert changed_by is not None and requester is not None
    return ProposalRecord(
        id=row["id"],
        tenant=row["tenant"],
        proposal_id=row["proposal_id"],
        correlation_id=row["correlation_id"],
        state=row["state"],
        target=ObjectRef(
            kind=row["target_kind"],
            namespace=row["target_namespace"] or None,
            name=row["target_name"],
            api_version=row["target_api_version"],
        ),
        target_resource_version=row["target_resource_version"],
        patch_type=row["patch_type"],
        patch=row["patch"],
        proposal=Proposal.model_validate(row["document"]),
        requester=requester,
        requested_at=row["requested_at"],
        expires_at=row["expires_at"],
        decided_by=_actor(row, "decided_by"),
        decided_at=row["decided_at"],
        decision_note=row["decision_note"],
        applying_by=_actor(row, "applying_by"),
        applying_at=row["applying_at"],
        replica_id=row["replica_id"],
        finished_at=row["finished_at"],
        result_detail=row["result_detail"],
        changed_by=changed_by,
        changed_at=row["changed_at"],
        version=row["version"],
    )


class Approvals:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def request(
        self,
        proposal: Proposal,
        *,
        tenant: str,
        requester: Actor,
        correlation_id: str,
        ttl: timedelta = DEFAULT_TTL,
        record_id: str | None = None,
        event: AuditEvent | None = None,
    ) -> ProposalRecord:
        """A new PENDING record. Proposal ids are stable across runs, so each request gets its own record id."""
        validate_namespace(tenant)
        if ttl <= timedelta(0):
            raise ValueError(f"ttl must be positive, not {ttl}")
        now = self._clock()
        values: dict[str, Any] = {
            "id": record_id or uuid.uuid4().hex,
            "tenant": tenant,
            "proposal_id": proposal.id,
            "finding_id": proposal.finding_id,
            "correlation_id": correlation_id,
            "title": proposal.title,
            "action": proposal.action,
            "target_kind": proposal.target.kind,
            "target_namespace": proposal.target.namespace or "",
            "target_name": proposal.target.name,
            "target_api_version": proposal.target.api_version,
            "target_resource_version": proposal.target_resource_version,
            "patch_type": proposal.patch_type,
            "patch": proposal.patch,
            "document": proposal.model_dump(mode="json"),
            "state": "PENDING",
            "requester_id": requester.id,
            "requester_name": requester.name,
            "requested_at": now,
            "expires_at": now + ttl,
            "changed_by_id": requester.id,
            "changed_by_name": requester.name,
            "changed_at": now,
            "version": 1,
        }
        with write_transaction(self._engine) as conn:
            conn.execute(sa.insert(t).values(values))
            if event is not None:
                append_in(conn, [event], now)
            return to_record(conn.execute(sa.select(t).where(t.c.id == values["id"])).mappings().one())

    def get(self, record_id: str) -> ProposalRecord:
        with read_transaction(self._engine) as conn:
            row = conn.execute(sa.select(t).where(t.c.id == record_id)).mappings().first()
        if row is None:
            raise UnknownProposal(record_id)
        return to_record(row)

    def find(self, *, tenant: str | None = None, states: Iterable[ProposalState] | None = None) -> list[ProposalRecord]:
        stmt = sa.select(t).order_by(t.c.requested_at, t.c.id)
        if tenant is not None:
            stmt = stmt.where(t.c.tenant == tenant)
        if states is not None:
            stmt = stmt.where(t.c.state.in_(list(states)))
        with read_transaction(self._engine) as conn:
            return [to_record(row) for row in conn.execute(stmt).mappings()]

    def approve(
        self,
        record_id: str,
        approver: Actor,
        *,
        allow_self_approval: bool = False,
        note: str | None = None,
        event: AuditEvent | None = None,
    ) -> ProposalRecord:
        """PENDING -> APPROVED, before expiry, and not by the requester unless the deployment allows it."""
        now = self._clock()
        values = {
            "decided_by_id": approver.id,
            "decided_by_name": approver.name,
            "decided_at": now,
            "decision_note": note,
        }
        guard = None if allow_self_approval else t.c.requester_id != approver.id
        return self._transition(record_id, "PENDING", "APPROVED", approver, now, values, guard=guard, event=event)

    def reject(
        self, record_id: str, decider: Actor, *, reason: str = "", event: AuditEvent | None = None
    ) -> ProposalRecord:
        """PENDING -> REJECTED (the requester may withdraw their own proposal)."""
        now = self._clock()
        values = {
            "decided_by_id": decider.id,
            "decided_by_name": decider.name,
            "decided_at": now,
            "decision_note": reason,
        }
        return self._transition(record_id, "PENDING", "REJECTED", decider, now, values, event=event)

    def start_applying(
        self, record_id: str, actor: Actor, *, replica_id: str | None = None, event: AuditEvent | None = None
    ) -> ProposalRecord:
        """APPROVED -> APPLYING: the one winner may patch the cluster. `replica_id` names the process doing it."""
        now = self._clock()
        values = {
            "applying_by_id": actor.id,
            "applying_by_name": actor.name,
            "applying_at": now,
            "replica_id": replica_id,
        }
        try:
            return self._transition(record_id, "APPROVED", "APPLYING", actor, now, values, event=event)
        except IntegrityError as exc:  # uq_proposals_applying_target: another record is APPLYING to this object
            record = self.get(record_id)
            raise TargetBusy(record_id=record_id, target=str(record.target)) from exc

    def finish(
        self, record_id: str, state: FinalState, actor: Actor, *, detail: str = "", event: AuditEvent | None = None
    ) -> ProposalRecord:
        """APPLYING -> SUCCEEDED | FAILED | ROLLED_BACK, with what the executor saw."""
        if state not in ("SUCCEEDED", "FAILED", "ROLLED_BACK"):
            raise IllegalTransition(record_id=record_id, state="APPLYING", target=state)
        now = self._clock()
        values = {"finished_at": now, "result_detail": detail}
        return self._transition(record_id, "APPLYING", state, actor, now, values, event=event)

    def interrupt(
        self, record_id: str, actor: Actor, *, detail: str = "", event: AuditEvent | None = None
    ) -> ProposalRecord:
        """APPLYING -> INTERRUPTED: the apply stopped half-way (a crash) and nobody knows it finished."""
        now = self._clock()
        values = {"finished_at": now, "result_detail": detail}
        return self._transition(record_id, "APPLYING", "INTERRUPTED", actor, now, values, event=event)

    def expire_due(self, actor: Actor = SYSTEM) -> list[ProposalRecord]:
        """PENDING records past their expiry -> EXPIRED, each with an `expired` audit event (nobody else emits one)."""
        now = self._clock()
        with read_transaction(self._engine) as conn:
            due = (
                conn.execute(
                    sa.select(t.c.id).where(t.c.state == "PENDING", t.c.expires_at <= now).order_by(t.c.expires_at)
                )
                .scalars()
                .all()
            )
        expired = []
        for record_id in due:
            record = self.get(record_id)
            event = AuditEvent(
                time=now,
                tenant=record.tenant,
                step="expired",
                outcome="timeout",
                actor=actor,
                correlation_id=record.correlation_id,
                proposal_id=record.proposal_id,
                target=record.target,
                detail=f"proposal {record_id} expired at {record.expires_at.isoformat()} without a decision",
                data={"record_id": record_id},
                permalink=None,
            )
            values = {"decided_by_id": actor.id, "decided_by_name": actor.name, "decided_at": now}
            expiry = t.c.expires_at <= now
            try:
                record = self._transition(
                    record_id, "PENDING", "EXPIRED", actor, now, values, guard=expiry, check_expiry=False, event=event
                )
            except TransitionError:
                continue  # decided (or expired by another replica) since the SELECT
            expired.append(record)
        return expired

    def _transition(
        self,
        record_id: str,
        source: str,
        target: str,
        actor: Actor,
        now: datetime,
        values: Mapping[str, Any],
        *,
        guard: sa.ColumnElement[bool] | None = None,
        check_expiry: bool | None = None,
        event: AuditEvent | None = None,
    ) -> ProposalRecord:
        """The compare-and-set. On rowcount 0 the row is read once to say why; nothing was written."""
        check_expiry = source == "PENDING" if check_expiry is None else check_expiry
        where = [t.c.id == record_id, t.c.state == source]
        if check_expiry:
            where.append(t.c.expires_at > now)
        if guard is not None:
            where.append(guard)
        update = (
            sa.update(t)
            .where(*where)
            .values(
                state=target,
                changed_by_id=actor.id,
                changed_by_name=actor.name,
                changed_at=now,
                version=t.c.version + 1,
                **values,
            )
        )
        with write_transaction(self._engine) as conn:
            if conn.execute(update).rowcount == 1:
                if event is not None:
                    append_in(conn, [event], now)
                return to_record(conn.execute(sa.select(t).where(t.c.id == record_id)).mappings().one())
            row = conn.execute(sa.select(t).where(t.c.id == record_id)).mappings().first()
        raise _refusal(record_id, row, source, target, actor, now)


def _refusal(
    record_id: str, row: RowMapping | None, source: str, target: str, actor: Actor, now: datetime
) -> Exception:
    """Why the compare-and-set changed nothing: the record is missing, someone won, or the edge is not there."""
    if row is None:
        return UnknownProposal(record_id)
    state = row["state"]
    if state == source:  # still in the source state: the expiry or the self-approval guard refused it
        if source == "PENDING" and row["expires_at"] <= now:
            return ProposalExpired(record_id=record_id, expired_at=row["expires_at"])
        if target == "APPROVED" and row["requester_id"] == actor.id:
            return SelfApprovalRefused(record_id=record_id, actor=str(actor))
    elif state in reachable(source):
        by = _actor(row, "changed_by")
        return AlreadyDecided(record_id=record_id, state=state, by=str(by), at=row["changed_at"])
    return IllegalTransition(record_id=record_id, state=state, target=target)
