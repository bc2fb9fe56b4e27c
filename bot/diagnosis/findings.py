"""Rank findings by how well they explain what the user sees, and mark the root causes."""

from __future__ import annotations

from bot.diagnosis.checks.base import finding
from bot.diagnosis.models import SEVERITY_WEIGHT, Finding, Symptom


def rank(findings: list[Finding], symptoms: list[Symptom]) -> list[Finding]:
    """Order: symptoms explained, then severity, then amount of evidence. Mutates rank/root_cause.

    A finding is a root cause when it explains a symptom that no higher-ranked finding explains;
    the rest are consequences or latent problems. Symptoms nothing explains become findings of
    their own, so a broken tenant never reads as healthy because a check is missing.
    """
    known = {s.id for s in symptoms}
    unique: dict[str, Finding] = {}
    for f in findings:
        f.explains = sorted({s for s in f.explains if s in known})
        unique.setdefault(f.id, f)
    ordered = sorted(
        unique.values(),
        key=lambda f: (-len(f.explains), -SEVERITY_WEIGHT[f.severity], -len(f.evidence), f.id),
    )
    covered: set[str] = set()
    for f in ordered:
        f.root_cause = bool(set(f.explains) - covered)
        covered |= set(f.explains)
    for symptom in symptoms:
        if symptom.id not in covered:
            ordered.append(
                finding(
                    "symptom.unexplained",
                    symptom.object,
                    "medium",
                    f"{symptom.summary}; no check explains why",
                    explains=[symptom.id],
                    explanation="Look at the object's events and the logs of its pods.",
                )
            )
            ordered[-1].root_cause = True
    for i, f in enumerate(ordered, start=1):
        f.rank = i
    return ordered
