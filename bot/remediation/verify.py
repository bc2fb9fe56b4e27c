"""Did the remediation fix it? Re-collect, re-run the checks tied to the finding, report with evidence."""

from __future__ import annotations

import time
from collections.abc import Callable

from pydantic import BaseModel, Field

from bot.diagnosis.engine import diagnose
from bot.diagnosis.models import Diagnosis, Evidence
from bot.diagnosis.symptoms import model_ready
from bot.diagnosis.view import TenantView
from bot.playbooks import Playbook
from bot.snapshot import TenantSnapshot


class Verification(BaseModel):
    fixed: bool
    summary: str
    evidence: list[Evidence] = Field(default_factory=list)
    attempts: int = 1


def judge(
    diagnosis: Diagnosis, snapshot: TenantSnapshot, finding_id: str, check_ids: list[str], symptom_ids: list[str] = ()
) -> Verification:
    """Fixed = the finding is gone, the symptoms it explained are gone, and its checks could run.

    The finding can disappear from the pod spec long before the scheduler has placed the Models;
    only the symptoms (Models Ready) prove the user sees the fix.
    """
    view = TenantView(snapshot)
    ready = sum(model_ready(m) for m in view.models)
    evidence = [Evidence(summary=f"Models ready: {ready}/{len(view.models)}")]
    checks = [c for c in diagnosis.checks if c.id in check_ids]
    for check in checks:
        evidence.append(Evidence(summary=f"check {check.id}: {check.status}: {check.summary}"))
        evidence += [e for e in check.evidence if e.log][:2]  # e.g. the agent's new capacity line
    blind = next((c for c in checks if c.status == "error"), None)
    if blind is not None:
        return Verification(fixed=False, summary=f"cannot verify: {blind.id}: {blind.summary}", evidence=evidence)
    still = next((f for f in diagnosis.findings if f.id == finding_id), None) if finding_id else None
    if still is not None:
        return Verification(fixed=False, summary=f"still present: {still.summary}", evidence=evidence)
    remaining = [s for s in diagnosis.symptoms if s.id in symptom_ids]
    if remaining:
        return Verification(
            fixed=False,
            summary=f"the cause is gone but not yet its effect: {remaining[0].summary}",
            evidence=evidence + [Evidence(summary=s.summary) for s in remaining[1:3]],
        )
    if not finding_id:  # no finding to make disappear (a plain restart): the checks must pass
        failing = [c for c in checks if c.status not in ("pass", "skip")]
        if failing:
            return Verification(fixed=False, summary=f"{failing[0].id}: {failing[0].summary}", evidence=evidence)
        return Verification(fixed=True, summary="checks pass: " + ", ".join(check_ids), evidence=evidence)
    return Verification(
        fixed=True, summary=f"finding {finding_id} is gone and the symptoms it explained cleared", evidence=evidence
    )


class LiveVerifier:
    """Polls: agents re-subscribe and Models reschedule some time after the pods rolled."""

    def __init__(
        self,
        collect: Callable[[], TenantSnapshot],
        playbook: Playbook,
        *,
        timeout: float = 300.0,
        interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.collect, self.playbook = collect, playbook
        self.timeout, self.interval, self.clock, self.sleep = timeout, interval, clock, sleep

    def __call__(self, finding_id: str, check_ids: list[str], symptom_ids: list[str] = ()) -> Verification:
        deadline, attempts = self.clock() + self.timeout, 0
        while True:
            attempts += 1
            snapshot = self.collect()
            result = judge(diagnose(snapshot, self.playbook), snapshot, finding_id, check_ids, symptom_ids)
            result.attempts = attempts
            if result.fixed or self.clock() >= deadline:
                return result
            self.sleep(self.interval)
