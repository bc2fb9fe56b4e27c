"""Audit chain: append, read, verify, and tampering found and named (both backends)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from clocks import FakeClock
from store_support import make_event

from bot.remediation.events import AuditSink, CollectingSink, FanOut
from bot.store import Store
from bot.store.audit import row_hash
from bot.store.schema import GENESIS_HASH, audit_log


def _fill(store: Store, clock: FakeClock, count: int, tenant: str = "risk-ml") -> None:
    for i in range(count):
        store.audit.append(make_event(clock.advance(timedelta(seconds=1)), tenant, detail=f"event {i + 1}"))


def _sql(store: Store, statement: str) -> None:
    """Tamper behind the store's back, as someone with database access would."""
    with store.engine.begin() as conn:
        conn.execute(sa.text(statement))


def test_append_links_rows_and_round_trips_every_field(store: Store, clock: FakeClock) -> None:
    event = make_event(
        clock(),
        approver={"id": "U02BOB", "name": "bob"},
        proposal_id="capacity@Server/mlserver",
        duration_ms=1234,
        permalink="https://example.slack.com/archives/C1/p1",
        data={"é": "ü", "float": 1.5, "nested": {"b": [1, None, True], "a": "x"}},
        detail="line one\nline two",
    )
    first = store.audit.append(event)
    second = store.audit.append(make_event(clock()))
    assert (first.id, second.id) == (1, 2)
    assert first.prev_hash == GENESIS_HASH and second.prev_hash == first.hash
    stored = store.audit.query("risk-ml")[0]
    assert stored.model_dump(exclude={"recorded_at"}) == first.model_dump(exclude={"recorded_at"})
    assert stored.model_dump(include=set(event.model_dump())) == event.model_dump()
    assert store.audit.head() == (2, second.hash)
    assert store.verify().ok


def test_store_is_the_executors_audit_sink(store: Store, clock: FakeClock) -> None:
    """The executor emits through AuditSink (often a FanOut): the events land in the store."""
    sink: AuditSink = store
    terminal = CollectingSink()
    FanOut(sink, terminal).emit(make_event(clock(), step="requested", correlation_id="run-7"))
    FanOut(sink, terminal).emit(make_event(clock(), step="applied", correlation_id="run-7"))
    assert [r.step for r in store.audit.by_correlation("run-7")] == ["requested", "applied"]
    assert len(terminal.events) == 2


def test_query_filters_tenant_and_since_and_orders_by_time(store: Store, clock: FakeClock) -> None:
    start = clock()
    store.audit.append(make_event(start + timedelta(hours=2), detail="late"))
    store.audit.append(make_event(start, detail="early"))
    store.audit.append(make_event(start + timedelta(hours=1), "other-tenant", detail="other"))
    assert [r.detail for r in store.audit.query("risk-ml")] == ["early", "late"]
    assert [r.detail for r in store.audit.query("risk-ml", since=start + timedelta(minutes=1))] == ["late"]
    assert [r.detail for r in store.audit.query("other-tenant")] == ["other"]
    assert store.audit.query("nobody") == []


def test_naive_times_are_taken_as_utc(store: Store) -> None:
    record = store.audit.append(make_event(datetime(2026, 1, 2, 3, 4, 5, 6)))
    assert record.time == datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert store.audit.query("risk-ml")[0].time == record.time


def test_verify_empty_log(store: Store) -> None:
    result = store.verify()
    assert (result.ok, result.rows, result.last_id, result.broken) == (True, 0, 0, None)


def test_edited_row_is_named(store: Store, clock: FakeClock) -> None:
    _fill(store, clock, 5)
    _sql(store, "UPDATE audit_log SET detail = 'nothing to see here' WHERE id = 3")
    result = store.verify()
    assert not result.ok and result.rows == 2
    assert result.broken is not None
    assert (result.broken.id, result.broken.problem) == (3, "edited")
    assert result.broken.time == store.audit.query("risk-ml")[2].time
    assert "row 3 edited" in result.broken.message


def test_edit_with_recomputed_hash_is_caught_by_the_next_row(store: Store, clock: FakeClock) -> None:
    """Rewriting a row and its own hash still breaks the link the next row holds."""
    _fill(store, clock, 4)
    with store.engine.begin() as conn:
        row = conn.execute(sa.select(audit_log).where(audit_log.c.id == 2)).mappings().one()
        forged = {**row, "detail": "forged"}
        conn.execute(sa.text("UPDATE audit_log SET detail = 'forged', hash = :h WHERE id = 2"), {"h": row_hash(forged)})
    broken = store.verify().broken
    assert broken is not None and broken.id == 3 and broken.problem == "deleted"
    assert "row 2 was rewritten" in broken.message


def test_deleted_middle_row_names_the_gap(store: Store, clock: FakeClock) -> None:
    _fill(store, clock, 6)
    _sql(store, "DELETE FROM audit_log WHERE id = 4")
    result = store.verify()
    assert result.broken is not None
    assert (result.broken.id, result.broken.problem, result.rows) == (4, "deleted", 3)
    assert result.broken.message == "row 4 deleted: gap in the ids, row 5 follows row 3"


def test_deleted_rows_with_renumbered_ids_break_the_prev_hash(store: Store, clock: FakeClock) -> None:
    _fill(store, clock, 5)
    _sql(store, "DELETE FROM audit_log WHERE id = 3")
    _sql(store, "UPDATE audit_log SET id = id - 1 WHERE id > 3")
    _sql(store, "UPDATE audit_chain SET last_id = 4")
    broken = store.verify().broken
    assert broken is not None and (broken.id, broken.problem) == (3, "deleted")
    assert "previous-hash mismatch" in broken.message


def test_deleted_tail_disagrees_with_the_chain_head(store: Store, clock: FakeClock) -> None:
    _fill(store, clock, 5)
    _sql(store, "DELETE FROM audit_log WHERE id >= 4")
    broken = store.verify().broken
    assert broken is not None and (broken.id, broken.problem) == (4, "deleted")
    assert "rows 4..5 deleted from the end" in broken.message


def test_swapped_rows_are_reported_as_reordered(store: Store, clock: FakeClock) -> None:
    _fill(store, clock, 5)
    _sql(store, "UPDATE audit_log SET id = -1 WHERE id = 2")
    _sql(store, "UPDATE audit_log SET id = 2 WHERE id = 3")
    _sql(store, "UPDATE audit_log SET id = 3 WHERE id = -1")
    broken = store.verify().broken
    assert broken is not None and (broken.id, broken.problem) == (2, "reordered")
    assert broken.message == "row 2 reordered: it was written after row 3, but now follows row 1"


def test_rows_inserted_behind_the_stores_back(store: Store, clock: FakeClock) -> None:
    _fill(store, clock, 2)
    _sql(store, "UPDATE audit_chain SET last_id = 1")
    broken = store.verify().broken
    assert broken is not None and (broken.id, broken.problem) == (2, "inserted")


def test_threads_appending_at_once_never_fork_the_chain(store: Store, clock: FakeClock) -> None:
    threads, per_thread = 8, 15
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            barrier.wait(30)
            for i in range(per_thread):
                store.audit.append(make_event(clock(), detail=f"thread {n} #{i}"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert not errors
    result = store.verify()
    assert result.ok, result.broken
    assert result.rows == result.last_id == threads * per_thread


@pytest.mark.parametrize("count", [1, 50])
def test_append_many_is_one_chain_extension(store: Store, clock: FakeClock, count: int) -> None:
    records = store.audit.append_many(make_event(clock(), detail=str(i)) for i in range(count))
    assert [r.id for r in records] == list(range(1, count + 1))
    assert store.verify().rows == count
