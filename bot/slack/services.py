"""What the Slack listeners need, built once at start-up and handed in (no globals).

The worker pool is bounded: Bolt must acknowledge within 3 seconds, so slow work (collection,
remediation) runs here, and when too much is queued a command is refused with a clear answer
instead of piling up behind a slow cluster.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubernetes import client

from bot.cluster.collector import Collector
from bot.diagnosis.models import Diagnosis
from bot.settings import BotConfig
from bot.slack.authz import Authorizer
from bot.snapshot import TenantSnapshot
from bot.store.store import Store


class WorkerPool:
    def __init__(self, workers: int, max_pending: int | None = None) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="seldon-work")
        self._slots = threading.BoundedSemaphore(max_pending or workers * 4)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future | None:
        """None when the queue is full: the caller tells the user to retry."""
        if not self._slots.acquire(blocking=False):
            return None
        future = self._pool.submit(fn, *args)
        future.add_done_callback(lambda _: self._slots.release())
        return future

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)


class DiagnosisCache:
    """Recent diagnoses by correlation id, so Details and Next buttons need no new collection."""

    def __init__(self, size: int = 64) -> None:
        self._items: OrderedDict[str, Diagnosis] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def put(self, key: str, diagnosis: Diagnosis) -> None:
        with self._lock:
            self._items[key] = diagnosis
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def get(self, key: str) -> Diagnosis | None:
        with self._lock:
            return self._items.get(key)


@dataclass
class Services:
    config: BotConfig
    authz: Authorizer
    store: Store
    kube: client.ApiClient
    pool: WorkerPool
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    replica_id: str = field(default_factory=lambda: f"replica-{uuid.uuid4().hex[:8]}")
    playbooks_dir: Path | None = None
    update_interval: float = 1.0  # seconds between chat.update calls of one message (Slack tier 3)
    poll_interval: float = 2.0  # rollout and verification polling
    cache: DiagnosisCache = field(default_factory=DiagnosisCache)

    def collect(self, namespace: str) -> TenantSnapshot:
        return Collector(
            self.kube, operator_namespace=self.config.operator_namespace, source="live:in-cluster"
        ).collect(namespace)
