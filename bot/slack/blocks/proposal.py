"""A remediation proposal in Slack: the approval request, its decided form, and the reject-reason modal.

Approval itself is a server-side state machine keyed by the proposal id the buttons carry; these
functions only lay out what a human needs to decide (what changes where, why, what could go wrong,
how we will know it worked) and, once decided, replace the buttons with who decided and when.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from bot.diagnosis.models import Proposal
from bot.render import common
from bot.slack import ids, limits
from bot.slack.blocks import kit
from bot.slack.limits import escape

Decision = Literal["approved", "rejected", "expired"]
REASON_MAX = 500  # characters of the optional reject reason
_DECISION_EMOJI = {"approved": ":white_check_mark:", "rejected": ":no_entry_sign:", "expired": ":hourglass:"}
_APPLIED_BY_BOT = ("patch", "restart")  # what the executor can apply; anything else is for a human


def proposal_message(
    proposal: Proposal,
    *,
    requester_id: str,
    expires_at: datetime,
    diff_attached: bool,
    record_id: str | None = None,
    two_person_rule: bool = False,
) -> dict[str, Any]:
    """The approval request: the change, its rationale, risks and verify signals, then Approve / Reject.

    With `diff_attached` the diff is not inlined: a line says it is attached as a file (upload it to
    the same thread). Both buttons carry `{"p": proposal id, "ns": namespace}` plus `"r": record_id`
    when given. A proposal the bot cannot apply gets `manual_proposal_message` instead: no buttons.
    """
    if not can_approve(proposal):
        return manual_proposal_message(proposal, diff_attached=diff_attached)
    blocks = _body(proposal, diff_attached=diff_attached)
    request = f"Requested by {kit.mention(requester_id)} · expires {kit.slack_time(expires_at)}"
    if two_person_rule:
        request += " · someone else must approve"
    blocks.append(kit.context(request, _ids_line(proposal), block_id=ids.PROPOSAL_REQUEST))
    value = ids.proposal_value(proposal.id, proposal.target.namespace, record_id=record_id)
    confirm = kit.confirm(
        "Apply this change?",
        f"The bot will apply *{escape(proposal.title)}* to {kit.code(str(proposal.target))}, "
        "wait for the rollout and verify the fix.",
        "Approve and apply",
    )
    blocks.append(
        kit.actions(
            ids.PROPOSAL_ACTIONS,
            kit.button("Approve", ids.APPROVE, value, style="primary", confirm=confirm),
            kit.button("Reject", ids.REJECT, value, style="danger"),
        )
    )
    text = f"Approval requested: {proposal.title} ({proposal.target})"
    return kit.message(escape(text), blocks, keep_last=2)


def manual_proposal_message(proposal: Proposal, *, diff_attached: bool = False) -> dict[str, Any]:
    """A fix the bot does not apply (manual steps, objects to create): the same layout, no buttons."""
    blocks = _body(proposal, diff_attached=diff_attached)
    note = ":information_source: The bot does not apply this fix: a human follows the steps, then diagnoses again."
    blocks.append(kit.context(note, _ids_line(proposal), block_id=ids.PROPOSAL_REQUEST))
    return kit.message(escape(f"Proposed fix (manual): {proposal.title} ({proposal.target})"), blocks, keep_last=1)


def decided_message(
    proposal: Proposal,
    *,
    state: Decision,
    by_id: str | None,
    at: datetime,
    reason: str | None,
    requester_id: str | None = None,
    diff_attached: bool = False,
) -> dict[str, Any]:
    """The same message after the decision: the buttons give way to who decided, when, and why."""
    if state not in _DECISION_EMOJI:
        raise ValueError(f"unknown decision {state!r}: expected approved, rejected or expired")
    line = decision_line(state, by_id=by_id, at=at, reason=reason)
    blocks = _body(proposal, diff_attached=diff_attached)
    requested = f"Requested by {kit.mention(requester_id)}" if requester_id else ""
    blocks.append(kit.context(requested, _ids_line(proposal), block_id=ids.PROPOSAL_REQUEST))
    blocks.append(kit.context(line, block_id=ids.PROPOSAL_DECISION))
    text = f"{state.capitalize()}: {proposal.title} ({proposal.target})"
    return kit.message(escape(text), blocks, keep_last=2)


def decision_line(state: Decision, *, by_id: str | None, at: datetime, reason: str | None) -> str:
    """`Approved by <@U123> at 2026-11-27 10:00 UTC`, `Rejected by <@U…> at …: reason`, `Expired at …`."""
    when = kit.slack_time(at)
    emoji = _DECISION_EMOJI[state]
    if state == "expired":
        return f"{emoji} Expired at {when}: nobody decided in time, nothing was changed"
    line = f"{emoji} {state.capitalize()} by {kit.mention(by_id)} at {when}"
    reason = " ".join((reason or "").split())
    if reason:
        line += f": {limits.truncate(escape(reason), REASON_MAX + 100, '…')}"
    return line


def reject_reason_view(
    proposal_id: str,
    *,
    record_id: str | None = None,
    namespace: str | None = None,
    channel: str | None = None,
    message_ts: str | None = None,
) -> dict[str, Any]:
    """The modal Reject opens (`views.open` with the click's trigger_id): one optional reason.

    `private_metadata` is `ids.encode_value` JSON (`{"p": proposal_id}` plus `r`, `ns`, `ch`, `ts` when
    given) for the view_submission listener: read it back with `ids.decode_value`.
    """
    fields = {
        ids.PROPOSAL: proposal_id,
        ids.RECORD: record_id,
        ids.NAMESPACE: namespace,
        ids.CHANNEL: channel,
        ids.MESSAGE_TS: message_ts,
    }
    metadata = ids.encode_value(fields, limit=limits.PRIVATE_METADATA)
    return {
        "type": "modal",
        "callback_id": ids.REJECT_REASON_VIEW,
        "private_metadata": metadata,
        "title": kit.plain("Reject the fix", limits.MODAL_TITLE),
        "submit": kit.plain("Reject", limits.MODAL_TITLE),
        "close": kit.plain("Cancel", limits.MODAL_TITLE),
        "blocks": [
            kit.section(
                f"Reject proposal {kit.code(proposal_id)}? Nothing is changed. "
                "The reason, if you give one, goes into the thread and the audit trail."
            ),
            {
                "type": "input",
                "block_id": ids.REJECT_REASON_BLOCK,
                "optional": True,
                "label": kit.plain("Reason", 2000),
                "element": {
                    "type": "plain_text_input",
                    "action_id": ids.REJECT_REASON_INPUT,
                    "multiline": True,
                    "max_length": REASON_MAX,
                    "placeholder": kit.plain("e.g. not during business hours", limits.INPUT_PLACEHOLDER),
                },
            },
        ],
    }


def reason_from_view(view: dict[str, Any]) -> str | None:
    """The reason typed into the reject modal (a view_submission's `view`), None when left empty."""
    state = view.get("state", {}).get("values", {}).get(ids.REJECT_REASON_BLOCK, {})
    value = (state.get(ids.REJECT_REASON_INPUT) or {}).get("value")
    text = " ".join(value.split())[:REASON_MAX] if isinstance(value, str) else ""
    return text or None


def can_approve(proposal: Proposal) -> bool:
    """Whether the message offers Approve: the bot applies only automatic patches and restarts."""
    return proposal.automatic and proposal.action in _APPLIED_BY_BOT


# -- pieces ---------------------------------------------------------------------------------------


def _ids_line(proposal: Proposal) -> str:
    return f"Proposal {kit.code(proposal.id)} · fixes {kit.code(proposal.finding_id)}"


def _body(proposal: Proposal, *, diff_attached: bool) -> list[dict[str, Any]]:
    applied_by = "the bot, after approval" if can_approve(proposal) else "a human"
    action = proposal.action + (f" ({proposal.patch_type} patch)" if proposal.patch_type != "none" else "")
    rv = proposal.target_resource_version
    blocks = [
        kit.header(f"Proposed fix: {proposal.title}", block_id=ids.PROPOSAL_HEADER),
        kit.fields(
            [
                ("Target", kit.code(str(proposal.target))),
                ("resourceVersion", kit.code(rv) if rv else "unknown"),
                ("Action", escape(action)),
                ("Applied by", applied_by),
            ]
        ),
        kit.section(f"*Why*\n{escape(proposal.rationale)}"),
    ]
    for title, items, ordered in (
        ("Steps", proposal.steps, True),
        ("Risks", proposal.risks, False),
        ("How we will know it worked", proposal.verify, False),
    ):
        if items:
            lines = [f"{f'{n}.' if ordered else '•'} {escape(item)}" for n, item in enumerate(items, 1)]
            blocks.append(kit.section(limits.fit_lines([f"*{title}*", *lines], limits.SECTION_TEXT)))
    blocks += _change(proposal, diff_attached)
    return blocks


def _change(proposal: Proposal, diff_attached: bool) -> list[dict[str, Any]]:
    """The diff inline, or the line saying it is attached; the raw patch or manifest when there is no diff."""
    if diff_attached:
        lines = len(proposal.diff.splitlines())
        size = f" ({lines} lines)" if lines else ""
        return [kit.section(f":page_facing_up: The diff{size} is attached as a file in this thread.")]
    shown: list[tuple[str, str]] = []
    if proposal.diff:
        shown.append(("*Diff* (live → proposed)", proposal.diff))
    patch = common.patch_fallback(proposal)
    if patch:
        shown.append((f"*Patch* ({escape(proposal.patch_type)})", patch))
    if proposal.action == "create" and proposal.manifest:
        shown.append(("*Manifest*", common.to_yaml(proposal.manifest)))
    return [
        kit.section(f"{title}\n{limits.code_block(body, limits.SECTION_TEXT - len(title) - 1)}")
        for title, body in shown
    ]
