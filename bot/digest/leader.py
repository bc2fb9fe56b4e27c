"""Leader election on a `coordination.k8s.io/v1` Lease: only the leader runs scheduled digests.

The algorithm is client-go's: the leader renews `renewTime` every retry period; a follower takes the
Lease over once it has seen the same record, unchanged, for a whole lease duration, measured on its
own clock from when it first saw it (never by comparing `renewTime` with its clock, so skewed clocks
between nodes cannot cause two leaders). Every write carries the read `resourceVersion`: of two
followers racing for an expired Lease, the API server lets exactly one through (409 for the other).
A leader that cannot renew for `renew_deadline` (shorter than the lease) stops leading on its own,
before anyone else may start. On shutdown the leader empties `holderIdentity`, and followers take
over at their next try instead of waiting out the lease.

Leadership only saves work: a stale leader that still fires is harmless, because the store's claim
(`claim_digest_slot`) decides who posts a slot.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from bot.store.clock import Clock, as_utc, iso_utc, system_clock

log = logging.getLogger(__name__)

LEASE_NAME = "seldon-chatops-digest"
SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


@dataclass(frozen=True)
class LeaseSettings:
    """client-go's defaults: a dead leader is replaced within about 15 s."""

    namespace: str
    name: str = LEASE_NAME
    duration: timedelta = timedelta(seconds=15)
    renew_deadline: timedelta = timedelta(seconds=10)
    retry_period: timedelta = timedelta(seconds=2)
    request_timeout: float = 5.0

    def __post_init__(self) -> None:
        if not self.retry_period < self.renew_deadline < self.duration:
            raise ValueError("lease timings must satisfy retry_period < renew_deadline < duration")


def lease_namespace(env: dict[str, str] | None = None) -> str:
    """Where the Lease lives: $SELDON_CHATOPS_LEASE_NAMESPACE, $POD_NAMESPACE, the pod's own namespace, `default`."""
    env = dict(os.environ) if env is None else env
    for name in ("SELDON_CHATOPS_LEASE_NAMESPACE", "POD_NAMESPACE"):
        if env.get(name):
            return env[name]
    if SERVICE_ACCOUNT_NAMESPACE.is_file():
        return SERVICE_ACCOUNT_NAMESPACE.read_text(encoding="utf-8").strip() or "default"
    return "default"


@dataclass
class _Observed:
    """The last Lease record seen and when (on our clock) it was first seen like that."""

    record: tuple[Any, ...] = ()
    since: datetime | None = None
    holder: str = ""
    duration: timedelta = field(default_factory=lambda: timedelta(seconds=15))


class LeaderElector:
    """One replica's view of the election. `step()` is one round; `run()` repeats it until stopped."""

    def __init__(
        self,
        api: client.ApiClient,
        identity: str,
        settings: LeaseSettings,
        *,
        on_started_leading: Callable[[], None],
        on_stopped_leading: Callable[[], None],
        clock: Clock = system_clock,
    ) -> None:
        if not identity:
            raise ValueError("a leader election identity must not be empty")
        self._api = client.CoordinationV1Api(api)
        self.identity = identity
        self.settings = settings
        self._started, self._stopped = on_started_leading, on_stopped_leading
        self._clock = clock
        self._observed = _Observed()
        self._renewed_at: datetime | None = None
        self._leading = False
        self._lock = threading.Lock()  # step() and release() come from different threads

    @property
    def leading(self) -> bool:
        return self._leading

    @property
    def holder(self) -> str:
        """The holder as last observed ('' when released or never seen)."""
        return self._observed.holder

    def step(self) -> bool:
        """Acquire or renew once; start or stop leading accordingly. Returns whether this replica leads."""
        with self._lock:
            now = self._clock()
            if self._try(now):
                self._renewed_at = now
                if not self._leading:
                    self._leading = True
                    log.info("digest leader: %s acquired lease %s/%s", self.identity, *self._where())
                    self._started()
            elif self._leading and (self._observed.holder not in ("", self.identity) or self._deadline_passed(now)):
                self._leading = False
                log.warning("digest leader: %s lost lease %s/%s", self.identity, *self._where())
                self._stopped()
            return self._leading

    def run(self, stop: threading.Event) -> None:
        """Step every retry period until `stop` is set (the waiting is real time; the decisions use the clock)."""
        while not stop.is_set():
            try:
                self.step()
            except Exception:  # an election bug must not kill the thread: the next round tries again
                log.exception("digest leader election round failed")
            stop.wait(self.settings.retry_period.total_seconds())

    def release(self) -> None:
        """Stop leading and hand the Lease over: an empty holder lets a follower take it at once."""
        with self._lock:
            if not self._leading:
                return
            self._leading = False
            self._stopped()
            try:
                lease = self._read()
                if lease is not None and lease.spec and lease.spec.holder_identity == self.identity:
                    now = self._clock()
                    spec = {"holderIdentity": None, "leaseDurationSeconds": 1, "renewTime": iso_utc(now)}
                    self._write(lease, {**_spec_doc(lease), **spec})
                    log.info("digest leader: %s released lease %s/%s", self.identity, *self._where())
            except (ApiException, HTTPError, OSError) as exc:
                log.warning("digest leader: could not release the lease (it expires on its own): %s", exc)

    # -- one round ----------------------------------------------------------------------------------

    def _try(self, now: datetime) -> bool:
        try:
            lease = self._read()
            if lease is None:
                return self._create(now)
            self._observe(lease, now)
            holder = self._observed.holder
            if holder and holder != self.identity and not self._expired(now):
                return False
            spec = _spec_doc(lease)
            spec.update(
                holderIdentity=self.identity,
                leaseDurationSeconds=int(self.settings.duration.total_seconds()),
                renewTime=iso_utc(now),
            )
            if holder != self.identity:
                spec.update(acquireTime=iso_utc(now), leaseTransitions=(spec.get("leaseTransitions") or 0) + 1)
            written = self._write(lease, spec)
            self._observe(written, now)
            return True
        except ApiException as exc:
            if exc.status != 409:
                log.warning("digest leader: lease %s/%s: %s %s", *self._where(), exc.status, exc.reason)
            return False
        except (HTTPError, OSError) as exc:
            log.warning("digest leader: API unreachable: %s", exc)
            return False

    def _expired(self, now: datetime) -> bool:
        since = self._observed.since
        return since is not None and since + self._observed.duration <= now

    def _deadline_passed(self, now: datetime) -> bool:
        return self._renewed_at is None or now - self._renewed_at >= self.settings.renew_deadline

    def _observe(self, lease: client.V1Lease, now: datetime) -> None:
        spec = lease.spec or client.V1LeaseSpec()
        record = (spec.holder_identity, spec.renew_time, spec.lease_duration_seconds, spec.lease_transitions)
        if record != self._observed.record:
            seconds = spec.lease_duration_seconds or int(self.settings.duration.total_seconds())
            self._observed = _Observed(record, now, spec.holder_identity or "", timedelta(seconds=seconds))

    # -- API ----------------------------------------------------------------------------------------

    def _where(self) -> tuple[str, str]:
        return self.settings.namespace, self.settings.name

    def _read(self) -> client.V1Lease | None:
        try:
            return self._api.read_namespaced_lease(
                self.settings.name, self.settings.namespace, _request_timeout=self.settings.request_timeout
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def _create(self, now: datetime) -> bool:
        body = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": self.settings.name, "namespace": self.settings.namespace},
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": int(self.settings.duration.total_seconds()),
                "acquireTime": iso_utc(now),
                "renewTime": iso_utc(now),
                "leaseTransitions": 0,
            },
        }
        created = self._api.create_namespaced_lease(
            self.settings.namespace, body, _request_timeout=self.settings.request_timeout
        )
        self._observe(created, now)
        return True

    def _write(self, lease: client.V1Lease, spec: dict[str, Any]) -> client.V1Lease:
        """PUT with the read resourceVersion: a concurrent writer makes this a 409, never an overwrite."""
        body = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {
                "name": self.settings.name,
                "namespace": self.settings.namespace,
                "resourceVersion": lease.metadata.resource_version,
            },
            "spec": spec,
        }
        return self._api.replace_namespaced_lease(
            self.settings.name, self.settings.namespace, body, _request_timeout=self.settings.request_timeout
        )


def _spec_doc(lease: client.V1Lease) -> dict[str, Any]:
    """The Lease spec as the API spells it, times in MicroTime form (six fractional digits, `Z`).

    The client would send `datetime.isoformat()`, which drops the fraction at .000000 and which the
    API server's MicroTime parser then refuses; so times are written as strings.
    """
    spec = lease.spec or client.V1LeaseSpec()
    doc: dict[str, Any] = {
        "holderIdentity": spec.holder_identity,
        "leaseDurationSeconds": spec.lease_duration_seconds,
        "leaseTransitions": spec.lease_transitions,
    }
    for key, value in (("acquireTime", spec.acquire_time), ("renewTime", spec.renew_time)):
        if value is not None:
            doc[key] = iso_utc(as_utc(value))
    return {k: v for k, v in doc.items() if v is not None}
