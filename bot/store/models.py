"""Records the store hands out: pydantic models, so callers never see rows or SQL types."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from bot.diagnosis.models import ObjectRef, Proposal
from bot.remediation.events import Actor, AuditEvent

ProposalState = Literal[
    "PENDING", "APPROVED", "REJECTED", "EXPIRED", "APPLYING", "SUCCEEDED", "FAILED", "ROLLED_BACK", "INTERRUPTED"
]
FinalState = Literal["SUCCEEDED", "FAILED", "ROLLED_BACK"]
ReconcileResult = Literal["applied", "not-applied", "unknown"]


class AuditRecord(AuditEvent):
    """An event as stored: its place in the chain and the hashes that seal it."""

    id: int
    recorded_at: datetime
    prev_hash: str
    hash: str


class BrokenRow(BaseModel):
    id: int
    time: datetime | None = Field(default=None, description="the row's event time, when the row exists")
    problem: Literal["edited", "deleted", "reordered", "inserted"]
    message: str


class VerifyResult(BaseModel):
    ok: bool
    rows: int = Field(description="rows checked before the first break (all rows when ok)")
    last_id: int
    broken: BrokenRow | None = None


class ProposalRecord(BaseModel):
    """A proposal under approval: who asked, who decided, and where it is in the state machine."""

    id: str
    tenant: str
    proposal_id: str
    correlation_id: str
    state: ProposalState
    target: ObjectRef
    target_resource_version: str | None
    patch_type: str
    patch: Any
    proposal: Proposal
    requester: Actor
    requested_at: datetime
    expires_at: datetime
    decided_by: Actor | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    applying_by: Actor | None = None
    applying_at: datetime | None = None
    replica_id: str | None = None
    finished_at: datetime | None = None
    result_detail: str | None = None
    changed_by: Actor
    changed_at: datetime
    version: int


class RecoveryItem(BaseModel):
    record_id: str
    tenant: str
    proposal_id: str
    target: ObjectRef
    reconcile: ReconcileResult
    state: ProposalState = Field(description="the state the record was left in")
    detail: str


class RecoveryReport(BaseModel):
    items: list[RecoveryItem] = Field(default_factory=list)
    skipped: list[str] = Field(
        default_factory=list, description="APPLYING records left alone: another live replica may own them"
    )


class DigestRun(BaseModel):
    tenant: str
    slot_start: datetime
    replica_id: str
    claimed_at: datetime
    channel: str | None = None
    message_ts: str | None = None
    posted_at: datetime | None = None


class SlackMessageRef(BaseModel):
    kind: str = Field(description="what the message shows: proposal, run, digest")
    key: str = Field(description="proposal record id, correlation id, ...")
    channel: str
    ts: str
    thread_ts: str | None = None
    updated_at: datetime
