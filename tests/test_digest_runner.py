"""The runner: one collection per round, claims as the idempotency key, retries of refused posts, batching."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from clocks import FakeClock
from fakeslack import FakeSlack

from bot.cluster.bundle import load_bundle
from bot.diagnosis.engine import diagnose
from bot.digest.collect import TenantRead
from bot.digest.runner import DigestRunner, RoundQueue
from bot.digest.state import DigestState, Due
from bot.playbooks import load_playbook
from bot.remediation.events import Actor
from bot.settings import BotConfig, Tenant
from bot.store.store import Store

ROOT = Path(__file__).resolve().parents[1]
NINE = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
TENANTS = [f"team-{i}" for i in range(5)]
CONFIG = BotConfig(
    tenants=[Tenant(namespace=t, channel=f"C0TEAM{i}001", digest={"cron": "0 9 * * *"}) for i, t in enumerate(TENANTS)]
)


class CountingCollect:
    def __init__(self) -> None:
        snapshot = load_bundle(ROOT / "examples" / "healthy")
        self.diagnosis = diagnose(snapshot, load_playbook("diagnose"))
        self.snapshot = snapshot
        self.calls: list[list[str]] = []

    def __call__(self, namespaces: Sequence[str]) -> dict[str, TenantRead]:
        self.calls.append(list(namespaces))
        return {ns: TenantRead(ns, self.snapshot, self.diagnosis) for ns in namespaces}


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[DigestRunner, FakeSlack, CountingCollect, FakeClock]]:
    clock = FakeClock(NINE + timedelta(seconds=2))
    collect = CountingCollect()
    with FakeSlack() as slack, Store.open(f"sqlite:///{tmp_path / 'bot.db'}", env={}, clock=clock) as store:
        for i, _ in enumerate(TENANTS):
            slack.add_channel(f"C0TEAM{i}001", f"team-{i}")
        runner = DigestRunner(
            config=CONFIG, store=store, client=slack.client(), collect=collect, replica_id="replica-a", clock=clock
        )
        yield runner, slack, collect, clock


def test_a_round_collects_once_and_posts_each_tenant_once(setup: tuple) -> None:
    runner, slack, collect, _ = setup
    due = [Due(t, NINE) for t in TENANTS]
    report = runner.run_due([*due, due[0]])  # the scheduler and a sweep both queued team-0
    assert report.posted == due and collect.calls == [TENANTS]
    again = runner.run_due(due)
    assert again.posted == [] and len(again.skipped) == 5 and collect.calls == [TENANTS]  # nothing read again
    assert sum(len(slack.messages(f"C0TEAM{i}001")) for i in range(5)) == 5


def test_a_refused_post_keeps_its_claim_and_is_retried_after_the_lease(setup: tuple) -> None:
    runner, slack, _, clock = setup
    slack.fail("chat.postMessage", "channel_not_found", times=1)
    report = runner.run_due([Due("team-0", NINE)])
    assert [(d.tenant, why) for d, why in report.failed] == [("team-0", "channel_not_found")]
    run = runner.store.digests.get("team-0", NINE)
    assert run is not None and run.posted_at is None
    assert runner.run_due([Due("team-0", NINE)]).posted == []  # the claim is fresh: not retried yet
    clock.advance(timedelta(minutes=11))
    assert runner.run_due([Due("team-0", NINE)]).posted == [Due("team-0", NINE)]
    assert len(slack.messages("C0TEAM0001")) == 1


def test_a_schedule_turned_off_before_the_round_posts_nothing(setup: tuple) -> None:
    runner, _, collect, clock = setup
    DigestState(runner.store.engine, clock).set_schedule("team-1", Actor(id="U0ALICE001"), enabled=False)
    report = runner.run_due([Due("team-1", NINE)])
    assert report.skipped == [(Due("team-1", NINE), "no digest scheduled any more")] and collect.calls == []


def test_slots_arriving_together_become_one_round() -> None:
    rounds: list[list[Due]] = []
    done = threading.Event()
    queue = RoundQueue(rounds.append, window=0.1)
    try:
        for tenant in TENANTS:
            queue.put(Due(tenant, NINE), done.set if tenant == TENANTS[-1] else None)
        assert done.wait(5) and queue.wait_idle(5)
        assert rounds == [[Due(t, NINE) for t in TENANTS]]
    finally:
        queue.close()
