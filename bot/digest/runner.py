"""Posting digests: exactly once per tenant and scheduled slot, whichever replica gets there.

For a round of due slots the runner (1) drops slots already posted or being posted (one query),
(2) reads all remaining tenants with one batch collection, then per tenant (3) builds the digest,
(4) claims the slot in the store (`claim_digest_slot`: an INSERT the UNIQUE(tenant, slot) key lets
through once, across replicas and backends), (5) posts, (6) marks it posted and records the findings
it showed, the baseline of the next digest's "new" and "resolved".

The claim comes last before the post, so a replica that stalls in collection cannot hold a slot;
the window in which a claimer can die between claim and post is one Slack call. A claim that was
never marked posted (the claimer died, or Slack refused) is taken over after the store's 10-minute
lease by the leader's next sweep, still within the 30-minute grace time.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.diagnosis.view import TenantView
from bot.digest.blocks import DigestRenderer
from bot.digest.collect import CollectMany, TenantRead
from bot.digest.content import OPEN_STATES, DigestContent, build_content, window_start
from bot.digest.plan import TenantSchedule, effective_schedules
from bot.digest.state import DigestState, Due
from bot.errors import InputError
from bot.settings import BotConfig
from bot.store.clock import Clock
from bot.store.store import Store

log = logging.getLogger(__name__)


@dataclass
class RoundReport:
    posted: list[Due] = field(default_factory=list)
    skipped: list[tuple[Due, str]] = field(default_factory=list)  # done or being done elsewhere, or turned off
    failed: list[tuple[Due, str]] = field(default_factory=list)


class DigestRunner:
    def __init__(
        self,
        *,
        config: BotConfig,
        store: Store,
        client: WebClient,
        collect: CollectMany,
        replica_id: str,
        clock: Clock,
        renderer: DigestRenderer | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.client = client
        self.collect = collect
        self.replica_id = replica_id
        self.clock = clock
        self.state = DigestState(store.engine, clock)
        self.renderer = renderer or DigestRenderer()

    def schedules(self) -> dict[str, TenantSchedule]:
        return effective_schedules(self.config, self.state.overrides())

    # -- scheduled ----------------------------------------------------------------------------------

    def run_due(self, due: Sequence[Due]) -> RoundReport:
        report = RoundReport()
        wanted = list(dict.fromkeys(due))
        pending = self.state.open_slots(wanted)
        report.skipped += [(d, "already posted or being posted") for d in wanted if d not in pending]
        targets = self.schedules()
        ready = [d for d in pending if d.tenant in targets]
        report.skipped += [(d, "no digest scheduled any more") for d in pending if d.tenant not in targets]
        if not ready:
            return report
        reads = self.collect([d.tenant for d in ready])
        for item in ready:
            try:
                self._post_slot(item, reads[item.tenant], targets[item.tenant].channel, report)
            except Exception as exc:  # one tenant's failure must not cost the others their digest
                log.exception("digest of %s for %s failed", item.tenant, item.slot.isoformat())
                report.failed.append((item, str(exc)))
        log.info(
            "digest round: %d posted, %d skipped, %d failed",
            len(report.posted),
            len(report.skipped),
            len(report.failed),
        )
        return report

    def _post_slot(self, due: Due, read: TenantRead, channel: str, report: RoundReport) -> None:
        content = self.content(read, slot=due.slot)
        payload = self.renderer.message(content)
        if not self.store.digests.claim_digest_slot(due.tenant, due.slot, self.replica_id):
            report.skipped.append((due, "claimed by another replica"))
            return
        try:
            posted = self.client.chat_postMessage(channel=channel, unfurl_links=False, unfurl_media=False, **payload)
        except SlackApiError as exc:
            # The claim stays unposted: after the lease, a sweep retries it (within the grace time).
            log.error("digest of %s for %s: Slack refused: %s", due.tenant, due.slot.isoformat(), exc.response["error"])
            report.failed.append((due, str(exc.response["error"])))
            return
        self.store.digests.mark_posted(due.tenant, due.slot, channel=channel, message_ts=posted["ts"])
        self.state.record_baseline(due, content.findings)
        report.posted.append(due)

    # -- on request (Slack `now`, the CLI) ----------------------------------------------------------------

    def preview(self, tenant: str) -> DigestContent:
        """A digest of the tenant now, compared with its last scheduled digest; nothing is recorded."""
        if self.config.tenant(tenant) is None:
            raise InputError(f"{tenant!r} is not a tenant in the configuration")
        return self.content(self.collect([tenant])[tenant], slot=None)

    def post_now(self, tenant: str, channel: str) -> str:
        """Post a digest now (not a slot: no claim, and it does not move the baseline). Returns the ts."""
        payload = self.renderer.message(self.preview(tenant))
        posted = self.client.chat_postMessage(channel=channel, unfurl_links=False, unfurl_media=False, **payload)
        return str(posted["ts"])

    # -- content ----------------------------------------------------------------------------------

    def content(self, read: TenantRead, *, slot: datetime | None) -> DigestContent:
        return tenant_content(self.store, read, slot=slot, now=self.clock())


def tenant_content(store: Store | None, read: TenantRead, *, slot: datetime | None, now: datetime) -> DigestContent:
    """The digest of one read tenant, with its history from the store (none without a store: the CLI)."""
    baseline = DigestState(store.engine, store.clock).previous(read.namespace, slot or now) if store else None
    since = window_start(baseline, now)
    proposals = store.approvals.find(tenant=read.namespace, states=OPEN_STATES) if store else []
    audit = store.audit.query(read.namespace, since=since) if store else []
    return build_content(
        read.namespace,
        diagnosis=read.diagnosis,
        view=TenantView(read.snapshot) if read.snapshot is not None else None,
        error=read.error,
        baseline=baseline,
        proposals=proposals,
        audit=audit,
        slot=slot,
        now=now,
    )


class RoundQueue:
    """One worker thread turning slots that arrive together (200 tenants at 09:00) into one round.

    After the first slot arrives, it waits `window` seconds for more, so that one batch collection
    serves them all. `done` callbacks (the scheduler's bookkeeping) run after the round.
    """

    def __init__(self, run_round: Callable[[list[Due]], object], *, window: float = 0.5) -> None:
        self._run = run_round
        self._window = window
        self._items: queue.Queue[tuple[Due, Callable[[], None] | None] | None] = queue.Queue()
        self._unfinished = 0  # put but not yet run
        self._idle = threading.Condition()
        self._thread = threading.Thread(target=self._loop, name="digest-rounds", daemon=True)
        self._thread.start()

    def put(self, due: Due, done: Callable[[], None] | None = None) -> None:
        with self._idle:
            self._unfinished += 1
        self._items.put((due, done))

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True once everything queued so far has been run (tests, and shutdown)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._unfinished == 0, timeout)

    def close(self, timeout: float = 30.0) -> None:
        self._items.put(None)
        self._thread.join(timeout)

    def _loop(self) -> None:
        closing = False
        while not closing:
            first = self._items.get()
            if first is None:
                return
            batch = [first]
            while True:
                try:
                    item = self._items.get(timeout=self._window)
                except queue.Empty:
                    break
                if item is None:
                    closing = True
                    break
                batch.append(item)
            try:
                self._run([due for due, _ in batch])
            except Exception:
                log.exception("digest round failed")
            finally:
                for _, done in batch:
                    if done is not None:
                        done()
                with self._idle:
                    self._unfinished -= len(batch)
                    self._idle.notify_all()
