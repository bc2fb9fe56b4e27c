"""Digest slots are claimed once; Slack message refs are upserted for chat.update."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

from clocks import FakeClock

from bot.store import Store

SLOT = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def test_one_claim_per_tenant_and_slot(store: Store) -> None:
    assert store.digests.claim_digest_slot("risk-ml", SLOT, "replica-a")
    assert not store.digests.claim_digest_slot("risk-ml", SLOT, "replica-b")
    same_instant = SLOT.astimezone(timezone(timedelta(hours=2)))
    assert not store.digests.claim_digest_slot("risk-ml", same_instant, "replica-b")
    assert store.digests.claim_digest_slot("risk-ml", SLOT + timedelta(days=1), "replica-b")
    assert store.digests.claim_digest_slot("fraud-ml", SLOT, "replica-b")
    run = store.digests.get("risk-ml", SLOT)
    assert run is not None and (run.replica_id, run.posted_at) == ("replica-a", None)


def test_claim_race_has_one_winner(store: Store) -> None:
    barrier = threading.Barrier(16)
    wins: list[str] = []

    def claim(n: int) -> None:
        barrier.wait(30)
        if store.digests.claim_digest_slot("risk-ml", SLOT, f"r{n}"):
            wins.append(f"r{n}")

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(wins) == 1
    run = store.digests.get("risk-ml", SLOT)
    assert run is not None and run.replica_id == wins[0]


def test_mark_posted_and_a_dead_claimers_slot_is_taken_over(store: Store, clock: FakeClock) -> None:
    assert store.digests.claim_digest_slot("risk-ml", SLOT, "replica-a")
    clock.advance(timedelta(minutes=11))
    assert store.digests.claim_digest_slot("risk-ml", SLOT, "replica-b")  # replica-a never posted
    assert not store.digests.claim_digest_slot("risk-ml", SLOT, "replica-c")
    run = store.digests.mark_posted("risk-ml", SLOT, channel="C0DIGEST", message_ts="1732690000.000100")
    assert (run.replica_id, run.channel, run.message_ts, run.posted_at) == (
        "replica-b",
        "C0DIGEST",
        "1732690000.000100",
        clock(),
    )
    clock.advance(timedelta(hours=1))
    assert not store.digests.claim_digest_slot("risk-ml", SLOT, "replica-c")  # posted: never again


def test_slack_message_refs_upsert(store: Store, clock: FakeClock) -> None:
    assert store.messages.get("proposal", "rec-1") is None
    first = store.messages.upsert("proposal", "rec-1", channel="C1", ts="1.000100")
    assert store.messages.get("proposal", "rec-1") == first
    clock.advance(timedelta(seconds=5))
    moved = store.messages.upsert("proposal", "rec-1", channel="C1", ts="1.000200", thread_ts="1.000100")
    got = store.messages.get("proposal", "rec-1")
    assert got == moved and (got.ts, got.thread_ts, got.updated_at) == ("1.000200", "1.000100", clock())
    assert store.messages.get("run", "rec-1") is None
