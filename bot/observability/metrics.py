"""Prometheus metrics of the bot, on one registry served at `/metrics`.

A registry of our own (not prometheus-client's global one) so that tests and a second `serve` in
the same process see exactly these series, plus the process and platform collectors for RSS, CPU
and open files. Label values are bounded: command verbs, check ids, Kubernetes verbs and resource
names, Slack method names and error codes; never a namespace, user or object name, which would
grow the series with the cluster.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

import sqlalchemy as sa
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from bot.store.schema import PROPOSAL_STATES, proposals

if TYPE_CHECKING:
    from bot.store.store import Store

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

# Latency buckets: API calls sit in tens of milliseconds, checks in microseconds to milliseconds.
_API_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_CHECK_BUCKETS = (0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0)

COMMANDS = Counter(
    "seldon_chatops_commands",
    "Slash commands by verb and outcome at acknowledgement (accepted, refused, invalid, help).",
    ["command", "outcome"],
    registry=REGISTRY,
)
APPROVAL_ACTIONS = Counter(
    "seldon_chatops_approval_actions",
    "Approve and Reject clicks and reject-reason submissions received (the store decides who wins).",
    ["action"],
    registry=REGISTRY,
)
CHECK_DURATION = Histogram(
    "seldon_chatops_check_duration_seconds",
    "Time one diagnosis check took.",
    ["check"],
    buckets=_CHECK_BUCKETS,
    registry=REGISTRY,
)
CHECK_RESULTS = Counter(
    "seldon_chatops_check_results",
    "Check results by check and status (pass, warn, fail, error, skip).",
    ["check", "status"],
    registry=REGISTRY,
)
KUBE_DURATION = Histogram(
    "seldon_chatops_kubernetes_request_duration_seconds",
    "Kubernetes API request latency (one HTTP request; client retries are separate requests).",
    ["verb", "resource"],
    buckets=_API_BUCKETS,
    registry=REGISTRY,
)
KUBE_REQUESTS = Counter(
    "seldon_chatops_kubernetes_requests",
    "Kubernetes API requests by verb, resource and HTTP status code ('error' when no answer came).",
    ["verb", "resource", "code"],
    registry=REGISTRY,
)
SLACK_DURATION = Histogram(
    "seldon_chatops_slack_api_duration_seconds",
    "Slack Web API call latency, including the client's own retries of 429s and dropped connections.",
    ["method"],
    buckets=_API_BUCKETS,
    registry=REGISTRY,
)
SLACK_CALLS = Counter(
    "seldon_chatops_slack_api_calls",
    "Slack Web API calls by method and outcome ('ok', Slack's error code, or 'unreachable').",
    ["method", "outcome"],
    registry=REGISTRY,
)
WORK_IN_FLIGHT = Gauge(
    "seldon_chatops_work_in_flight",
    "Diagnoses and remediations queued or running in the worker pool.",
    registry=REGISTRY,
)
WORK_REFUSED = Counter(
    "seldon_chatops_work_refused",
    "Work refused because the worker pool's queue was full (the user is told to retry).",
    registry=REGISTRY,
)

_LABEL = re.compile(r"[^a-z0-9_.:/-]")


def label(value: str, limit: int = 64) -> str:
    """A label value from outside input (an error code): lower-case, a safe charset, bounded length."""
    return _LABEL.sub("_", value.lower())[:limit] or "unknown"


class _ProposalStates(Collector):
    """`seldon_chatops_proposals{state}`: read from the store at scrape time, the system of record.

    Counting transitions in-process would show only this replica's share and reset on restart;
    the store's counts are what every replica agrees on. One indexed GROUP BY per scrape.
    """

    def __init__(self) -> None:
        self._store: Store | None = None
        self._lock = threading.Lock()

    def track(self, store: Store | None) -> None:
        with self._lock:
            self._store = store

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily("seldon_chatops_proposals", "Remediation proposals in the store by state.")

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:
            store = self._store
        if store is None:
            return
        family = GaugeMetricFamily(
            "seldon_chatops_proposals", "Remediation proposals in the store by state.", labels=["state"]
        )
        try:
            with store.engine.connect() as conn:
                stmt = sa.select(proposals.c.state, sa.func.count()).group_by(proposals.c.state)
                counts = {state: int(n) for state, n in conn.execute(stmt)}
        except sa.exc.SQLAlchemyError as exc:  # a scrape must not fail because the database blinked
            log.warning("cannot count proposals for /metrics: %s", type(exc).__name__)
            return
        for state in PROPOSAL_STATES:
            family.add_metric([state], counts.get(state, 0))
        yield family


PROPOSAL_STATES_COLLECTOR = _ProposalStates()
REGISTRY.register(PROPOSAL_STATES_COLLECTOR)


def track_store(store: Store | None) -> None:
    """Report proposals by state from this store (None stops)."""
    PROPOSAL_STATES_COLLECTOR.track(store)


def render() -> tuple[bytes, str]:
    """(body, content type) of the text exposition format."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
