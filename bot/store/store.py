"""`Store`: the system of record (audit chain, approvals, digest runs, Slack refs) behind one URL.

`Store.open()` resolves the URL (argument, `SELDON_CHATOPS_DATABASE_URL`, or a SQLite file in the
state directory), connects, and upgrades the schema to the head revision before anything else runs.
The store is also an `AuditSink`, so the executor can emit straight into it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from types import TracebackType

from sqlalchemy.engine import Engine

from bot.remediation.events import AuditEvent
from bot.store import db
from bot.store.approvals import Approvals
from bot.store.audit import AuditLog
from bot.store.clock import Clock, system_clock
from bot.store.digests import Digests, SlackMessages
from bot.store.models import RecoveryReport, VerifyResult
from bot.store.recovery import DEFAULT_STALE_AFTER, Reconcile, recover
from bot.store.settings import StoreSettings, describe, parse_url


class Store:
    def __init__(self, engine: Engine, clock: Clock = system_clock) -> None:
        """Use `Store.open`; this wraps an engine whose schema is already at head."""
        self.engine = engine
        self.clock = clock
        self.audit = AuditLog(engine, clock)
        self.approvals = Approvals(engine, clock)
        self.digests = Digests(engine, clock)
        self.messages = SlackMessages(engine, clock)

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        env: Mapping[str, str] | None = None,
        clock: Clock = system_clock,
        create: bool = True,
    ) -> Store:
        """Connect and migrate. `create=False` refuses to create a missing SQLite file (read-only commands)."""
        settings = StoreSettings.from_env(os.environ if env is None else env, override=url)
        engine = db.create_engine(parse_url(settings.database_url), create=create)
        try:
            db.upgrade(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, clock)

    @property
    def url(self) -> str:
        """The database URL with the password hidden, for messages."""
        return describe(self.engine.url)

    def emit(self, event: AuditEvent) -> None:
        """`AuditSink`: append the event to the chain."""
        self.audit.append(event)

    def verify(self) -> VerifyResult:
        return self.audit.verify()

    def recover(
        self, reconcile: Reconcile, *, replica_id: str | None = None, stale_after: timedelta = DEFAULT_STALE_AFTER
    ) -> RecoveryReport:
        """At start-up: settle proposals a crash left in APPLYING (see `bot.store.recovery`)."""
        return recover(self.approvals, self.clock, reconcile, replica_id=replica_id, stale_after=stale_after)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
