"""Audit events: every step of a remediation, as one typed record.

The executor emits them, the store persists them (the system of record), Slack and the terminal
render them. Nobody formats an audit message from scratch. Events carry no secret values: patches
are summarised, not copied.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from bot.diagnosis.models import ObjectRef

Step = Literal[
    "requested",
    "approved",
    "rejected",
    "expired",
    "preflight",
    "dry-run",
    "applied",
    "rollout",
    "verified",
    "rolled-back",
    "failed",
    "interrupted",
]
Outcome = Literal["ok", "denied", "conflict", "failed", "in-progress", "fixed", "not-fixed", "timeout"]


class Actor(BaseModel):
    """Who acted: a Slack user (id + display name) or a terminal user (`cli:<login>`)."""

    id: str
    name: str = ""

    def __str__(self) -> str:
        return f"{self.name} ({self.id})" if self.name else self.id


class AuditEvent(BaseModel):
    time: datetime
    tenant: str = Field(description="the tenant namespace")
    step: Step
    outcome: Outcome
    actor: Actor
    approver: Actor | None = None
    correlation_id: str = Field(description="one remediation run: every event of a run shares it")
    proposal_id: str | None = None
    target: ObjectRef | None = None
    patch_summary: str = ""
    detail: str = ""
    duration_ms: int | None = None
    data: dict[str, Any] = Field(default_factory=dict, description="step facts: revisions, replicas, evidence")
    permalink: str | None = Field(None, description="Slack message of the run, when known")


class AuditSink(Protocol):
    """Where events go: the store, a Slack thread, the terminal. The executor only knows this."""

    def emit(self, event: AuditEvent) -> None: ...


class CollectingSink:
    """Keeps events in memory: for the CLI's summary and for tests."""

    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def emit(self, event: AuditEvent) -> None:
        self.events.append(event)


class FanOut:
    """Sends each event to several sinks (store, Slack thread, audit channel)."""

    def __init__(self, *sinks: AuditSink) -> None:
        self.sinks = sinks

    def emit(self, event: AuditEvent) -> None:
        for sink in self.sinks:
            sink.emit(event)
