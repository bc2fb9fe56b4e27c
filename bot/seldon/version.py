"""Seldon image versions: which agent behaviour (and log lines) to expect."""

from __future__ import annotations

import re

from pydantic import BaseModel

_TAG = re.compile(r":v?(\d+)\.(\d+)\.(\d+)")


class Version(BaseModel, frozen=True):
    major: int
    minor: int
    patch: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    def at_least(self, major: int, minor: int, patch: int = 0) -> bool:
        return (self.major, self.minor, self.patch) >= (major, minor, patch)


def image_version(image: str | None) -> Version | None:
    """`docker.io/seldonio/seldon-agent:2.10.2` -> 2.10.2; `latest` or a digest -> None (unknown)."""
    if not image:
        return None
    match = _TAG.search(image.split("@", 1)[0].rsplit("/", 1)[-1])
    if not match:
        return None
    return Version(major=int(match[1]), minor=int(match[2]), patch=int(match[3]))


# Agent milestones (see docs/seldon-v2.md section 0).
READINESS_PROBE = (2, 9, 1)  # /ready on SELDON_READINESS_PORT, "Waiting for ..." lines (#6560)
ENDPOINTSLICE_GATE = (2, 10, 0)  # EndpointSlice gate, zombie agent on mid-life outage (#6636)
