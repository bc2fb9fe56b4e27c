"""Ordering, grouping and formatting shared by the text and Markdown renderers.

Renderers only present a Diagnosis; everything here is a pure view of its fields, so the terminal
output and a pasted support ticket always agree on order, labels and wording.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import yaml

from bot.diagnosis.models import (
    SEVERITY_WEIGHT,
    CheckResult,
    CollectionProblem,
    ConnectivityRow,
    Diagnosis,
    Evidence,
    Finding,
    Proposal,
    StepResult,
)

STATUS_ICON: dict[str, str] = {
    "pass": "[PASS]",
    "fail": "[FAIL]",
    "warn": "[WARN]",
    "skip": "[SKIP]",
    "error": "[ERR ]",
}
ROOT_CAUSE = "ROOT CAUSE"
FINDING_EVIDENCE_LIMIT = 5
VALUE_LIMIT = 160


@dataclass(frozen=True)
class StepGroup:
    """A playbook step with its checks and paths resolved; `step` is None for checks no step claims."""

    step: StepResult | None
    checks: list[CheckResult]
    rows: list[ConnectivityRow]

    @property
    def title(self) -> str:
        return self.step.title if self.step else "Other checks"


def truncate(text: str, width: int) -> str:
    text = " ".join(text.split())  # cells and one-liners must not break the layout with newlines
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def status_line(diagnosis: Diagnosis) -> str:
    count = len(diagnosis.findings)
    line = f"{count} finding{'s' if count != 1 else ''}"
    if diagnosis.healthy:  # healthy may still carry low-severity findings; say so rather than hide them
        return f"HEALTHY ({line})" if count else "HEALTHY"
    if not count:  # e.g. collection errors prevented any judgement
        return "NOT HEALTHY"
    roots = sum(f.root_cause for f in diagnosis.findings)
    return f"{line} ({roots} root cause{'s' if roots != 1 else ''})" if roots else line


def format_time(moment: datetime) -> str:
    if moment.utcoffset() == timedelta(0):
        return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    return moment.isoformat(timespec="seconds")


def header_facts(diagnosis: Diagnosis) -> list[tuple[str, str]]:
    return [
        ("Namespace", diagnosis.namespace),
        ("Playbook", diagnosis.playbook),
        ("Source", diagnosis.source),
        ("Collected", format_time(diagnosis.collected_at)),
        ("Tool", f"{diagnosis.tool_version} (schema {diagnosis.schema_version})"),
    ]


def problem_line(problem: CollectionProblem) -> str:
    line = f"{problem.kind}: {problem.message}"
    permission = problem.missing_permission
    return f"{line} (missing permission: {permission})" if permission else line


def step_groups(diagnosis: Diagnosis) -> list[StepGroup]:
    """Steps in playbook order, each with its checks and paths in the step's own order."""
    checks = {c.id: c for c in diagnosis.checks}
    rows = {r.id: r for r in diagnosis.connectivity}
    groups = [
        StepGroup(
            step,
            [checks[i] for i in step.check_ids if i in checks],
            [rows[i] for i in step.connectivity_ids if i in rows],
        )
        for step in diagnosis.steps
    ]
    claimed = {i for step in diagnosis.steps for i in step.check_ids}
    orphans = [c for c in diagnosis.checks if c.id not in claimed]
    if orphans:  # never hide a check just because the playbook did not place it
        groups.append(StepGroup(None, orphans, []))
    return groups


def group_status(group: StepGroup) -> str:
    return group.step.status if group.step else worst_status(c.status for c in group.checks)


def worst_status(statuses: Iterable[str]) -> str:
    order = ["fail", "error", "warn", "skip", "pass"]
    found = set(statuses)
    return next((s for s in order if s in found), "pass")


def paths_summary(rows: list[ConnectivityRow]) -> str:
    """One line per step pointing at the matrix instead of repeating it."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.verdict] = counts.get(row.verdict, 0) + 1
    detail = ", ".join(f"{n} {verdict}" for verdict, n in sorted(counts.items()))
    return f"{len(rows)} path{'s' if len(rows) != 1 else ''} checked: {detail} (see connectivity matrix)"


def ordered_findings(diagnosis: Diagnosis) -> list[Finding]:
    """Root causes first, then by rank (0 = unranked, last), then severity, then id for stability."""
    return sorted(
        diagnosis.findings,
        key=lambda f: (not f.root_cause, f.rank if f.rank > 0 else math.inf, -SEVERITY_WEIGHT.get(f.severity, 0), f.id),
    )


def ordered_proposals(diagnosis: Diagnosis) -> list[Proposal]:
    """Proposals follow the order of the findings they fix, so the root-cause fix comes first."""
    position = {f.id: i for i, f in enumerate(ordered_findings(diagnosis))}
    indexed = enumerate(diagnosis.proposals)
    return [p for _, p in sorted(indexed, key=lambda ip: (position.get(ip[1].finding_id, math.inf), ip[0]))]


def finding_label(finding: Finding) -> str:
    return f"{ROOT_CAUSE} · {finding.severity}" if finding.root_cause else finding.severity


def finding_facts(diagnosis: Diagnosis, finding: Finding) -> list[tuple[str, str]]:
    symptoms = {s.id: s.summary for s in diagnosis.symptoms}
    facts = [("Code", finding.code)]
    if finding.failure_mode:
        facts.append(("Failure mode", finding.failure_mode))
    if finding.subject:
        facts.append(("Subject", str(finding.subject)))
    if finding.explains:
        facts.append(("Explains", "; ".join(symptoms.get(i, i) for i in finding.explains)))
    return facts


def port_label(row: ConnectivityRow) -> str:
    port = str(row.port)
    if row.target_port is not None and row.target_port != row.port:
        port += f"->{row.target_port}"
    return port if row.protocol == "TCP" else f"{port}/{row.protocol}"


def target_label(proposal: Proposal) -> str:
    rv = proposal.target_resource_version
    return f"{proposal.target} (resourceVersion {rv})" if rv else str(proposal.target)


def proposal_facts(diagnosis: Diagnosis, proposal: Proposal) -> list[tuple[str, str]]:
    findings = {f.id: f for f in diagnosis.findings}
    fixes = findings.get(proposal.finding_id)
    action = proposal.action + (" (applied by the bot after approval)" if proposal.automatic else "")
    facts = [("Action", action), ("Target", target_label(proposal))]
    if proposal.patch_type != "none":
        facts.append(("Patch type", proposal.patch_type))
    facts.append(("Fixes", fixes.summary if fixes else proposal.finding_id))
    return facts


def format_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return truncate(text, VALUE_LIMIT)


def evidence_source(evidence: Evidence) -> str | None:
    """Where the fact was read: `pod/container [time] line` or `Kind ns/name field = value`."""
    if evidence.log:
        log = evidence.log
        previous = " (previous)" if log.previous else ""
        stamp = f" [{log.time}]" if log.time else ""
        return f"{log.pod}/{log.container}{previous}{stamp} {truncate(log.line, VALUE_LIMIT)}"
    if evidence.object is None:
        return None
    if evidence.field is None:
        return str(evidence.object)
    return f"{evidence.object} {evidence.field} = {format_value(evidence.value)}"


def limited(items: list[Any], limit: int) -> tuple[list[Any], int]:
    """The first `limit` items and how many were left out."""
    return items[:limit], max(len(items) - limit, 0)


def patch_fallback(proposal: Proposal) -> str | None:
    """The raw patch as YAML, shown only when the engine produced no diff to display."""
    if proposal.diff or proposal.patch is None:
        return None
    return to_yaml(proposal.patch)


def to_yaml(data: Any) -> str:
    text: str = yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True)
    return text
