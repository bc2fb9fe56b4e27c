"""Injected failures, chosen per request path (a regex searched in the URL path) and method.

A fault can add latency, answer with an error status, or reset the connection without answering.
`times` bounds how many matching requests it hits; the first matching live fault wins.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass


@dataclass
class Fault:
    pattern: re.Pattern[str]
    method: str | None = None
    status: int | None = None
    latency: float = 0.0
    reset: bool = False
    remaining: int | None = None  # None: forever

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method.upper() == method) and bool(self.pattern.search(path))


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.latency = 0.0  # added to every request

    def add(
        self,
        path: str,
        *,
        method: str | None = None,
        status: int | None = None,
        latency: float = 0.0,
        reset: bool = False,
        times: int | None = None,
    ) -> None:
        if status is None and not reset and not latency:
            raise ValueError("a fault needs a status, a latency or reset=True")
        fault = Fault(re.compile(path), method, status, latency, reset, times)
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        """Drop the injected faults; the global latency is a separate knob (set it to 0)."""
        with self._lock:
            self._faults.clear()

    def take(self, method: str, path: str) -> Fault | None:
        """The fault for this request, counting it against `times` (exhausted faults are dropped)."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining <= 0:
                            self._faults.remove(fault)
                    return fault
        return None
