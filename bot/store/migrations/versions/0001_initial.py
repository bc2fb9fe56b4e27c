"""Initial store: audit chain, proposals, digest runs, Slack message refs.

Revision ID: 0001
Revises:
Create Date: 2026-11-27

Written out in full (not importing bot.store.schema): a migration is a frozen snapshot, and later
revisions change the schema module, not this file.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64
STATES = ("PENDING", "APPROVED", "REJECTED", "EXPIRED", "APPLYING", "SUCCEEDED", "FAILED", "ROLLED_BACK", "INTERRUPTED")


def _ts(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=False),
        _ts("time"),
        _ts("recorded_at"),
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
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("permalink", sa.Text),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
        sa.UniqueConstraint("hash", name="uq_audit_log_hash"),
    )
    op.create_index("ix_audit_log_tenant_time", "audit_log", ["tenant", "time"])
    op.create_index("ix_audit_log_correlation_id", "audit_log", ["correlation_id"])
    op.create_index("ix_audit_log_proposal_id", "audit_log", ["proposal_id"])

    chain = op.create_table(
        "audit_chain",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("last_id", sa.BigInteger, nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_chain"),
        sa.CheckConstraint("id = 1", name="ck_audit_chain_singleton"),
    )
    op.bulk_insert(chain, [{"id": 1, "last_id": 0, "last_hash": GENESIS_HASH}])

    op.create_table(
        "proposals",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("proposal_id", sa.String(255), nullable=False),
        sa.Column("finding_id", sa.String(255), nullable=False),
        sa.Column("correlation_id", sa.String(255), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("target_kind", sa.String(255), nullable=False),
        sa.Column("target_namespace", sa.String(255), nullable=False),
        sa.Column("target_name", sa.String(255), nullable=False),
        sa.Column("target_api_version", sa.String(255)),
        sa.Column("target_resource_version", sa.String(64)),
        sa.Column("patch_type", sa.String(8), nullable=False),
        sa.Column("patch", sa.JSON),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("requester_id", sa.String(255), nullable=False),
        sa.Column("requester_name", sa.String(255), nullable=False),
        _ts("requested_at"),
        _ts("expires_at"),
        sa.Column("decided_by_id", sa.String(255)),
        sa.Column("decided_by_name", sa.String(255)),
        _ts("decided_at", nullable=True),
        sa.Column("decision_note", sa.Text),
        sa.Column("applying_by_id", sa.String(255)),
        sa.Column("applying_by_name", sa.String(255)),
        _ts("applying_at", nullable=True),
        sa.Column("replica_id", sa.String(255)),
        _ts("finished_at", nullable=True),
        sa.Column("result_detail", sa.Text),
        sa.Column("changed_by_id", sa.String(255), nullable=False),
        sa.Column("changed_by_name", sa.String(255), nullable=False),
        _ts("changed_at"),
        sa.Column("version", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_proposals"),
        sa.CheckConstraint(f"state IN ({', '.join(repr(s) for s in STATES)})", name="ck_proposals_state"),
    )
    op.create_index("ix_proposals_tenant_state", "proposals", ["tenant", "state"])
    op.create_index("ix_proposals_state", "proposals", ["state"])
    op.create_index(
        "uq_proposals_applying_target",
        "proposals",
        ["target_kind", "target_namespace", "target_name"],
        unique=True,
        sqlite_where=sa.text("state = 'APPLYING'"),
        postgresql_where=sa.text("state = 'APPLYING'"),
    )

    op.create_table(
        "digest_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(63), nullable=False),
        _ts("slot_start"),
        sa.Column("replica_id", sa.String(255), nullable=False),
        _ts("claimed_at"),
        sa.Column("channel", sa.String(255)),
        sa.Column("message_ts", sa.String(64)),
        _ts("posted_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_digest_runs"),
        sa.UniqueConstraint("tenant", "slot_start", name="uq_digest_runs_tenant_slot"),
    )

    op.create_table(
        "slack_messages",
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("channel", sa.String(255), nullable=False),
        sa.Column("ts", sa.String(64), nullable=False),
        sa.Column("thread_ts", sa.String(64)),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("kind", "key", name="pk_slack_messages"),
    )


def downgrade() -> None:
    for table in ("slack_messages", "digest_runs", "proposals", "audit_chain", "audit_log"):
        op.drop_table(table)
