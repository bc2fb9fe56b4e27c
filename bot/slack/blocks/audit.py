"""Audit trail in Slack: one line per AuditEvent in the run's thread, one summary per run in the audit channel.

Both are views of the events the executor emitted (the store is the system of record); events carry
no secret values, and nothing here adds any.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import Any

from bot.remediation.events import Actor, AuditEvent
from bot.render import common
from bot.slack import ids, limits
from bot.slack.blocks import kit
from bot.slack.limits import escape

DETAIL_LIMIT = 500
_OUTCOME_EMOJI = {
    "in-progress": ":arrows_counterclockwise:",
    "denied": ":no_entry:",
    "conflict": ":warning:",
    "failed": ":x:",
    "fixed": ":white_check_mark:",
    "not-fixed": ":x:",
    "timeout": ":hourglass:",
}
_STEP_OK_EMOJI = {
    "requested": ":memo:",
    "approved": ":white_check_mark:",
    "rejected": ":no_entry_sign:",
    "expired": ":hourglass:",
    "rolled-back": ":leftwards_arrow_with_hook:",
    "interrupted": ":octagonal_sign:",
}
RESULT_EMOJI = {
    "fixed": ":white_check_mark:",
    "dry-run": ":mag:",
    "not-fixed": ":x:",
    "rolled-back": ":leftwards_arrow_with_hook:",
    "conflict": ":warning:",
    "denied": ":no_entry:",
    "failed": ":x:",
    "timeout": ":hourglass:",
    "rejected": ":no_entry_sign:",
    "expired": ":hourglass:",
}
RESULT_LABEL = {
    "fixed": "fixed",
    "dry-run": "dry run, nothing changed",
    "not-fixed": "applied, not fixed",
    "rolled-back": "rolled back",
    "conflict": "refused: the target changed since the proposal",
    "denied": "refused: missing permission",
    "failed": "failed",
    "timeout": "rollout timed out",
    "rejected": "rejected",
    "expired": "expired",
}


def event_emoji(event: AuditEvent) -> str:
    if event.outcome != "ok":
        return _OUTCOME_EMOJI.get(event.outcome, ":grey_question:")
    return _STEP_OK_EMOJI.get(event.step, ":white_check_mark:")


def progress_line(event: AuditEvent) -> str:
    """One mrkdwn line for the thread: `:white_check_mark: 10:00:02 UTC *dry-run*: the API server accepts …`."""
    when = event.time.astimezone(UTC).strftime("%H:%M:%S UTC") if event.time.tzinfo else event.time.strftime("%H:%M:%S")
    outcome = "" if event.outcome == "ok" else f" ({escape(event.outcome)})"
    line = f"{event_emoji(event)} {when} *{escape(event.step)}*{outcome}"
    if event.detail:
        line += f": {escape(common.truncate(event.detail, DETAIL_LIMIT))}"
    if event.step == "requested":
        line += f" · by {_who(event.actor)}"
    elif event.step in ("approved", "rejected"):
        line += f" · by {_who(event.approver or event.actor)}"
    if event.duration_ms is not None and event.step not in ("requested", "approved", "rejected", "expired"):
        line += f" · +{event.duration_ms / 1000:.1f} s"
    return limits.truncate(line, limits.SECTION_TEXT)


def audit_message(events: Sequence[AuditEvent], *, result: str, message: str, permalink: str | None) -> dict[str, Any]:
    """The audit-channel summary of one run: who, what, where, the result, and a link to the thread.

    `result` and `message` are the Execution's (or `rejected`/`expired` for a decision without a run).
    """
    first = events[0] if events else None
    requested = next((e for e in events if e.step == "requested"), first)
    approver = next((e.approver for e in events if e.approver), None) or next(
        (e.actor for e in events if e.step == "approved"), None
    )
    title = next((e.patch_summary for e in events if e.patch_summary), "")
    proposal_id = next((e.proposal_id for e in events if e.proposal_id), None)
    target = next((e.target for e in events if e.target), None)
    tenant = next((e.tenant for e in events if e.tenant), "")
    durations = [e.duration_ms for e in events if e.duration_ms is not None]
    emoji = RESULT_EMOJI.get(result, ":grey_question:")
    label = RESULT_LABEL.get(result, result)

    facts = [
        ("Requested by", _who(requested.actor) if requested else "unknown"),
        ("Approved by", _who(approver) if approver else "nobody"),
        ("Target", kit.code(str(target)) if target else "unknown"),
        ("Namespace", kit.code(tenant) if tenant else "unknown"),
        ("Result", f"{emoji} {escape(label)}"),
        ("Proposal", kit.code(proposal_id) if proposal_id else "unknown"),
    ]
    if first:
        facts.append(("Run", kit.code(first.correlation_id)))
    if durations:
        facts.append(("Duration", f"{max(durations) / 1000:.1f} s"))
    summary = f"{emoji} *Remediation {escape(label)}*: {escape(title or 'unknown change')}"
    blocks = [kit.section(summary, block_id=ids.AUDIT_SUMMARY), kit.fields(facts)]
    if message:
        blocks.append(kit.section(escape(message)))
    if events:
        blocks.append(kit.context(limits.truncate(_timeline(events), limits.CONTEXT_TEXT, "…")))
    started = f"Started {kit.slack_time(first.time)}" if first else ""
    thread = kit.link(permalink, "Open the thread") if permalink else "No thread link"
    blocks.append(kit.context(started, thread))
    where = f" on {target}" if target else ""
    text = f"Remediation {label}: {title or 'unknown change'}{where}" + (f" in {tenant}" if tenant else "")
    return kit.message(escape(text), blocks)


def _who(actor: Actor | None) -> str:
    if actor is None:
        return "unknown"
    who = kit.mention(actor.id)
    return who if who.startswith("<") or not actor.name else f"{escape(actor.name)} ({who})"


def _timeline(events: Sequence[AuditEvent]) -> str:
    """`:memo: requested → :white_check_mark: preflight → …`: each step once, with its last outcome."""
    last: dict[str, AuditEvent] = {}
    for event in events:
        last.pop(event.step, None)  # re-insert: a step that recurs (rollout) keeps its latest position
        last[event.step] = event
    return " → ".join(f"{event_emoji(e)} {escape(step)}" for step, e in last.items())
