"""Idempotent posting: one digest per tenant per slot, and Slack message refs for `chat.update`.

Several replicas run the same scheduler; the database decides who posts. A claim is an INSERT that
the UNIQUE(tenant, slot_start) constraint lets through once (ON CONFLICT DO NOTHING on both
backends, so a PostgreSQL transaction is never aborted by the loser). A claimer that dies before
posting would block the slot forever, so an unposted claim older than the lease can be taken over,
again by a single conditional UPDATE.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from bot.store.clock import Clock, as_utc
from bot.store.db import is_postgres, read_transaction, write_transaction
from bot.store.models import DigestRun, SlackMessageRef
from bot.store.schema import digest_runs, slack_messages

DEFAULT_LEASE = timedelta(minutes=10)


def _insert(conn: Connection, table: sa.Table) -> Any:
    """The dialect's INSERT, which has ON CONFLICT (the generic one does not)."""
    return (postgresql.insert if is_postgres(conn) else sqlite.insert)(table)


class Digests:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def claim_digest_slot(
        self, tenant: str, slot: datetime, replica_id: str, *, lease: timedelta = DEFAULT_LEASE
    ) -> bool:
        """True for exactly one claimer of (tenant, slot); it must post, then `mark_posted`."""
        now, slot = self._clock(), as_utc(slot)
        row = {"tenant": tenant, "slot_start": slot, "replica_id": replica_id, "claimed_at": now}
        with write_transaction(self._engine) as conn:
            stmt = (
                _insert(conn, digest_runs)
                .values(row)
                .on_conflict_do_nothing(index_elements=["tenant", "slot_start"])
                .returning(digest_runs.c.id)  # a row back = ours (rowcount is -1 with implicit RETURNING)
            )
            if conn.execute(stmt).first() is not None:
                return True
            takeover = (
                sa.update(digest_runs)
                .where(
                    digest_runs.c.tenant == tenant,
                    digest_runs.c.slot_start == slot,
                    digest_runs.c.posted_at.is_(None),
                    digest_runs.c.claimed_at < now - lease,
                )
                .values(replica_id=replica_id, claimed_at=now)
            )
            return conn.execute(takeover).rowcount == 1

    def mark_posted(self, tenant: str, slot: datetime, *, channel: str, message_ts: str) -> DigestRun:
        with write_transaction(self._engine) as conn:
            conn.execute(
                sa.update(digest_runs)
                .where(digest_runs.c.tenant == tenant, digest_runs.c.slot_start == as_utc(slot))
                .values(channel=channel, message_ts=message_ts, posted_at=self._clock())
            )
        run = self.get(tenant, slot)
        if run is None:
            raise LookupError(f"digest slot {tenant} {as_utc(slot).isoformat()} was never claimed")
        return run

    def get(self, tenant: str, slot: datetime) -> DigestRun | None:
        stmt = sa.select(digest_runs).where(digest_runs.c.tenant == tenant, digest_runs.c.slot_start == as_utc(slot))
        with read_transaction(self._engine) as conn:
            row = conn.execute(stmt).mappings().first()
        return None if row is None else DigestRun.model_validate(dict(row))


class SlackMessages:
    """Where a proposal's or a run's message is, so that it is edited in place instead of posted again."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def upsert(self, kind: str, key: str, *, channel: str, ts: str, thread_ts: str | None = None) -> SlackMessageRef:
        values: dict[str, Any] = {"kind": kind, "key": key, "channel": channel, "ts": ts, "thread_ts": thread_ts}
        values["updated_at"] = self._clock()
        with write_transaction(self._engine) as conn:
            stmt = _insert(conn, slack_messages).values(values)
            stmt = stmt.on_conflict_do_update(
                index_elements=["kind", "key"],
                set_={k: stmt.excluded[k] for k in ("channel", "ts", "thread_ts", "updated_at")},
            )
            conn.execute(stmt)
        return SlackMessageRef.model_validate(values)

    def get(self, kind: str, key: str) -> SlackMessageRef | None:
        stmt = sa.select(slack_messages).where(slack_messages.c.kind == kind, slack_messages.c.key == key)
        with read_transaction(self._engine) as conn:
            row = conn.execute(stmt).mappings().first()
        return None if row is None else SlackMessageRef.model_validate(dict(row))
