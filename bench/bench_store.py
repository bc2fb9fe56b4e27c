"""Store throughput: audit appends/s, approval transitions/s, and reading one tenant out of 100k rows.

Runs on a temporary SQLite file, and on PostgreSQL when SELDON_CHATOPS_BENCH_POSTGRES_URL (or the
tests' SELDON_CHATOPS_TEST_POSTGRES_URL) is set; PostgreSQL gets a throw-away schema, dropped after.
Each append and each transition is its own committed transaction (SQLite: synchronous=FULL, so one
fsync each: the figure depends on the disk). Run: `python bench/bench_store.py [--rows 100000]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import sqlalchemy as sa  # noqa: E402
from pg_scratch import scratch_schema  # noqa: E402

from bot.diagnosis.models import ObjectRef, Proposal  # noqa: E402
from bot.remediation.events import Actor, AuditEvent  # noqa: E402
from bot.store import AlreadyDecided, Store  # noqa: E402
from bot.store.clock import system_clock  # noqa: E402
from bot.store.settings import parse_url  # noqa: E402

TENANT = "risk-ml"
ALICE, BOB, BOT = Actor(id="U01ALICE", name="alice"), Actor(id="U02BOB", name="bob"), Actor(id="bot:bench")


def event(i: int, tenant: str = TENANT, minutes_ago: float = 0) -> AuditEvent:
    return AuditEvent(
        time=system_clock() - timedelta(minutes=minutes_ago),
        tenant=tenant,
        step="rollout",
        outcome="in-progress",
        actor=BOT,
        approver=BOB,
        correlation_id=f"run-{i // 8}",
        proposal_id="capacity.memory-request-missing@Server/mlserver",
        target=ObjectRef(kind="Server", name="mlserver", namespace=tenant),
        patch_summary="spec.podSpec.containers[mlserver].resources.requests.memory: 2Gi",
        detail=f"StatefulSet mlserver: 2/3 updated, 2/3 ready (event {i})",
        duration_ms=1200,
        data={"revision": "mlserver-7d9f6c", "replicas": 3, "updated": 2, "ready": 2},
    )


def proposal(i: int) -> Proposal:
    return Proposal(
        id=f"capacity.memory-request-missing@Server/mlserver-{i}",
        finding_id=f"capacity.memory-request-missing@Server/mlserver-{i}",
        title="Set memory requests",
        action="patch",
        target=ObjectRef(kind="Server", name=f"mlserver-{i}", namespace=TENANT),
        target_resource_version="4242",
        patch_type="merge",
        patch={
            "spec": {"podSpec": {"containers": [{"name": "mlserver", "resources": {"requests": {"memory": "2Gi"}}}]}}
        },
        rationale="bench",
        automatic=True,
    )


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:8.0f}/s  ({seconds * 1000 / count:.2f} ms each)"


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench(name: str, url: str, appends: int, proposals: int, rows: int) -> None:
    print(f"\n== {name}")
    with Store.open(url, env={}) as store:
        seconds = timed(lambda: [store.audit.append(event(i)) for i in range(appends)])
        print(f"audit append, 1 writer:               {rate(appends, seconds)}")

        writers, per_writer = 4, appends // 4

        def writer() -> None:
            for i in range(per_writer):
                store.audit.append(event(i))

        threads = [threading.Thread(target=writer) for _ in range(writers)]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print(f"audit append, {writers} threads:            {rate(writers * per_writer, time.perf_counter() - start)}")

        ids = [
            store.approvals.request(proposal(i), tenant=TENANT, requester=ALICE, correlation_id=f"run-{i}").id
            for i in range(proposals)
        ]

        def transitions() -> None:
            for record_id in ids:
                store.approvals.approve(record_id, BOB)
                store.approvals.start_applying(record_id, BOT, replica_id="bench")
                store.approvals.finish(record_id, "SUCCEEDED", BOT, detail="verified")

        print(f"approval transitions (CAS UPDATE):    {rate(3 * proposals, timed(transitions))}")

        loser = store.approvals.request(proposal(0), tenant=TENANT, requester=ALICE, correlation_id="lose").id
        store.approvals.approve(loser, BOB)

        def lose() -> None:
            for _ in range(proposals):
                with suppress(AlreadyDecided):
                    store.approvals.approve(loser, BOB)

        print(f"refused transition (already decided): {rate(proposals, timed(lose))}")

        start = time.perf_counter()
        existing = appends + writers * per_writer
        batch = 5000
        for offset in range(0, rows - existing, batch):
            n = min(batch, rows - existing - offset)
            # 100k rows of the tenant, spread over 30 days, plus 10% of another tenant's
            store.audit.append_many(event(offset + i, minutes_ago=(rows - offset - i) * 0.43) for i in range(n))
            store.audit.append_many(event(i, tenant="other-ml") for i in range(n // 10))
        fill = time.perf_counter() - start
        print(f"bulk load to {rows} rows of {TENANT} (append_many, batches of {batch}): {fill:.1f} s")

        queries = {
            f"query {TENANT}, all rows": lambda: store.audit.query(TENANT),
            f"query {TENANT}, --since 2h": lambda: store.audit.query(TENANT, since=system_clock() - timedelta(hours=2)),
            f"query {TENANT}, --since 3d": lambda: store.audit.query(TENANT, since=system_clock() - timedelta(days=3)),
        }
        for label, fn in queries.items():
            found = len(fn())  # type: ignore[no-untyped-call]
            runs = [timed(fn) for _ in range(3)]
            print(f"{label + ':':<37} {statistics.median(runs) * 1000:8.1f} ms  ({found} rows, median of 3)")
        result = store.verify()
        seconds = timed(store.verify)
        print(f"verify whole chain ({result.rows} rows):   {seconds * 1000:8.0f} ms  (ok={result.ok})")


@contextmanager
def postgres_schema(raw: str) -> Iterator[str]:
    admin = sa.create_engine(parse_url(raw), isolation_level="AUTOCOMMIT")
    try:
        with scratch_schema(admin, "bench") as url:
            yield url
    finally:
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=1000)
    parser.add_argument("--proposals", type=int, default=300)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench("SQLite (WAL, synchronous=FULL)", f"sqlite:///{tmp}/bench.db", args.appends, args.proposals, args.rows)
    pg = os.environ.get("SELDON_CHATOPS_BENCH_POSTGRES_URL") or os.environ.get("SELDON_CHATOPS_TEST_POSTGRES_URL")
    if not pg:
        print("\n(PostgreSQL skipped: set SELDON_CHATOPS_BENCH_POSTGRES_URL=postgresql+psycopg://...)")
        return
    with postgres_schema(pg) as url:
        bench(
            f"PostgreSQL {parse_url(pg).render_as_string(hide_password=True)}",
            url,
            args.appends,
            args.proposals,
            args.rows,
        )


if __name__ == "__main__":
    main()
