"""The one hand-moved clock the tests share (store, digests, Slack): aware datetimes, thread-safe moves."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self.now = self.now + delta
        return self.now

    def set(self, moment: datetime) -> datetime:
        with self._lock:
            self.now = moment
        return self.now
