"""Scheduled digests in a running bot: `start_digests(...)` at start-up, `.stop()` at shutdown.

Every replica runs leader election. The leader also runs the scheduler (one cron job per tenant)
and, every `sweep_interval`, a sweep that (1) syncs the jobs with the schedules (the config file
plus what was set from Slack on any replica) and (2) queues every slot still owed: due within the
grace time, since the schedule existed, and neither posted nor being posted. The sweep is what
makes a leader change mid-slot safe: the new leader finishes the slots the old one left, and the
store's claim makes sure nothing is posted twice.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from kubernetes import client
from slack_sdk import WebClient

from bot.digest.collect import BatchCollector, CollectMany
from bot.digest.jobs import LOCAL, SWEEP_JOB, build_scheduler, owed_slots, sync_jobs
from bot.digest.leader import LeaderElector, LeaseSettings, lease_namespace
from bot.digest.plan import validate_config
from bot.digest.runner import DigestRunner, RoundQueue
from bot.digest.state import Due
from bot.playbooks import load_playbook
from bot.slack.services import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RuntimeSettings:
    lease: LeaseSettings
    sweep_interval: timedelta = timedelta(seconds=30)
    """How soon a schedule set from Slack on another replica, or a slot left by a dead leader, is picked up."""
    round_window: float = 0.5
    """Seconds to wait for more due slots before a round: 09:00 for 200 tenants is one collection."""


class DigestRuntime:
    def __init__(
        self,
        services: Services,
        client: WebClient,
        kube_api: client.ApiClient,
        *,
        replica_id: str,
        settings: RuntimeSettings,
        collect: CollectMany | None = None,
    ) -> None:
        self.services = services
        self.settings = settings
        playbook = load_playbook("diagnose", services.playbooks_dir)
        self.runner = DigestRunner(
            config=services.config,
            store=services.store,
            client=client,
            collect=collect
            or BatchCollector(
                kube_api, playbook, operator_namespace=services.config.operator_namespace, clock=services.clock
            ),
            replica_id=replica_id,
            clock=services.clock,
        )
        self.rounds = RoundQueue(self.runner.run_due, window=settings.round_window)
        self.elector = LeaderElector(
            kube_api,
            replica_id,
            settings.lease,
            on_started_leading=self._lead,
            on_stopped_leading=self._follow,
            clock=services.clock,
        )
        self._scheduler: BackgroundScheduler | None = None
        self._scheduler_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def leading(self) -> bool:
        return self.elector.leading

    def start(self) -> DigestRuntime:
        """Run the election in the background (a thread per replica)."""
        self._thread = threading.Thread(target=self.elector.run, args=(self._stop,), name="digest-leader", daemon=True)
        self._thread.start()
        return self

    def step(self) -> bool:
        """One election round now (the thread does this every retry period; tests call it by hand)."""
        return self.elector.step()

    def stop(self) -> None:
        """Stop scheduling, hand the Lease over, then let the round in progress finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.elector.release()
        self.rounds.close()

    def sweep(self) -> list[Due]:
        """Sync jobs with the schedules, then queue every owed slot that is still open. Leader only."""
        with self._scheduler_lock:
            scheduler = self._scheduler
            if scheduler is None:
                return []
            now = self.services.clock()
            wanted = {tenant: plan.schedule for tenant, plan in self.runner.schedules().items()}
            for change in sync_jobs(scheduler, wanted, now):
                log.info("digest schedule: %s", change)
            owed = self.runner.state.open_slots(owed_slots(scheduler, now))
        for due in owed:
            self.rounds.put(due)
        return owed

    def wakeup(self) -> None:
        """Make the scheduler look at its jobs again now (after a test moved the clock)."""
        scheduler = self._scheduler
        if scheduler is not None:
            scheduler.wakeup()

    # -- leadership ---------------------------------------------------------------------------------

    def _lead(self) -> None:
        with self._scheduler_lock:
            scheduler = build_scheduler(self.services.store.engine, self.rounds.put, self.services.clock)
            scheduler.start(paused=True)
            self._scheduler = scheduler
        self.sweep()  # sync first, so the scheduler's first look sees today's jobs
        scheduler.add_job(
            self.sweep,
            "interval",
            seconds=self.settings.sweep_interval.total_seconds(),
            start_date=self.services.clock() + self.settings.sweep_interval,  # on the injected clock
            id=SWEEP_JOB,
            jobstore=LOCAL,
            misfire_grace_time=None,  # a late sweep is still worth running
            replace_existing=True,
        )
        scheduler.resume()  # now misfired persistent jobs run: coalesced, within the grace time

    def _follow(self) -> None:
        with self._scheduler_lock:
            scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None:
            scheduler.shutdown(wait=False)


def start_digests(
    services: Services,
    client: WebClient,
    kube_api: client.ApiClient,
    *,
    replica_id: str,
    settings: RuntimeSettings | None = None,
) -> DigestRuntime:
    """Validate the config's schedules, then start leader election (and, when leading, the scheduler).

    Needs RBAC for `get`, `create` and `update` on `leases.coordination.k8s.io` in the Lease's
    namespace ($SELDON_CHATOPS_LEASE_NAMESPACE, $POD_NAMESPACE or the pod's own).
    """
    validate_config(services.config)
    settings = settings or RuntimeSettings(LeaseSettings(namespace=lease_namespace()))
    return DigestRuntime(services, client, kube_api, replica_id=replica_id, settings=settings).start()
