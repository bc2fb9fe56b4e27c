"""Terminal rendering of a patch Assessment (~100 columns): verdict first, then why, then what changes."""

from __future__ import annotations

import textwrap

from bot.diagnosis.models import Evidence
from bot.remediation.assess import SEVERITY_RANK, Assessment, Judgement
from bot.render import common
from bot.render.text import INDENT, WIDTH

VERDICT_MEANING: dict[str, str] = {
    "harmful": "would break the tenant",
    "no-op": "would change nothing that matters",
    "not-durable": "would be reverted",
    "risky": "may break things",
    "ok": "safe",
}
NO_CHANGES = "none: merged into the live object, the pod spec stays as it is"
_BODY = INDENT * 3  # a judgement's body, as the text renderer indents a finding's


def render_assessment(assessment: Assessment) -> str:
    lines = [*_header(assessment), ""]
    if assessment.judgements:
        lines.append("JUDGEMENTS")
    # Worst first; judgements of equal severity keep the engine's order.
    ordered = sorted(assessment.judgements, key=lambda j: -SEVERITY_RANK[j.severity])
    for number, judgement in enumerate(ordered, 1):
        lines += [*_judgement(number, judgement), ""]
    lines.append("EFFECTIVE CHANGES")
    for change in assessment.effective_changes or [NO_CHANGES]:
        lines += _wrap(INDENT, change, "-")
    return "\n".join(lines) + "\n"


def verdict_line(assessment: Assessment) -> str:
    return f"{assessment.verdict.upper()}: {VERDICT_MEANING[assessment.verdict]}"


def _header(assessment: Assessment) -> list[str]:
    owner = str(assessment.owner) if assessment.owner else "none"
    return [
        "Seldon Core v2 patch assessment",
        f"{INDENT}{'Target:':<9}{assessment.target}",
        f"{INDENT}{'Owner:':<9}{owner}",
        f"{INDENT}{'Verdict:':<9}{verdict_line(assessment)}",
    ]


def _judgement(number: int, judgement: Judgement) -> list[str]:
    lines = _wrap(INDENT, judgement.summary, f"{number}. [{judgement.severity}]")
    lines += _wrap(_BODY, f"Code: {judgement.code}")
    lines += _wrap(_BODY, judgement.explanation)
    shown, hidden = common.limited(judgement.evidence, common.FINDING_EVIDENCE_LIMIT)
    if shown:
        lines.append(f"{_BODY}Evidence:")
    for evidence in shown:
        lines += _evidence(_BODY + INDENT, evidence)
    if hidden:
        lines.append(f"{_BODY}{INDENT}… and {hidden} more evidence (see JSON output)")
    if judgement.instead:
        lines += _wrap(_BODY, f"Instead: {judgement.instead}")
    return lines


def _evidence(indent: str, evidence: Evidence) -> list[str]:
    """The fact, then where it was read (`Kind ns/name field = value` or `pod/container [time] line`)."""
    lines = _wrap(indent, evidence.summary, "-")
    source = common.evidence_source(evidence)
    if source:  # wrapped, not cut: the log line or value is the proof
        wrapped = textwrap.wrap(source, WIDTH - len(indent) - 4, break_on_hyphens=False)
        lines += [f"{indent}{'  ' if i == 0 else '    '}{line}" for i, line in enumerate(wrapped)]
    return lines


def _wrap(indent: str, text: str, prefix: str = "") -> list[str]:
    """`text` wrapped to WIDTH after an optional prefix, continuation lines hanging under the text."""
    hang = indent + " " * (len(prefix) + 1 if prefix else 0)
    wrapped = textwrap.wrap(text, WIDTH - len(hang), break_on_hyphens=False) or [""]
    head = f"{prefix} " if prefix else ""
    return [f"{indent}{head}{wrapped[0]}", *(hang + line for line in wrapped[1:])]
