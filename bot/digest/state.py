"""What digests keep in the store beyond the claim: Slack-set schedules and the findings each digest showed.

The claim itself (`store.digests.claim_digest_slot`) is the idempotency key and stays in the store
package. This module adds the reads the runner needs in bulk (which due slots are still open, in one
query instead of one per tenant) and the two digest tables of migration 0002.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from bot.diagnosis.models import Finding, Severity
from bot.remediation.events import Actor
from bot.store.clock import Clock, as_utc
from bot.store.db import is_postgres, read_transaction, write_transaction
from bot.store.digests import DEFAULT_LEASE
from bot.store.schema import digest_baselines, digest_runs, digest_schedules


class Due(NamedTuple):
    """One digest owed: a tenant and the scheduled slot it is for (the idempotency key)."""

    tenant: str
    slot: datetime


class ScheduleOverride(BaseModel):
    """A schedule set from Slack. `enabled=False` is `/seldon digest <ns> off`."""

    tenant: str
    enabled: bool
    cron: str | None = None
    timezone: str | None = None
    channel: str | None = None
    updated_by: Actor
    updated_at: datetime


class FindingRef(BaseModel):
    """Enough of a finding to say later that it was resolved."""

    id: str
    severity: Severity
    summary: str

    @classmethod
    def of(cls, finding: Finding) -> FindingRef:
        return cls(id=finding.id, severity=finding.severity, summary=finding.summary)


class Baseline(BaseModel):
    """The previous posted digest of a tenant: when, and what it showed."""

    slot: datetime
    posted_at: datetime | None
    findings: list[FindingRef]


class DigestState:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    # -- schedules set from Slack ---------------------------------------------------------------

    def set_schedule(
        self,
        tenant: str,
        actor: Actor,
        *,
        cron: str | None = None,
        timezone: str | None = None,
        channel: str | None = None,
        enabled: bool = True,
    ) -> ScheduleOverride:
        row = {
            "tenant": tenant,
            "enabled": enabled,
            "cron": cron,
            "timezone": timezone,
            "channel": channel,
            "updated_by_id": actor.id,
            "updated_by_name": actor.name,
            "updated_at": self._clock(),
        }
        with write_transaction(self._engine) as conn:
            dialect = postgresql if is_postgres(conn) else sqlite
            stmt = dialect.insert(digest_schedules).values(row)
            stmt = stmt.on_conflict_do_update(
                index_elements=["tenant"], set_={k: stmt.excluded[k] for k in row if k != "tenant"}
            )
            conn.execute(stmt)
        return _override(row)

    def overrides(self) -> dict[str, ScheduleOverride]:
        with read_transaction(self._engine) as conn:
            rows = conn.execute(sa.select(digest_schedules)).mappings().all()
        return {row["tenant"]: _override(dict(row)) for row in rows}

    # -- slots ------------------------------------------------------------------------------------

    def open_slots(self, due: Sequence[Due], *, lease: timedelta = DEFAULT_LEASE) -> list[Due]:
        """The due slots nobody posted and nobody is posting (no claim younger than the lease).

        A read before the round, so that a replica does not collect tenants whose digest is done;
        the claim after it is what decides.
        """
        if not due:
            return []
        fresh = self._clock() - lease
        keys = {(d.tenant, as_utc(d.slot)) for d in due}
        stmt = sa.select(digest_runs.c.tenant, digest_runs.c.slot_start).where(
            digest_runs.c.tenant.in_(sorted({d.tenant for d in due})),
            digest_runs.c.slot_start.in_(sorted({as_utc(d.slot) for d in due})),
            sa.or_(digest_runs.c.posted_at.is_not(None), digest_runs.c.claimed_at >= fresh),
        )
        with read_transaction(self._engine) as conn:
            closed = {(row.tenant, as_utc(row.slot_start)) for row in conn.execute(stmt)}
        return [d for d in due if (d.tenant, as_utc(d.slot)) in keys - closed]

    # -- baselines -----------------------------------------------------------------------------------

    def record_baseline(self, due: Due, findings: Sequence[FindingRef]) -> None:
        doc = json.dumps([f.model_dump() for f in findings], sort_keys=True, separators=(",", ":"))
        row = {"tenant": due.tenant, "slot_start": as_utc(due.slot), "findings": doc, "recorded_at": self._clock()}
        with write_transaction(self._engine) as conn:
            dialect = postgresql if is_postgres(conn) else sqlite
            stmt = dialect.insert(digest_baselines).values(row)
            conn.execute(stmt.on_conflict_do_nothing(index_elements=["tenant", "slot_start"]))

    def previous(self, tenant: str, before: datetime) -> Baseline | None:
        """The last digest posted for the tenant before `before`, with what it showed."""
        stmt = (
            sa.select(digest_baselines.c.slot_start, digest_baselines.c.findings, digest_runs.c.posted_at)
            .select_from(
                digest_baselines.outerjoin(
                    digest_runs,
                    sa.and_(
                        digest_runs.c.tenant == digest_baselines.c.tenant,
                        digest_runs.c.slot_start == digest_baselines.c.slot_start,
                    ),
                )
            )
            .where(digest_baselines.c.tenant == tenant, digest_baselines.c.slot_start < as_utc(before))
            .order_by(digest_baselines.c.slot_start.desc())
            .limit(1)
        )
        with read_transaction(self._engine) as conn:
            row = conn.execute(stmt).first()
        if row is None:
            return None
        findings = [FindingRef.model_validate(f) for f in json.loads(row.findings)]
        return Baseline(slot=as_utc(row.slot_start), posted_at=row.posted_at, findings=findings)


def _override(row: dict[str, Any]) -> ScheduleOverride:
    return ScheduleOverride(
        tenant=row["tenant"],
        enabled=bool(row["enabled"]),
        cron=row["cron"],
        timezone=row["timezone"],
        channel=row["channel"],
        updated_by=Actor(id=row["updated_by_id"], name=row["updated_by_name"]),
        updated_at=as_utc(row["updated_at"]),
    )
