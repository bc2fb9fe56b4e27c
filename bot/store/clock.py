"""Time as an injected dependency: the logic never reads the wall clock, so tests can move it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware."""


def system_clock() -> datetime:
    """The real clock: the default the application passes in; logic only sees a `Clock`."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Aware UTC. A naive value is taken as UTC: events from the executor are stamped in UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso_utc(value: datetime) -> str:
    """Fixed-width ISO form with microseconds: the canonical form the audit hash covers."""
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
