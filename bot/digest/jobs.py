"""APScheduler 3 set up for digests: one cron job per tenant in the store's database, run by the leader.

* Jobs live in a `SQLAlchemyJobStore` on the store's engine (table `apscheduler_digest_jobs`), so a
  job's next run time survives restarts and leader changes: a new leader knows which slot was due.
* `coalesce=True`: a bot that was down over several slots runs the job once, for the latest slot,
  not once per missed slot. `misfire_grace_time` (`MISFIRE_GRACE`, 30 min): a slot more than that
  late is skipped with a log line.
* Jobs are not run by APScheduler's thread pool: `DigestExecutor` receives the job with its
  scheduled run times, applies the grace time on the injected clock, and hands `(tenant, slot)` on.
  The slot (the scheduled time, not the time it ran) is the idempotency key, and it lets digests
  due at the same minute be collected together.
* A second, in-memory job store holds the leader's periodic sweep (a bound method: not persisted).

Only the leader runs this scheduler, and only the leader writes the job store: schedules set from
Slack on any replica are stored in `digest_schedules` and the leader syncs jobs from there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.base import BaseExecutor
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.engine import Engine

from bot.digest.schedule import MISFIRE_GRACE, Schedule, latest_slot
from bot.digest.state import Due
from bot.store.clock import Clock, as_utc

log = logging.getLogger(__name__)

JOB_TABLE = "apscheduler_digest_jobs"
JOB_PREFIX = "digest:"
SWEEP_JOB = "digest-sweep"
LOCAL = "local"

OnDue = Callable[[Due, Callable[[], None]], None]
"""Takes a due slot and a callback to call once it has been handled."""


def scheduled_digest(tenant: str, **_: Any) -> None:
    """What the job store records as the job's function. `DigestExecutor` runs digest jobs, never this."""
    raise RuntimeError(f"digest job for {tenant} ran outside DigestExecutor")


class SharedEngineJobStore(SQLAlchemyJobStore):  # type: ignore[misc]
    """The store owns the engine: the scheduler shutting down must not dispose it."""

    def shutdown(self) -> None:
        pass


class DigestExecutor(BaseExecutor):  # type: ignore[misc]
    """Hands due digest jobs to `on_due` with their slot; skips (and logs) slots past the grace time."""

    def __init__(self, on_due: OnDue, clock: Clock) -> None:
        super().__init__()
        self._on_due = on_due
        self._clock = clock

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        slot = as_utc(run_times[-1])  # coalesced: the latest missed slot only
        tenant = job.args[0]
        late = self._clock() - slot
        grace = timedelta(seconds=job.misfire_grace_time) if job.misfire_grace_time is not None else None
        if grace is not None and late > grace:
            log.warning(
                "digest of %s for the %s slot missed by %s (grace %s): skipped; next at %s",
                tenant,
                slot.isoformat(),
                _short(late),
                _short(grace),
                job.trigger.get_next_fire_time(None, self._clock()),
            )
            self._finish(job, slot, EVENT_JOB_MISSED)
            return
        self._on_due(Due(tenant, slot), lambda: self._finish(job, slot, EVENT_JOB_EXECUTED))

    def _finish(self, job: Job, slot: datetime, code: int) -> None:
        """Report back to the scheduler (its max_instances bookkeeping) from whichever thread finished.

        For a skipped slot this runs inside `submit_job`, before it counts the instance: the count goes
        to -1 and back to 0, the right net result (the base class has no hook for a job that never ran).
        """
        self._run_job_success(job.id, [JobExecutionEvent(code, job.id, "default", slot)])


def build_scheduler(engine: Engine, on_due: OnDue, clock: Clock) -> BackgroundScheduler:
    """A scheduler (not started) with the persistent digest jobs and the leader's local jobs."""
    return BackgroundScheduler(
        jobstores={"default": SharedEngineJobStore(engine=engine, tablename=JOB_TABLE), LOCAL: MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(1), "digest": DigestExecutor(on_due, clock)},
        job_defaults={
            "coalesce": True,
            "misfire_grace_time": int(MISFIRE_GRACE.total_seconds()),
            "max_instances": 1,
        },
        timezone="UTC",
    )


def sync_jobs(scheduler: BackgroundScheduler, wanted: Mapping[str, Schedule], now: datetime) -> list[str]:
    """Make the job store hold exactly one job per wanted tenant schedule. Returns what changed.

    A job records its schedule and since when it exists (`since`): a slot before that was never
    owed (a schedule set at 09:10 for 09:00 does not post at once). Next run times are computed on
    the injected clock, not APScheduler's.
    """
    changes = []
    existing = {job.id: job for job in scheduler.get_jobs(jobstore="default") if job.id.startswith(JOB_PREFIX)}
    for tenant, schedule in sorted(wanted.items()):
        job_id = JOB_PREFIX + tenant
        job = existing.pop(job_id, None)
        if job is not None and job.kwargs.get("schedule") == schedule.label:
            continue
        trigger = schedule.trigger()
        scheduler.add_job(
            scheduled_digest,
            trigger=trigger,
            args=[tenant],
            kwargs={"schedule": schedule.label, "since": as_utc(now).isoformat()},
            id=job_id,
            name=f"digest {tenant}",
            executor="digest",
            jobstore="default",
            replace_existing=True,
            next_run_time=trigger.get_next_fire_time(None, now),
        )
        changes.append(f"{'rescheduled' if job else 'scheduled'} {tenant}: {schedule.label}")
    for job_id in existing:
        scheduler.remove_job(job_id, jobstore="default")
        changes.append(f"unscheduled {job_id.removeprefix(JOB_PREFIX)}")
    return changes


def owed_slots(scheduler: BackgroundScheduler, now: datetime) -> list[Due]:
    """For every digest job: its latest slot within the grace time, if the job existed by then."""
    owed = []
    for job in scheduler.get_jobs(jobstore="default"):
        if not job.id.startswith(JOB_PREFIX):
            continue
        slot = latest_slot(job.trigger, now, MISFIRE_GRACE)
        since = datetime.fromisoformat(job.kwargs.get("since") or now.isoformat())
        if slot is not None and as_utc(slot) >= since:
            owed.append(Due(job.args[0], as_utc(slot)))
    return owed


def _short(delta: timedelta) -> str:
    return str(delta - timedelta(microseconds=delta.microseconds))
