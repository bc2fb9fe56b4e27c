"""Wait for a StatefulSet (or Deployment) rollout the way `kubectl rollout status` judges it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from bot.diagnosis.models import ObjectRef
from bot.remediation.kube import KubeTarget


class RolloutState(BaseModel):
    generation: int
    observed_generation: int
    replicas: int
    updated: int
    ready: int
    current_revision: str = ""
    update_revision: str = ""

    @property
    def done(self) -> bool:
        revisions_match = not self.update_revision or self.current_revision == self.update_revision
        return (
            self.observed_generation >= self.generation
            and self.updated >= self.replicas
            and self.ready >= self.replicas
            and revisions_match
        )

    def __str__(self) -> str:
        return f"{self.updated}/{self.replicas} updated, {self.ready}/{self.replicas} ready"


def rollout_state(obj: dict[str, Any]) -> RolloutState:
    status, spec = obj.get("status") or {}, obj.get("spec") or {}
    return RolloutState(
        generation=int(obj.get("metadata", {}).get("generation") or 0),
        observed_generation=int(status.get("observedGeneration") or 0),
        replicas=int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1),
        updated=int(status.get("updatedReplicas") or 0),
        ready=int(status.get("readyReplicas") or 0),
        current_revision=status.get("currentRevision") or "",
        update_revision=status.get("updateRevision") or "",
    )


class RolloutTimeout(Exception):
    def __init__(self, message: str, last: RolloutState | None) -> None:
        super().__init__(message)
        self.last = last


def wait_for_rollout(
    kube: KubeTarget,
    workload: ObjectRef,
    *,
    after_generation: int,
    timeout: float,
    interval: float = 2.0,
    on_progress: Callable[[RolloutState], None] = lambda _: None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> RolloutState:
    """Until the workload's template moved past `after_generation` and every replica is updated and ready.

    For a Server patch the operator changes the StatefulSet asynchronously: a generation that never
    moves means the operator did not act (or the change did not touch the pods), which times out.
    """
    deadline = clock() + timeout
    last: RolloutState | None = None
    while True:
        state = rollout_state(kube.get(workload))
        if state != last:
            on_progress(state)
            last = state
        if state.generation > after_generation and state.done:
            return state
        if clock() >= deadline:
            started = state.generation > after_generation
            why = str(state) if started else f"{workload} never changed (generation {state.generation})"
            raise RolloutTimeout(f"rollout of {workload} not finished after {timeout:.0f} s: {why}", state)
        sleep(interval)
