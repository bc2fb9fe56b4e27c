"""Terminal rendering of a Diagnosis (~100 columns), with optional ANSI colors and evidence."""

from __future__ import annotations

import textwrap
from collections.abc import Callable

from bot.diagnosis.models import ConnectivityRow, Diagnosis, Evidence, Finding, Proposal
from bot.render import common

WIDTH = 100
INDENT = "  "
_ANSI = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "magenta": "35", "cyan": "36"}
_STATUS_STYLE = {"pass": "green", "fail": "red", "warn": "yellow", "skip": "dim", "error": "magenta"}
_VERDICT_STYLE = {"ok": "green", "blocked": "red", "degraded": "yellow", "unknown": "dim"}
_SEVERITY_STYLE = {"critical": "red", "high": "red", "medium": "yellow", "low": "dim"}
_DIFF_STYLE = {"+": "green", "-": "red", "@": "cyan"}
# (header, width cap) of the matrix columns; the summary column takes what is left of WIDTH.
_MATRIX_COLUMNS = (("PATH", 46), ("PORT", 11), ("VERDICT", 8))


def render_text(diagnosis: Diagnosis, *, color: bool = False, verbose: bool = False) -> str:
    return _TextRenderer(color, verbose).render(diagnosis)


class _TextRenderer:
    def __init__(self, color: bool, verbose: bool) -> None:
        self.color = color
        self.verbose = verbose
        self.lines: list[str] = []

    def render(self, diagnosis: Diagnosis) -> str:
        sections: list[Callable[[Diagnosis], None]] = [
            self._header,
            self._collection_errors,
            self._symptoms,
            self._steps,
            self._matrix,
            self._findings,
            self._proposals,
        ]
        for section in sections:
            section(diagnosis)
        return "\n".join(self.lines).rstrip() + "\n"

    # -- primitives -------------------------------------------------------------------------

    def paint(self, text: str, style: str | None) -> str:
        if not self.color or not style:
            return text
        codes = ";".join(_ANSI[s] for s in style.split())
        return f"\x1b[{codes}m{text}\x1b[0m"

    def emit(self, text: str = "") -> None:
        self.lines.append(text)

    def title(self, text: str) -> None:
        if self.lines[-1]:  # one blank line between sections, even after a block that ends with one
            self.emit()
        self.emit(self.paint(text.upper(), "bold"))

    def item(self, indent: str, text: str, prefix: str = "", style: str | None = None) -> None:
        """Wrap `text` after an optional (colored) prefix, continuation lines hanging under the text."""
        hang = indent + " " * (len(prefix) + 1 if prefix else 0)
        wrapped = textwrap.wrap(text, WIDTH - len(hang), break_on_hyphens=False) or [""]
        head = f"{self.paint(prefix, style)} " if prefix else ""
        self.emit(f"{indent}{head}{wrapped[0]}")
        self.lines.extend(hang + line for line in wrapped[1:])

    def bullets(self, indent: str, label: str, items: list[str]) -> None:
        if items:
            self.emit(f"{indent}{label}:")
            for text in items:
                self.item(indent + INDENT, text, "-")

    def evidence(self, indent: str, evidence: Evidence) -> None:
        self.item(indent, evidence.summary, "-")
        source = common.evidence_source(evidence)
        if source:  # wrapped, not cut: the log line or value is the proof
            lines = textwrap.wrap(source, WIDTH - len(indent) - 4, break_on_hyphens=False)
            for number, line in enumerate(lines):
                self.emit(self.paint(f"{indent}{'  ' if number == 0 else '    '}{line}", "dim"))

    # -- sections ---------------------------------------------------------------------------

    def _header(self, diagnosis: Diagnosis) -> None:
        self.emit(self.paint("Seldon Core v2 diagnosis", "bold"))
        self.item(INDENT, diagnosis.headline)
        for label, value in common.header_facts(diagnosis):
            self.emit(f"{INDENT}{label + ':':<11}{value}")
        style = "green bold" if diagnosis.healthy else "red bold"
        self.emit(f"{INDENT}{'Result:':<11}" + self.paint(common.status_line(diagnosis), style))

    def _collection_errors(self, diagnosis: Diagnosis) -> None:
        if diagnosis.collection_errors:
            self.title("Collection errors")
            for problem in diagnosis.collection_errors:
                self.item(INDENT, common.problem_line(problem), "!", "magenta")

    def _symptoms(self, diagnosis: Diagnosis) -> None:
        if diagnosis.symptoms:
            self.title("Symptoms")
            for symptom in diagnosis.symptoms:
                self.item(INDENT, f"{symptom.object}: {symptom.summary}", "-")

    def _steps(self, diagnosis: Diagnosis) -> None:
        groups = common.step_groups(diagnosis)
        if groups:
            self.title("Steps")
        for number, group in enumerate(groups, 1):
            self._step(number, group)

    def _step(self, number: int, group: common.StepGroup) -> None:
        status = common.group_status(group)
        summary = f": {group.step.summary}" if group.step and group.step.summary else ""
        self.item("", f"{number}. {group.title}{summary}", common.STATUS_ICON[status], _STATUS_STYLE[status])
        if self.verbose and group.step and group.step.intro:
            self.item(" " * 7, group.step.intro)
        for check in group.checks:
            icon = common.STATUS_ICON[check.status]
            self.item(" " * 7, f"{check.title}: {check.summary}", icon, _STATUS_STYLE[check.status])
            if self.verbose:
                for evidence in check.evidence:
                    self.evidence(" " * 14, evidence)
        if group.rows:
            self.item(" " * 7, common.paths_summary(group.rows))

    def _matrix(self, diagnosis: Diagnosis) -> None:
        if not diagnosis.connectivity:
            return
        self.title("Connectivity")
        cells = [_matrix_cells(row) for row in diagnosis.connectivity]
        widths = [
            min(max(len(header), *(len(c[i]) for c in cells)), cap) for i, (header, cap) in enumerate(_MATRIX_COLUMNS)
        ]
        widths.append(max(WIDTH - len(INDENT) - sum(widths) - 2 * len(widths), 20))
        headers = [h for h, _ in _MATRIX_COLUMNS] + ["SUMMARY"]
        self.emit(self.paint(INDENT + _table_line(headers, widths), "bold"))
        for row, cell in zip(diagnosis.connectivity, cells, strict=True):
            padded = [common.truncate(text, w).ljust(w) for text, w in zip(cell, widths, strict=True)]
            padded[2] = self.paint(padded[2], _VERDICT_STYLE.get(row.verdict))
            self.emit((INDENT + "  ".join(padded)).rstrip())

    def _findings(self, diagnosis: Diagnosis) -> None:
        if diagnosis.findings:
            self.title("Findings")
        for number, finding in enumerate(common.ordered_findings(diagnosis), 1):
            self._finding(diagnosis, number, finding)

    def _finding(self, diagnosis: Diagnosis, number: int, finding: Finding) -> None:
        label = common.finding_label(finding)
        style = "red bold" if finding.root_cause else _SEVERITY_STYLE.get(finding.severity)
        self.item(INDENT, finding.summary, f"{number}. [{label}]", style)
        body = INDENT * 3
        for name, value in common.finding_facts(diagnosis, finding):
            self.item(body, f"{name}: {value}")
        shown, hidden = common.limited(finding.evidence, common.FINDING_EVIDENCE_LIMIT)
        if shown:
            self.emit(f"{body}Evidence:")
        for evidence in shown:
            self.evidence(body + INDENT, evidence)
        if hidden:
            self.emit(f"{body}{INDENT}… and {hidden} more evidence (see JSON output)")
        if finding.explanation:
            self.item(body, finding.explanation)
        self.emit()

    def _proposals(self, diagnosis: Diagnosis) -> None:
        if diagnosis.proposals:
            self.title("Proposals")
        for number, proposal in enumerate(common.ordered_proposals(diagnosis), 1):
            self._proposal(diagnosis, number, proposal)

    def _proposal(self, diagnosis: Diagnosis, number: int, proposal: Proposal) -> None:
        self.item(INDENT, proposal.title, f"{number}.", "bold")
        body = INDENT * 3
        for name, value in common.proposal_facts(diagnosis, proposal):
            self.item(body, f"{name}: {value}")
        self.item(body, f"Why: {proposal.rationale}")
        self.bullets(body, "Risks", proposal.risks)
        self.bullets(body, "Verify", proposal.verify)
        if proposal.steps:
            self.emit(f"{body}Steps:")
            for step_number, step in enumerate(proposal.steps, 1):
                self.item(body + INDENT, step, f"{step_number}.")
        self._block(body, "Diff", proposal.diff, diff=True)
        self._block(body, "Patch", common.patch_fallback(proposal))
        if proposal.action == "create" and proposal.manifest:
            self._block(body, "Manifest", common.to_yaml(proposal.manifest))
        self.emit()

    def _block(self, indent: str, label: str, body: str | None, *, diff: bool = False) -> None:
        """Verbatim text (diff, YAML): never wrapped, so it stays copy-pasteable after dedenting."""
        if not body:
            return
        self.emit(f"{indent}{label}:")
        for line in body.rstrip("\n").splitlines():
            style = _DIFF_STYLE.get(line[:1]) if diff and not line.startswith(("+++", "---")) else None
            self.emit(f"{indent}{INDENT}{self.paint(line, style)}".rstrip())


def _matrix_cells(row: ConnectivityRow) -> list[str]:
    # Cap each end of the path so a long source never hides the target.
    path = f"{common.truncate(row.source, 21)} -> {common.truncate(row.target, 21)}"
    return [path, common.port_label(row), row.verdict, row.summary]


def _table_line(cells: list[str], widths: list[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()
