"""Durable state: tamper-evident audit log, approval state machine, digest runs, Slack message refs.

SQLite by default, PostgreSQL (psycopg 3) for several replicas; one URL selects it. See `Store`.
"""

from bot.store.approvals import DEFAULT_TTL, EDGES
from bot.store.clock import Clock, system_clock
from bot.store.errors import (
    AlreadyDecided,
    DatabaseUnavailable,
    DatabaseUrlError,
    IllegalTransition,
    ProposalExpired,
    SelfApprovalRefused,
    StoreError,
    TargetBusy,
    TransitionError,
    UnknownProposal,
)
from bot.store.models import (
    AuditRecord,
    BrokenRow,
    DigestRun,
    ProposalRecord,
    ProposalState,
    ReconcileResult,
    RecoveryItem,
    RecoveryReport,
    SlackMessageRef,
    VerifyResult,
)
from bot.store.store import Store

__all__ = [
    "DEFAULT_TTL",
    "EDGES",
    "AlreadyDecided",
    "AuditRecord",
    "BrokenRow",
    "Clock",
    "DatabaseUnavailable",
    "DatabaseUrlError",
    "DigestRun",
    "IllegalTransition",
    "ProposalExpired",
    "ProposalRecord",
    "ProposalState",
    "ReconcileResult",
    "RecoveryItem",
    "RecoveryReport",
    "SelfApprovalRefused",
    "SlackMessageRef",
    "Store",
    "StoreError",
    "TargetBusy",
    "TransitionError",
    "UnknownProposal",
    "VerifyResult",
    "system_clock",
]
