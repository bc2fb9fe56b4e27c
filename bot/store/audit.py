"""The audit log: an append-only hash chain of `AuditEvent`s.

Each row stores sha256(canonical JSON of its fields + the previous row's hash). Editing a row breaks
its own hash; deleting one leaves a gap in the ids (ids are assigned as head+1, never by a sequence)
or, if the ids were renumbered, a previous-hash that matches no row; moving rows makes a row follow
one it was not written after; truncating the tail disagrees with the chain head row. All appends
take the chain head row first (BEGIN IMMEDIATE on SQLite, SELECT ... FOR UPDATE on PostgreSQL), so
two writers can never both extend the same row and fork the chain.

Someone with write access to the database can still rewrite the whole chain from a point on and
recompute every hash; `head()` exists so the head can be published elsewhere (a Slack audit channel)
and compared later.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, RowMapping

from bot.remediation.events import AuditEvent
from bot.store.clock import Clock, as_utc, iso_utc
from bot.store.db import is_postgres, read_transaction, write_transaction
from bot.store.models import AuditRecord, BrokenRow, VerifyResult
from bot.store.schema import GENESIS_HASH, audit_chain, audit_log

HASHED = tuple(c.name for c in audit_log.columns if c.name not in ("id", "hash"))
"""Fields the hash covers: everything but the id (renumbering is caught by prev-hash) and the hash itself."""


def canonical_json(value: Any) -> str:
    """One spelling per value: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def row_hash(values: Mapping[str, Any] | RowMapping) -> str:
    doc = {k: iso_utc(v) if isinstance(v, datetime) else v for k, v in ((k, values[k]) for k in HASHED)}
    return hashlib.sha256(canonical_json(doc).encode()).hexdigest()


def _columns(event: AuditEvent) -> dict[str, Any]:
    target = event.target
    return {
        "time": as_utc(event.time),
        "tenant": event.tenant,
        "step": event.step,
        "outcome": event.outcome,
        "actor_id": event.actor.id,
        "actor_name": event.actor.name,
        "approver_id": event.approver.id if event.approver else None,
        "approver_name": event.approver.name if event.approver else None,
        "correlation_id": event.correlation_id,
        "proposal_id": event.proposal_id,
        "target_kind": target.kind if target else None,
        "target_namespace": target.namespace if target else None,
        "target_name": target.name if target else None,
        "target_api_version": target.api_version if target else None,
        "patch_summary": event.patch_summary,
        "detail": event.detail,
        "duration_ms": event.duration_ms,
        "data": canonical_json(event.model_dump(mode="json")["data"]),
        "permalink": event.permalink,
    }


def to_record(row: RowMapping) -> AuditRecord:
    """One validation call per row (nested dicts, not nested constructors): reading 100k rows is pydantic-bound."""
    doc: dict[str, Any] = dict(row)
    kind = doc.pop("target_kind")
    target = {
        "kind": kind,
        "name": doc.pop("target_name") or "",
        "namespace": doc.pop("target_namespace"),
        "api_version": doc.pop("target_api_version"),
    }
    doc["target"] = target if kind is not None else None
    doc["actor"] = {"id": doc.pop("actor_id"), "name": doc.pop("actor_name")}
    approver_id, approver_name = doc.pop("approver_id"), doc.pop("approver_name")
    doc["approver"] = {"id": approver_id, "name": approver_name or ""} if approver_id else None
    doc["data"] = json.loads(doc["data"])
    return AuditRecord.model_validate(doc)


def append_in(conn: Connection, events: Sequence[AuditEvent], now: datetime) -> list[AuditRecord]:
    """Append inside the caller's write transaction (so a state change and its event commit together)."""
    if not events:
        return []
    head = conn.execute(
        sa.select(audit_chain.c.last_id, audit_chain.c.last_hash).where(audit_chain.c.id == 1).with_for_update()
    ).one()
    last_id, last_hash = head.last_id, head.last_hash
    rows = []
    for event in events:
        values = {**_columns(event), "recorded_at": as_utc(now), "prev_hash": last_hash}
        last_id, last_hash = last_id + 1, row_hash(values)
        rows.append({**values, "id": last_id, "hash": last_hash})
    conn.execute(sa.insert(audit_log), rows)
    conn.execute(sa.update(audit_chain).where(audit_chain.c.id == 1).values(last_id=last_id, last_hash=last_hash))
    return [to_record(row) for row in rows]  # type: ignore[arg-type]


class AuditLog:
    """Append, read and verify. Also an `AuditSink`: the executor's events land here through `emit`."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def emit(self, event: AuditEvent) -> None:
        self.append(event)

    def append(self, event: AuditEvent) -> AuditRecord:
        return self.append_many([event])[0]

    def append_many(self, events: Iterable[AuditEvent]) -> list[AuditRecord]:
        """Several events in one transaction (one chain lock): imports and benchmarks."""
        batch = list(events)
        with write_transaction(self._engine) as conn:
            return append_in(conn, batch, self._clock())

    def head(self) -> tuple[int, str]:
        """(last id, last hash): publish it somewhere else to detect a rewrite of the whole chain."""
        with read_transaction(self._engine) as conn:
            row = conn.execute(sa.select(audit_chain.c.last_id, audit_chain.c.last_hash)).one()
            return row.last_id, row.last_hash

    def query(self, tenant: str, *, since: datetime | None = None, limit: int | None = None) -> list[AuditRecord]:
        """A tenant's events in time order (ties in chain order)."""
        stmt = sa.select(audit_log).where(audit_log.c.tenant == tenant)
        if since is not None:
            stmt = stmt.where(audit_log.c.time >= as_utc(since))
        stmt = stmt.order_by(audit_log.c.time, audit_log.c.id).limit(limit)
        with read_transaction(self._engine) as conn:
            return [to_record(row) for row in conn.execute(stmt).mappings()]

    def by_correlation(self, correlation_id: str) -> list[AuditRecord]:
        stmt = sa.select(audit_log).where(audit_log.c.correlation_id == correlation_id).order_by(audit_log.c.id)
        with read_transaction(self._engine) as conn:
            return [to_record(row) for row in conn.execute(stmt).mappings()]

    def verify(self) -> VerifyResult:
        """Walk the chain from the first row; stop at the first break and name it."""
        with self._engine.connect() as conn:
            if is_postgres(conn):
                conn.execution_options(isolation_level="REPEATABLE READ")  # rows and head from one snapshot
            with conn.begin():
                return _verify(conn)


def _verify(conn: Connection) -> VerifyResult:
    head = conn.execute(sa.select(audit_chain.c.last_id, audit_chain.c.last_hash)).one()
    prev_id, prev_hash, count = 0, GENESIS_HASH, 0
    rows = conn.execution_options(yield_per=2000).execute(sa.select(audit_log).order_by(audit_log.c.id))
    for row in rows.mappings():
        broken = _check_row(conn, row, prev_id, prev_hash)
        if broken is not None:
            return VerifyResult(ok=False, rows=count, last_id=prev_id, broken=broken)
        prev_id, prev_hash, count = row["id"], row["hash"], count + 1
    broken = _check_head(head.last_id, head.last_hash, prev_id, prev_hash)
    return VerifyResult(ok=broken is None, rows=count, last_id=prev_id, broken=broken)


def _check_row(conn: Connection, row: RowMapping, prev_id: int, prev_hash: str) -> BrokenRow | None:
    row_id, time = row["id"], row["time"]
    if row_id != prev_id + 1:
        missing = f"row {prev_id + 1}" if row_id == prev_id + 2 else f"rows {prev_id + 1}..{row_id - 1}"
        after = f"row {prev_id}" if prev_id else "the start of the log"
        return BrokenRow(
            id=prev_id + 1,
            problem="deleted",
            message=f"{missing} deleted: gap in the ids, row {row_id} follows {after}",
        )
    if row_hash(row) != row["hash"]:
        return BrokenRow(
            id=row_id,
            time=time,
            problem="edited",
            message=f"row {row_id} edited: its fields no longer match the hash it was written with",
        )
    if row["prev_hash"] != prev_hash:
        written_after = conn.execute(sa.select(audit_log.c.id).where(audit_log.c.hash == row["prev_hash"])).scalar()
        if written_after is not None:
            return BrokenRow(
                id=row_id,
                time=time,
                problem="reordered",
                message=f"row {row_id} reordered: it was written after row {written_after}, "
                f"but now follows {f'row {prev_id}' if prev_id else 'the start of the log'}",
            )
        where = f"row {prev_id}" if prev_id else "the start of the log"
        return BrokenRow(
            id=row_id,
            time=time,
            problem="deleted",
            message=f"row {row_id} does not follow {where} (previous-hash mismatch): rows before it were "
            f"deleted and the ids renumbered, or {where} was rewritten with a recomputed hash",
        )
    return None


def _check_head(head_id: int, head_hash: str, last_id: int, last_hash: str) -> BrokenRow | None:
    if head_id > last_id:
        missing = f"row {head_id}" if head_id == last_id + 1 else f"rows {last_id + 1}..{head_id}"
        return BrokenRow(
            id=last_id + 1,
            problem="deleted",
            message=f"{missing} deleted from the end of the log (the chain head says the last row is {head_id})",
        )
    if head_id < last_id:
        return BrokenRow(
            id=head_id + 1,
            problem="inserted",
            message=f"rows {head_id + 1}..{last_id} were not appended by the store (the chain head ends at {head_id})",
        )
    if head_hash != last_hash:
        return BrokenRow(
            id=last_id,
            problem="edited",
            message=f"row {last_id} edited: it is not the row the chain head recorded (rewritten with a new hash)",
        )
    return None
