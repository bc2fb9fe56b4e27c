"""What a check is: a pure function of a TenantView with a stable id, wrapped so it never crashes.

A check function returns an Outcome. `Check.run` turns it into a CheckResult plus its findings;
missing input kinds turn it into `skip` (not collected) or `error` (collection failed, with the
exact missing permission), and an exception inside the check becomes `error` with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from bot.diagnosis.models import CheckResult, CheckStatus, Evidence, Finding, ObjectRef, Severity
from bot.diagnosis.view import TenantView, obj_ref
from bot.snapshot import KubeObject


@dataclass
class Outcome:
    status: CheckStatus
    summary: str
    evidence: list[Evidence] = field(default_factory=list)
    explanation: str = ""
    findings: list[Finding] = field(default_factory=list)


def passed(summary: str, evidence: Iterable[Evidence] = (), explanation: str = "") -> Outcome:
    return Outcome("pass", summary, list(evidence), explanation)


def skipped(reason: str) -> Outcome:
    return Outcome("skip", reason)


def concluded(
    findings: list[Finding],
    ok_summary: str,
    ok_evidence: Iterable[Evidence] = (),
    explanation: str = "",
    warn_only: bool = False,
) -> Outcome:
    """`fail` (or `warn`) with the findings' evidence when there are findings, else `pass`."""
    if not findings:
        return passed(ok_summary, ok_evidence, explanation)
    worst = "warn" if warn_only or all(f.severity == "low" for f in findings) else "fail"
    summary = "; ".join(f.summary for f in findings[:3])
    if len(findings) > 3:
        summary += f"; and {len(findings) - 3} more"
    evidence = [e for f in findings for e in f.evidence]
    return Outcome(worst, summary, evidence, explanation or findings[0].explanation, findings)


def finding(
    code: str,
    subject: KubeObject | ObjectRef | None,
    severity: Severity,
    summary: str,
    evidence: Iterable[Evidence] = (),
    *,
    explanation: str = "",
    failure_mode: str | None = None,
    explains: Iterable[str] = (),
    data: dict | None = None,
) -> Finding:
    ref = obj_ref(subject) if isinstance(subject, KubeObject) else subject
    suffix = f"@{ref.kind.lower()}/{ref.name}" if ref else ""
    return Finding(
        id=f"{code}{suffix}",
        code=code,
        severity=severity,
        summary=summary,
        explanation=explanation,
        failure_mode=failure_mode,
        subject=ref,
        evidence=list(evidence),
        explains=list(explains),
        data=data or {},
    )


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    fn: Callable[[TenantView], Outcome]
    failure_modes: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()

    def run(self, view: TenantView) -> tuple[CheckResult, list[Finding]]:
        outcome = self._missing_input(view)
        if outcome is None:
            try:
                outcome = self.fn(view)
            except Exception as exc:  # a bug or an odd object must not hide the other checks
                outcome = Outcome("error", f"check failed on unexpected data: {type(exc).__name__}: {exc}")
        result = CheckResult(
            id=self.id,
            title=self.title,
            status=outcome.status,
            summary=outcome.summary,
            explanation=outcome.explanation,
            failure_modes=list(self.failure_modes),
            evidence=outcome.evidence,
            finding_ids=[f.id for f in outcome.findings],
        )
        return result, outcome.findings

    def _missing_input(self, view: TenantView) -> Outcome | None:
        for kind in self.needs:
            error = view.snap.errors.get(kind)
            if error:
                detail = f" (missing permission: {error.missing_permission})" if error.missing_permission else ""
                return Outcome("error", f"cannot judge: {kind} could not be read: {error.message}{detail}")
            if kind not in view.snap.objects:
                return skipped(f"cannot judge: {kind} were not collected")
        return None


def check(
    id: str, title: str, *, modes: tuple[str, ...] = (), needs: tuple[str, ...] = ()
) -> Callable[[Callable[[TenantView], Outcome]], Check]:
    """Declare a check; the module lists its checks in CHECKS (no global registry)."""

    def wrap(fn: Callable[[TenantView], Outcome]) -> Check:
        return Check(id=id, title=title, fn=fn, failure_modes=modes, needs=needs)

    return wrap
