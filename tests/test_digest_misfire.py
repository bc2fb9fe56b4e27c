"""Misfires on a controlled clock: the real APScheduler, job store, runner, fake Kubernetes and fake Slack.

A bot down over several 09:00 slots that comes back within the grace time posts once, for today's
slot, not once per missed slot (coalescing); later than the grace time it skips with a log line.
APScheduler 3 reads the wall clock itself, so `apscheduler.schedulers.base.datetime` is swapped for
one on the fake clock; every other decision takes the injected clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import apscheduler.schedulers.base
import pytest
from clocks import FakeClock
from digest_support import Replica, apscheduler_clock, lease_namespace_object, seed_tenants
from fakekube import FakeKube
from fakeslack import FakeSlack

from bot.digest.jobs import build_scheduler
from bot.digest.state import Due
from bot.settings import BotConfig, Tenant
from bot.store.store import Store

CHANNEL = "C0TEAMA001"
TODAY_9 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
CONFIG = BotConfig(tenants=[Tenant(namespace="team-a", channel=CHANNEL, digest={"cron": "0 9 * * *"})])


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock(TODAY_9 - timedelta(days=3, hours=1))  # Tuesday 08:00, three days ago
    monkeypatch.setattr(apscheduler.schedulers.base, "datetime", apscheduler_clock(fake))
    return fake


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[FakeKube, FakeSlack, str]]:
    with FakeKube() as kube, FakeSlack() as slack:
        kube.seed([lease_namespace_object()])
        seed_tenants(kube, "healthy", ["team-a"])
        slack.add_channel(CHANNEL, "team-a")
        yield kube, slack, f"sqlite:///{tmp_path / 'bot.db'}"


def replica(world: tuple[FakeKube, FakeSlack, str], clock: FakeClock, name: str = "replica-a") -> Replica:
    kube, slack, url = world
    return Replica(kube=kube, slack=slack, store_url=url, clock=clock, replica_id=name, config=CONFIG)


def recording(bot: Replica, fired: list[Due] | None = None) -> list[Due]:
    """Every slot handed to the round queue; `fired` gets those from the scheduler (they carry a callback)."""
    queued: list[Due] = []
    put: Callable[..., None] = bot.runtime.rounds.put

    def record(due: Due, done: Callable[[], None] | None = None) -> None:
        queued.append(due)
        if done is not None and fired is not None:
            fired.append(due)
        put(due, done)

    bot.runtime.rounds.put = record  # type: ignore[method-assign]
    return queued


def down_since_three_days(world: tuple[FakeKube, FakeSlack, str], clock: FakeClock) -> None:
    """The bot schedules the job at 08:00 three days ago, then goes down before 09:00."""
    first = replica(world, clock)
    assert first.runtime.step()
    first.close()


def test_back_within_the_grace_time_posts_once_not_once_per_missed_slot(
    world: tuple[FakeKube, FakeSlack, str], clock: FakeClock
) -> None:
    down_since_three_days(world, clock)
    clock.set(TODAY_9 + timedelta(minutes=20))  # back at 09:20: four 09:00 slots were missed
    bot = replica(world, clock)
    fired: list[Due] = []
    queued = recording(bot, fired)
    try:
        assert bot.runtime.step()
        slack = world[1]
        slack.wait_for(lambda: slack.messages(CHANNEL), timeout=10)
        assert bot.runtime.rounds.wait_idle(10)
        assert fired == [Due("team-a", TODAY_9)]  # the scheduler ran the job once, coalesced to today's slot
        assert {d.slot for d in queued} == {TODAY_9}  # the sweep agrees: never the older slots
        assert len(slack.messages(CHANNEL)) == 1
        run = bot.store.digests.get("team-a", TODAY_9)
        assert run is not None and run.posted_at == TODAY_9 + timedelta(minutes=20)
        for days_ago in (1, 2, 3):
            assert bot.store.digests.get("team-a", TODAY_9 - timedelta(days=days_ago)) is None
        # The sweep keeps running on the leader: it does not post the slot again.
        clock.advance(timedelta(seconds=40))
        assert bot.runtime.sweep() == []
        assert len(slack.messages(CHANNEL)) == 1
    finally:
        bot.close()


def test_back_after_the_grace_time_skips_with_a_log_line(
    world: tuple[FakeKube, FakeSlack, str], clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    down_since_three_days(world, clock)
    clock.set(TODAY_9 + timedelta(hours=2))  # back at 11:00
    bot = replica(world, clock)
    queued = recording(bot)
    try:
        with caplog.at_level(logging.WARNING, logger="bot.digest.jobs"):
            assert bot.runtime.step()
            world[1].wait_for(lambda: "missed by" in caplog.text, timeout=10)
        assert bot.runtime.rounds.wait_idle(10)
        assert queued == [] and world[1].messages(CHANNEL) == []
        assert "digest of team-a for the 2026-11-27T09:00:00+00:00 slot missed by 2:00:00 (grace 0:30:00)" in (
            caplog.text
        )
        # The next slot is posted on time.
        clock.set(TODAY_9 + timedelta(days=1))
        bot.runtime.wakeup()
        world[1].wait_for(lambda: world[1].messages(CHANNEL), timeout=10)
        assert bot.runtime.rounds.wait_idle(10)
        assert {d.slot for d in queued} == {TODAY_9 + timedelta(days=1)}  # scheduler and sweep: the same slot
        assert len(world[1].messages(CHANNEL)) == 1
    finally:
        bot.close()


def test_jobs_coalesce_with_a_deliberate_grace_time(tmp_path: Path, clock: FakeClock) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'jobs.db'}", env={}, clock=clock) as store:
        defaults = build_scheduler(store.engine, lambda due, done: None, clock)._job_defaults
    assert defaults == {"coalesce": True, "misfire_grace_time": 1800, "max_instances": 1}


def test_on_time_digest_is_posted_once_at_the_slot(world: tuple[FakeKube, FakeSlack, str], clock: FakeClock) -> None:
    clock.set(TODAY_9 - timedelta(seconds=30))
    bot = replica(world, clock)
    try:
        assert bot.runtime.step()
        assert bot.runtime.rounds.wait_idle(10) and world[1].messages(CHANNEL) == []  # not yet
        clock.set(TODAY_9)
        bot.runtime.wakeup()
        world[1].wait_for(lambda: world[1].messages(CHANNEL), timeout=10)
        for _ in range(3):  # later sweeps and wake-ups within the slot
            clock.advance(timedelta(minutes=5))
            bot.runtime.sweep()
            bot.runtime.wakeup()
        assert bot.runtime.rounds.wait_idle(10)
        [message] = world[1].messages(CHANNEL)
        assert "team-a" in message.text
    finally:
        bot.close()


def test_a_schedule_created_after_its_slot_does_not_post_it_at_once(
    world: tuple[FakeKube, FakeSlack, str], clock: FakeClock
) -> None:
    clock.set(TODAY_9 + timedelta(minutes=10))  # first deployed at 09:10: today's 09:00 was never owed
    bot = replica(world, clock)
    try:
        assert bot.runtime.step()
        assert bot.runtime.sweep() == []
        assert bot.runtime.rounds.wait_idle(10) and world[1].messages(CHANNEL) == []
    finally:
        bot.close()
