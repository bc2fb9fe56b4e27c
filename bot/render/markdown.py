"""GitHub-flavoured Markdown rendering of a Diagnosis, for pasting into a support ticket."""

from __future__ import annotations

import re

from bot.diagnosis.models import Diagnosis, Evidence, Finding, Proposal
from bot.render import common


def render_markdown(diagnosis: Diagnosis, *, verbose: bool = False) -> str:
    parts = [
        _header(diagnosis),
        _collection_errors(diagnosis),
        _symptoms(diagnosis),
        _steps(diagnosis, verbose),
        _matrix(diagnosis),
        _findings(diagnosis),
        _proposals(diagnosis),
    ]
    return "\n\n".join(p for p in parts if p).rstrip() + "\n"


# -- primitives -----------------------------------------------------------------------------


def cell(text: str) -> str:
    """A table cell: one line, pipes escaped so they do not split the column."""
    return " ".join(text.split()).replace("|", "\\|")


def code(text: str) -> str:
    """Inline code that survives backticks inside `text`."""
    ticks = "`" * (max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def fence(body: str, lang: str) -> str:
    """A fenced block longer than any backtick run in `body`, so a diff of Markdown cannot close it."""
    ticks = "`" * max(3, max((len(m) for m in re.findall(r"`+", body)), default=0) + 1)
    return f"{ticks}{lang}\n{body.rstrip()}\n{ticks}"


def table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def facts(pairs: list[tuple[str, str]]) -> str:
    return "\n".join(f"- **{name}:** {value}" for name, value in pairs)


def bullets(items: list[str], ordered: bool = False) -> str:
    return "\n".join(f"{f'{i}.' if ordered else '-'} {text}" for i, text in enumerate(items, 1))


def evidence_item(evidence: Evidence) -> str:
    source = common.evidence_source(evidence)
    return f"{evidence.summary} — {code(source)}" if source else evidence.summary


# -- sections -------------------------------------------------------------------------------


def _header(diagnosis: Diagnosis) -> str:
    title = f"# Seldon Core v2 diagnosis: {code(diagnosis.namespace)}"
    result = f"**Result: {common.status_line(diagnosis)}**"
    return "\n\n".join([title, f"> {diagnosis.headline}", result, facts(common.header_facts(diagnosis))])


def _collection_errors(diagnosis: Diagnosis) -> str:
    if not diagnosis.collection_errors:
        return ""
    return "## Collection errors\n\n" + bullets([common.problem_line(p) for p in diagnosis.collection_errors])


def _symptoms(diagnosis: Diagnosis) -> str:
    if not diagnosis.symptoms:
        return ""
    return "## Symptoms\n\n" + bullets([f"{code(str(s.object))}: {s.summary}" for s in diagnosis.symptoms])


def _steps(diagnosis: Diagnosis, verbose: bool) -> str:
    groups = common.step_groups(diagnosis)
    if not groups:
        return ""
    return "## Steps\n\n" + "\n\n".join(_step(n, g, verbose) for n, g in enumerate(groups, 1))


def _step(number: int, group: common.StepGroup, verbose: bool) -> str:
    icon = common.STATUS_ICON[common.group_status(group)]
    summary = f": {group.step.summary}" if group.step and group.step.summary else ""
    parts = [f"### {icon} {number}. {group.title}{summary}"]
    if verbose and group.step and group.step.intro:
        parts.append(f"_{group.step.intro}_")
    rows = [[common.STATUS_ICON[c.status], c.title, c.summary] for c in group.checks]
    if rows:
        parts.append(table(["Status", "Check", "Summary"], rows))
    if group.rows:
        parts.append(common.paths_summary(group.rows))
    if verbose:
        parts += [
            f"**Evidence for {c.title}:**\n\n" + bullets([evidence_item(e) for e in c.evidence])
            for c in group.checks
            if c.evidence
        ]
    return "\n\n".join(parts)


def _matrix(diagnosis: Diagnosis) -> str:
    if not diagnosis.connectivity:
        return ""
    # Anything but "ok" is bold so a blocked path stands out in a long table.
    rows = [
        [
            f"{r.source} → {r.target}",
            common.port_label(r),
            r.verdict if r.verdict == "ok" else f"**{r.verdict}**",
            r.summary,
        ]
        for r in diagnosis.connectivity
    ]
    return "## Connectivity\n\n" + table(["Path", "Port", "Verdict", "Summary"], rows)


def _findings(diagnosis: Diagnosis) -> str:
    if not diagnosis.findings:
        return ""
    ordered = common.ordered_findings(diagnosis)
    return "## Findings\n\n" + "\n\n".join(_finding(diagnosis, n, f) for n, f in enumerate(ordered, 1))


def _finding(diagnosis: Diagnosis, number: int, finding: Finding) -> str:
    parts = [
        f"### {number}. [{common.finding_label(finding)}] {finding.summary}",
        facts(common.finding_facts(diagnosis, finding)),
    ]
    shown, hidden = common.limited(finding.evidence, common.FINDING_EVIDENCE_LIMIT)
    if shown:
        more = [f"… and {hidden} more evidence (see JSON output)"] if hidden else []
        parts.append("**Evidence:**\n\n" + bullets([evidence_item(e) for e in shown] + more))
    if finding.explanation:
        parts.append(finding.explanation)
    return "\n\n".join(parts)


def _proposals(diagnosis: Diagnosis) -> str:
    if not diagnosis.proposals:
        return ""
    ordered = common.ordered_proposals(diagnosis)
    return "## Proposals\n\n" + "\n\n".join(_proposal(diagnosis, n, p) for n, p in enumerate(ordered, 1))


def _proposal(diagnosis: Diagnosis, number: int, proposal: Proposal) -> str:
    parts = [
        f"### {number}. {proposal.title}",
        facts(common.proposal_facts(diagnosis, proposal)),
        f"**Why:** {proposal.rationale}",
    ]
    for label, items in (("Risks", proposal.risks), ("Verify", proposal.verify)):
        if items:
            parts.append(f"**{label}:**\n\n" + bullets(items))
    if proposal.steps:
        parts.append("**Steps:**\n\n" + bullets(proposal.steps, ordered=True))
    if proposal.diff:
        parts.append(fence(proposal.diff, "diff"))
    patch = common.patch_fallback(proposal)
    if patch:
        parts.append("**Patch:**\n\n" + fence(patch, "yaml"))
    if proposal.action == "create" and proposal.manifest:
        parts.append("**Manifest:**\n\n" + fence(common.to_yaml(proposal.manifest), "yaml"))
    return "\n\n".join(parts)
