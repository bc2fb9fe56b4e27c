"""Digest state: schedules set from Slack, and the findings each posted digest showed.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

Additive only (two new tables): a replica still on 0001 keeps working against a database at 0002.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "digest_schedules",
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("cron", sa.String(255)),
        sa.Column("timezone", sa.String(64)),
        sa.Column("channel", sa.String(255)),
        sa.Column("updated_by_id", sa.String(255), nullable=False),
        sa.Column("updated_by_name", sa.String(255), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant", name="pk_digest_schedules"),
    )
    op.create_table(
        "digest_baselines",
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("slot_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("findings", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "slot_start", name="pk_digest_baselines"),
    )


def downgrade() -> None:
    op.drop_table("digest_baselines")
    op.drop_table("digest_schedules")
