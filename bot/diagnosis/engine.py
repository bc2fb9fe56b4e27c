"""Snapshot in, Diagnosis out: run a playbook's checks and matrix, rank findings, propose fixes."""

from __future__ import annotations

from typing import Any

from bot.diagnosis.checks import CATALOGUE
from bot.diagnosis.connectivity import build_matrix
from bot.diagnosis.findings import rank
from bot.diagnosis.models import (
    CheckResult,
    CheckStatus,
    CollectionProblem,
    ConnectivityRow,
    Diagnosis,
    Finding,
    StepResult,
)
from bot.diagnosis.symptoms import collect
from bot.diagnosis.view import TenantView
from bot.playbooks import Playbook, render
from bot.remediation.proposals import propose
from bot.snapshot import TenantSnapshot

_WORST = ("error", "fail", "warn", "skip", "pass")
_ROW_STATUS: dict[str, CheckStatus] = {"blocked": "fail", "degraded": "warn", "unknown": "skip", "ok": "pass"}


def _worst(statuses: list[CheckStatus]) -> CheckStatus:
    if statuses and all(s == "skip" for s in statuses):
        return "skip"
    return next((s for s in _WORST if s in statuses and s != "skip"), "pass")


def template_context(view: TenantView) -> dict[str, Any]:
    return {
        "namespace": view.ns,
        "operator_namespace": view.snap.operator_namespace,
        "servers": [s.name for s in view.servers],
        "models": [m.name for m in view.models],
        "runtime": view.runtime.name if view.runtime else None,
    }


def _steps(
    playbook: Playbook, checks: dict[str, CheckResult], rows: list[ConnectivityRow], context: dict[str, Any]
) -> list[StepResult]:
    steps = []
    for step in playbook.steps:
        results = [checks[c] for c in step.checks]
        step_rows = [r for r in rows if r.id.split("/")[0] in step.connectivity]
        statuses = [r.status for r in results] + [_ROW_STATUS[r.verdict] for r in step_rows]
        status = _worst(statuses)
        bad = [r.summary for r in results if r.status in ("fail", "error")] + [
            f"{r.source} -> {r.target}: {r.summary}" for r in step_rows if r.verdict == "blocked"
        ]
        summary = bad[0] if bad else f"{sum(s == 'pass' for s in statuses)}/{len(statuses)} passed"
        steps.append(
            StepResult(
                id=step.id,
                title=step.title,
                intro=render(step.intro, context),
                status=status,
                summary=summary,
                check_ids=step.checks,
                connectivity_ids=[r.id for r in step_rows],
                kubectl=[render(command, context) for command in step.kubectl],
            )
        )
    return steps


def _headline(view: TenantView, findings: list[Finding]) -> str:
    if not findings:
        ready = sum(
            1
            for m in view.models
            if any(
                c.get("status") == "True" and c.get("type") == "ModelReady" for c in m.status.get("conditions") or []
            )
        )
        return f"{view.ns} is healthy: {len(view.servers)} Server(s), {ready}/{len(view.models)} Models Ready"
    roots = [f for f in findings if f.root_cause] or findings
    more = len(findings) - 1
    return f"Root cause: {roots[0].summary}" + (f" (+{more} more finding{'s' * (more > 1)})" if more else "")


def diagnose(snapshot: TenantSnapshot, playbook: Playbook) -> Diagnosis:
    view = TenantView(snapshot)
    symptoms = collect(view)
    results: dict[str, CheckResult] = {}
    findings: list[Finding] = []
    for check_id in playbook.check_ids:
        result, found = CATALOGUE[check_id].run(view)
        results[check_id] = result
        findings += found
    rows: list[ConnectivityRow] = []
    if playbook.needs_matrix:
        wanted = {p for s in playbook.steps for p in s.connectivity}
        rows, row_findings = build_matrix(view, findings)
        rows = [r for r in rows if r.id.split("/")[0] in wanted]
        kept = {fid for r in rows for fid in r.finding_ids}
        findings += [f for f in row_findings if f.id in kept]
    ranked = rank(findings, symptoms)
    proposals = propose(ranked, view)
    explained = {f.id: f.explains for f in ranked}
    for proposal in proposals:
        proposal.check_ids = [r.id for r in results.values() if proposal.finding_id in r.finding_ids]
        proposal.symptom_ids = list(explained.get(proposal.finding_id, []))
    context = template_context(view)
    return Diagnosis(
        namespace=snapshot.namespace,
        playbook=playbook.name,
        collected_at=snapshot.collected_at,
        source=snapshot.source,
        tool_version=snapshot.tool_version,
        healthy=not ranked,
        headline=_headline(view, ranked),
        steps=_steps(playbook, results, rows, context),
        checks=list(results.values()),
        connectivity=rows,
        symptoms=symptoms,
        findings=ranked,
        proposals=proposals,
        collection_errors=[
            CollectionProblem(kind=e.kind, message=e.message, missing_permission=e.missing_permission)
            for e in snapshot.errors.values()
        ],
    )
