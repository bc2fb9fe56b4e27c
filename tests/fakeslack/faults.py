"""Injected faults, per method name ("chat.postMessage", or "upload" / "response_url"; None matches every call).

A latency fault delays the call and lets it go on; a failure fault answers instead of the method: HTTP 429 with
Retry-After and {"ok": false, "error": "ratelimited"}, or {"ok": false, "error": ...} with HTTP 200.
`times` bounds how many calls a fault hits (None: until cleared). Faults apply in the order they were added.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from .state import Json


@dataclass
class Fault:
    method: str | None
    remaining: int | None
    latency: float = 0.0
    status: int | None = None  # None: a latency-only fault
    body: Json = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def matches(self, method: str) -> bool:
        return self.method is None or self.method == method


@dataclass(frozen=True)
class Outcome:
    delay: float
    failure: Fault | None


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        if fault.remaining is not None and fault.remaining <= 0:
            raise ValueError("times must be positive (or None for every call)")
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, method: str) -> Outcome:
        """The total delay for this call and the failure that answers it, counting both against `times`."""
        delay, failure = 0.0, None
        with self._lock:
            for fault in list(self._faults):
                if not fault.matches(method) or (fault.status is not None and failure is not None):
                    continue
                delay += fault.latency
                if fault.status is not None:
                    failure = fault
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
        return Outcome(delay, failure)
