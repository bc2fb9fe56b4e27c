"""The diagnosis in Slack: the guided message updated in place, a step's details, the teaching walkthrough.

Pure layout of a Diagnosis: order, labels and one-liners come from bot.render.common, so Slack, the
terminal and the Markdown ticket agree. Nothing here looks at the cluster or judges a fact again.
"""

from __future__ import annotations

from typing import Any

from bot.diagnosis.models import CheckResult, ConnectivityRow, Diagnosis, Evidence, Finding, Proposal
from bot.render import common
from bot.slack import ids, limits
from bot.slack.blocks import kit
from bot.slack.limits import escape

FINDINGS_SHOWN = 5  # in the main message; the thread and the JSON output have all of them
FINDING_EVIDENCE_SHOWN = 2
WALKTHROUGH_EVIDENCE_SHOWN = 3
EXPLANATION_LIMIT = 800
LINE_LIMIT = 300  # one evidence or matrix line
DETAILS_STATUSES = ("fail", "error")  # steps that get a Details button


def diagnosis_message(
    diag: Diagnosis, *, running_step: int | None = None, correlation_id: str | None = None
) -> dict[str, Any]:
    """The guided message: post it once, then `chat.update` it with the same layout as steps complete.

    `running_step` (0-based) marks the step in progress: it and every later step show an hourglass,
    and the verdict (headline, findings, proposals) waits for the final render (`running_step=None`).
    Each completed failed step gets a Details button whose value carries the step id (and
    `correlation_id`, the key the caller keeps the Diagnosis under, when given).
    """
    groups = common.step_groups(diag)
    running = running_step is not None
    blocks = [
        kit.header(f"Seldon diagnosis: {diag.namespace} · {diag.playbook}", block_id=ids.DIAGNOSIS_HEADER),
        kit.context(_meta(diag)),
        kit.section(_headline(diag, groups, running_step), block_id=ids.DIAGNOSIS_HEADLINE),
    ]
    if diag.collection_errors:
        lines = [f"• {escape(common.problem_line(p))}" for p in diag.collection_errors]
        blocks.append(kit.section(limits.fit_lines([":exclamation: *Could not collect everything*", *lines], 3000)))
    for index, group in enumerate(groups):
        pending = running_step is not None and index >= running_step
        running_now = index == running_step
        blocks.append(_step_section(diag, index, group, running=running_now, pending=pending, key=correlation_id))
    if not running:
        proposals = common.ordered_proposals(diag)
        blocks += _findings(diag, room=limits.MAX_BLOCKS - len(blocks) - (1 if proposals else 0))
        if proposals:
            blocks.append(_proposals_section(proposals))
    return kit.message(_fallback(diag, groups, running_step), blocks)


def details_message(diag: Diagnosis, step_id: str) -> dict[str, Any]:
    """For the thread under the diagnosis: one step's checks with all their evidence, and its kubectl commands.

    Raises KeyError for a step id the diagnosis does not have (a stale button).
    """
    index, group = _group(diag, step_id)
    status = common.group_status(group)
    blocks = [
        kit.section(
            f"{kit.STATUS_EMOJI[status]} *{index + 1}. {escape(group.title)}*\n{escape(_summary(group))}",
            block_id=ids.step_block_id(step_id),
        )
    ]
    if group.step and group.step.intro:
        blocks.append(kit.context(escape(group.step.intro)))
    blocks += [kit.section(_check_text(check)) for check in group.checks]
    blocks += [kit.section(text) for text in limits.pack((_row_text(row) for row in group.rows), 3000)]
    kubectl = group.step.kubectl if group.step else []
    if kubectl:
        blocks.append(_kubectl_section(kubectl, "*Confirm it yourself*"))
    text = f"Details of step {index + 1} ({group.title}) in {diag.namespace}: {_summary(group)}"
    return kit.message(escape(text), blocks, keep_last=1 if kubectl else 0)


def walkthrough_step(diag: Diagnosis, index: int, *, correlation_id: str | None = None) -> dict[str, Any]:
    """The teaching variant: one step, what it checks and why, what was found, how to check it by hand.

    Next carries `index + 1` and is left out on the last step; Stop ends the walkthrough. Raises
    IndexError for an index outside the diagnosis's steps.
    """
    groups = common.step_groups(diag)
    if not 0 <= index < len(groups):
        raise IndexError(f"walkthrough step {index} of {len(groups)}")
    group = groups[index]
    last = index == len(groups) - 1
    status = common.group_status(group)
    intro = group.step.intro if group.step else "Checks that no step of the playbook places."
    blocks = [
        kit.header(f"Walkthrough of {diag.namespace}: step {index + 1} of {len(groups)}"),
        kit.section(f"{kit.STATUS_EMOJI[status]} *{escape(group.title)}*\n{escape(_summary(group))}"),
        kit.section(f"*What this step checks, and why*\n{escape(intro)}"),
    ]
    found = [_check_brief(check) for check in group.checks] + [_row_line(row) for row in group.rows]
    for n, text in enumerate(limits.pack(found, 3000 - 20, separator="\n")):
        blocks.append(kit.section(f"*What we found*\n{text}" if n == 0 else text))
    kubectl = group.step.kubectl if group.step else []
    if kubectl:
        blocks.append(_kubectl_section(kubectl, "*Check it yourself*"))
    blocks.append(kit.context(f"Step {index + 1} of {len(groups)} · playbook {kit.code(diag.playbook)}"))

    def value(at: int) -> str:
        return ids.step_value(diag.namespace, diag.playbook, index=at, correlation_id=correlation_id)

    buttons = [] if last else [kit.button("Next step", ids.NEXT_STEP, value(index + 1), style="primary")]
    buttons.append(kit.button("Done" if last else "Stop", ids.STOP_WALKTHROUGH, value(index)))
    blocks.append(kit.actions(ids.WALKTHROUGH_ACTIONS, *buttons))
    text = f"Walkthrough of {diag.namespace}, step {index + 1} of {len(groups)}: {group.title}"
    return kit.message(escape(text), blocks, keep_last=1)


# -- pieces ---------------------------------------------------------------------------------------


def _meta(diag: Diagnosis) -> str:
    return (
        f"Playbook {kit.code(diag.playbook)} · collected {kit.slack_time(diag.collected_at)} · "
        f"{escape(diag.source)} · seldon-chatops {escape(diag.tool_version)}"
    )


def _headline(diag: Diagnosis, groups: list[common.StepGroup], running_step: int | None) -> str:
    if running_step is None:
        emoji = ":white_check_mark:" if diag.healthy else ":rotating_light:"
        return f"{emoji} *{escape(diag.headline)}*\n{escape(common.status_line(diag))}"
    if running_step >= len(groups):
        return f"{kit.RUNNING_EMOJI} Diagnosing *{escape(diag.namespace)}*: finishing…"
    current = groups[max(running_step, 0)]
    return (
        f"{kit.RUNNING_EMOJI} Diagnosing *{escape(diag.namespace)}*: step {max(running_step, 0) + 1} "
        f"of {len(groups)}, {escape(current.title)}"
    )


def _fallback(diag: Diagnosis, groups: list[common.StepGroup], running_step: int | None) -> str:
    if running_step is None:
        return escape(f"Seldon diagnosis of {diag.namespace}: {diag.headline}")
    return escape(f"Diagnosing {diag.namespace}: {min(max(running_step, 0), len(groups))}/{len(groups)} steps done")


def _summary(group: common.StepGroup) -> str:
    if group.step:
        return group.step.summary
    return f"{sum(c.status == 'pass' for c in group.checks)}/{len(group.checks)} passed"


def _step_id(group: common.StepGroup) -> str:
    return group.step.id if group.step else ids.OTHER_CHECKS


def _step_section(
    diag: Diagnosis, index: int, group: common.StepGroup, *, running: bool, pending: bool, key: str | None
) -> dict[str, Any]:
    status = common.group_status(group)
    title = f"*{index + 1}. {escape(group.title)}*"
    if pending:
        note = "_running…_" if running else "_pending_"
        return kit.section(f"{kit.RUNNING_EMOJI} {title}\n{note}", block_id=ids.step_block_id(_step_id(group)))
    head = f"{kit.STATUS_EMOJI[status]} {title}\n{escape(_summary(group))}"
    text = head
    if group.rows:
        room = limits.SECTION_TEXT - len(head) - 1
        text += "\n" + limits.fit_lines([_row_line(r) for r in group.rows], room, lambda n: _more(n, "more paths"))
    accessory = None
    if status in DETAILS_STATUSES:
        value = ids.step_value(diag.namespace, diag.playbook, step_id=_step_id(group), correlation_id=key)
        accessory = kit.button("Details", ids.DETAILS, value)
    return kit.section(text, block_id=ids.step_block_id(_step_id(group)), accessory=accessory)


def _row_path(row: ConnectivityRow) -> str:
    """`source → host:port`, without repeating a port the target label already carries."""
    host = row.target.removesuffix(f":{row.port}")
    return f"{row.source} → {host}:{common.port_label(row)}"


def _row_line(row: ConnectivityRow) -> str:
    line = f"{kit.VERDICT_EMOJI.get(row.verdict, ':grey_question:')} *{escape(_row_path(row))}* {escape(row.summary)}"
    if row.evidence:
        line += f" — {escape(common.truncate(row.evidence[0].summary, 160))}"
    return limits.truncate(line, LINE_LIMIT, "…")


def _row_text(row: ConnectivityRow) -> str:
    """A matrix row with all its evidence, for the details thread."""
    head = f"{kit.VERDICT_EMOJI.get(row.verdict, ':grey_question:')} *{escape(_row_path(row))}* {escape(row.summary)}"
    return head + "\n" + limits.fit_lines([_evidence_line(e) for e in row.evidence], 3000 - len(head) - 1, _more_ev)


def _evidence_line(evidence: Evidence) -> str:
    source = common.evidence_source(evidence)
    line = f"• {escape(common.truncate(evidence.summary, LINE_LIMIT))}"
    return line + (f" — {kit.code(source)}" if source else "")


def _more(count: int, noun: str) -> str:
    return limits.more_pointer(count, noun)


def _more_ev(count: int) -> str:
    return limits.more_pointer(count, "more evidence")


def _check_text(check: CheckResult) -> str:
    """A check for the details thread: verdict, every piece of evidence that fits, the explanation."""
    head = f"{kit.STATUS_EMOJI[check.status]} *{escape(check.title)}*: {escape(check.summary)}"
    tail = []
    if check.explanation:
        tail.append(limits.truncate(escape(check.explanation), EXPLANATION_LIMIT))
    if check.failure_modes:
        tail.append(f"Failure modes: {escape(', '.join(check.failure_modes))}")
    tail_text = "\n".join(tail)
    if not check.evidence:
        return "\n".join([head, tail_text] if tail_text else [head])
    room = limits.SECTION_TEXT - len(head) - len(tail_text) - 2
    evidence = limits.fit_lines([_evidence_line(e) for e in check.evidence], room, _more_ev)
    return "\n".join(part for part in (head, evidence, tail_text) if part)


def _check_brief(check: CheckResult) -> str:
    """A check for the walkthrough: verdict and its first few pieces of evidence."""
    shown, hidden = common.limited(check.evidence, WALKTHROUGH_EVIDENCE_SHOWN)
    lines = [f"{kit.STATUS_EMOJI[check.status]} *{escape(check.title)}*: {escape(check.summary)}"]
    lines += [f"    {_evidence_line(e)}" for e in shown]
    if hidden:
        lines.append(f"    {_more_ev(hidden)}")
    return "\n".join(lines)


def _kubectl_section(commands: list[str], title: str) -> dict[str, Any]:
    body = limits.code_block("\n".join(commands), limits.SECTION_TEXT - len(title) - 1)
    return kit.section(f"{title}\n{body}", block_id=ids.KUBECTL)


def _finding_text(finding: Finding) -> str:
    emoji = kit.SEVERITY_EMOJI.get(finding.severity, ":white_circle:")
    head = f"{emoji} *{escape(common.finding_label(finding))}*: {escape(finding.summary)}"
    subject = f"Subject: {kit.code(str(finding.subject))}" if finding.subject else ""
    explanation = limits.truncate(escape(finding.explanation), EXPLANATION_LIMIT) if finding.root_cause else ""
    shown, hidden = common.limited(finding.evidence, FINDING_EVIDENCE_SHOWN)
    evidence = [_evidence_line(e) for e in shown] + ([_more_ev(hidden)] if hidden else [])
    return limits.truncate("\n".join(p for p in (head, subject, *evidence, explanation) if p), limits.SECTION_TEXT)


def _findings(diag: Diagnosis, *, room: int) -> list[dict[str, Any]]:
    """Divider, the first findings (root causes first) and a pointer to the rest, in at most `room` blocks."""
    findings = common.ordered_findings(diag)
    if not findings or room < 1:
        return []  # no room at all: cap_blocks reports what was dropped
    if room == 1:
        return [kit.context(_more(len(findings), "findings not shown"))]
    shown = findings[: max(min(FINDINGS_SHOWN, room - 2), 0)]
    blocks = [{"type": "divider", "block_id": ids.FINDINGS}] + [kit.section(_finding_text(f)) for f in shown]
    hidden = len(findings) - len(shown)
    if hidden:
        blocks.append(kit.context(_more(hidden, "more finding" + "s" * (hidden > 1))))
    return blocks


def _proposals_section(proposals: list[Proposal]) -> dict[str, Any]:
    lines = [
        f"• {escape(p.title)}: {kit.code(str(p.target))}"
        + (" (the bot applies it after approval)" if p.automatic else " (manual)")
        for p in proposals
    ]
    title = f"*Proposed fix{'es' * (len(proposals) > 1)}*"
    text = limits.fit_lines([title, *lines], limits.SECTION_TEXT, lambda n: _more(n, "more proposals"))
    return kit.section(text, block_id=ids.PROPOSALS)


def _group(diag: Diagnosis, step_id: str) -> tuple[int, common.StepGroup]:
    for index, group in enumerate(common.step_groups(diag)):
        if _step_id(group) == step_id:
            return index, group
    raise KeyError(f"step {step_id!r} is not in the diagnosis of {diag.namespace}")
