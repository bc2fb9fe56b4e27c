"""Tables (SQLAlchemy Core). The migrations in `bot/store/migrations/versions/` create exactly these.

Portable types only (no JSONB, no native enums) so that one migration serves SQLite and PostgreSQL;
states are checked by CHECK constraints instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from bot.store.clock import as_utc

GENESIS_HASH = "0" * 64
"""prev_hash of the first audit row, and last_hash of the chain head while the log is empty."""

PROPOSAL_STATES = (
    "PENDING",
    "APPROVED",
    "REJECTED",
    "EXPIRED",
    "APPLYING",
    "SUCCEEDED",
    "FAILED",
    "ROLLED_BACK",
    "INTERRUPTED",
)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out, on both backends.

    SQLite has no time zones: values are stored as naive UTC in SQLAlchemy's fixed-width text form,
    which sorts and compares correctly. PostgreSQL stores timestamptz.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    # Assigned by the appender as head+1 under the chain lock (not a sequence): ids have no gaps,
    # so a gap means a deleted row.
    # INTEGER on SQLite makes it the rowid: the table is stored in chain order.
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=False),
    sa.Column("time", UTCDateTime, nullable=False),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
    sa.Column("tenant", sa.String(63), nullable=False),
    sa.Column("step", sa.String(32), nullable=False),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("actor_id", sa.String(255), nullable=False),
    sa.Column("actor_name", sa.String(255), nullable=False),
    sa.Column("approver_id", sa.String(255)),
    sa.Column("approver_name", sa.String(255)),
    sa.Column("correlation_id", sa.String(255), nullable=False),
    sa.Column("proposal_id", sa.String(255)),
    sa.Column("target_kind", sa.String(255)),
    sa.Column("target_namespace", sa.String(255)),
    sa.Column("target_name", sa.String(255)),
    sa.Column("target_api_version", sa.String(255)),
    sa.Column("patch_summary", sa.Text, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("duration_ms", sa.BigInteger),
    # Canonical JSON text, not a JSON type: the hash covers these exact bytes, and JSONB would re-format them.
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("permalink", sa.Text),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False, unique=True),
    sa.Index("ix_audit_log_tenant_time", "tenant", "time"),
    sa.Index("ix_audit_log_correlation_id", "correlation_id"),
    sa.Index("ix_audit_log_proposal_id", "proposal_id"),
)

audit_chain = sa.Table(
    "audit_chain",
    metadata,
    # One row: the lock every append takes, and the witness of the last row (tail deletions show).
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("last_id", sa.BigInteger, nullable=False),
    sa.Column("last_hash", sa.String(64), nullable=False),
    sa.CheckConstraint("id = 1", name="singleton"),
)

proposals = sa.Table(
    "proposals",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("tenant", sa.String(63), nullable=False),
    sa.Column("proposal_id", sa.String(255), nullable=False),
    sa.Column("finding_id", sa.String(255), nullable=False),
    sa.Column("correlation_id", sa.String(255), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("target_kind", sa.String(255), nullable=False),
    sa.Column("target_namespace", sa.String(255), nullable=False),  # '' for cluster-scoped objects
    sa.Column("target_name", sa.String(255), nullable=False),
    sa.Column("target_api_version", sa.String(255)),
    sa.Column("target_resource_version", sa.String(64)),
    sa.Column("patch_type", sa.String(8), nullable=False),
    sa.Column("patch", sa.JSON),
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("requester_id", sa.String(255), nullable=False),
    sa.Column("requester_name", sa.String(255), nullable=False),
    sa.Column("requested_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("decided_by_id", sa.String(255)),
    sa.Column("decided_by_name", sa.String(255)),
    sa.Column("decided_at", UTCDateTime),
    sa.Column("decision_note", sa.Text),
    sa.Column("applying_by_id", sa.String(255)),
    sa.Column("applying_by_name", sa.String(255)),
    sa.Column("applying_at", UTCDateTime),
    sa.Column("replica_id", sa.String(255)),
    sa.Column("finished_at", UTCDateTime),
    sa.Column("result_detail", sa.Text),
    sa.Column("changed_by_id", sa.String(255), nullable=False),
    sa.Column("changed_by_name", sa.String(255), nullable=False),
    sa.Column("changed_at", UTCDateTime, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.CheckConstraint(f"state IN ({', '.join(repr(s) for s in PROPOSAL_STATES)})", name="state"),
    sa.Index("ix_proposals_tenant_state", "tenant", "state"),
    sa.Index("ix_proposals_state", "state"),
    # At most one APPLYING per object: two approved patches to one Server must not interleave.
    sa.Index(
        "uq_proposals_applying_target",
        "target_kind",
        "target_namespace",
        "target_name",
        unique=True,
        sqlite_where=sa.text("state = 'APPLYING'"),
        postgresql_where=sa.text("state = 'APPLYING'"),
    ),
)

digest_runs = sa.Table(
    "digest_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant", sa.String(63), nullable=False),
    sa.Column("slot_start", UTCDateTime, nullable=False),
    sa.Column("replica_id", sa.String(255), nullable=False),
    sa.Column("claimed_at", UTCDateTime, nullable=False),
    sa.Column("channel", sa.String(255)),
    sa.Column("message_ts", sa.String(64)),
    sa.Column("posted_at", UTCDateTime),
    sa.UniqueConstraint("tenant", "slot_start", name="uq_digest_runs_tenant_slot"),
)

slack_messages = sa.Table(
    "slack_messages",
    metadata,
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("channel", sa.String(255), nullable=False),
    sa.Column("ts", sa.String(64), nullable=False),
    sa.Column("thread_ts", sa.String(64)),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

digest_schedules = sa.Table(
    "digest_schedules",
    metadata,
    # A schedule set from Slack; it overrides the config file's for the tenant (enabled=false: off).
    sa.Column("tenant", sa.String(63), primary_key=True),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("cron", sa.String(255)),
    sa.Column("timezone", sa.String(64)),
    sa.Column("channel", sa.String(255)),
    sa.Column("updated_by_id", sa.String(255), nullable=False),
    sa.Column("updated_by_name", sa.String(255), nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

digest_baselines = sa.Table(
    "digest_baselines",
    metadata,
    # The findings a posted digest showed, so the next one can say what is new and what was resolved.
    sa.Column("tenant", sa.String(63), primary_key=True),
    sa.Column("slot_start", UTCDateTime, primary_key=True),
    sa.Column("findings", sa.Text, nullable=False),  # canonical JSON: [{id, severity, summary}]
    sa.Column("recorded_at", UTCDateTime, nullable=False),
)
