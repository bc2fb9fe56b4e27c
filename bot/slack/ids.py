"""Every action_id, block_id and callback_id the bot's messages use, and the button value codec.

Listeners match on these constants (`app.action(ids.APPROVE)`), builders stamp them; neither spells
an id by hand. Button values (and the reject modal's private_metadata) are compact JSON objects with
the short keys below, e.g. `{"p": proposal_id, "ns": namespace}`, far below Slack's 2000 characters.
`decode_value` accepts only that shape, because a value comes back from a click and is input like
any other.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.slack.limits import BUTTON_VALUE, ID, PRIVATE_METADATA

# -- action_ids ---------------------------------------------------------------------------------
APPROVE = "seldon_approve"
REJECT = "seldon_reject"
DETAILS = "seldon_details"
NEXT_STEP = "seldon_walkthrough_next"
STOP_WALKTHROUGH = "seldon_walkthrough_stop"
REJECT_REASON_INPUT = "seldon_reject_reason_input"

# -- callback_id of the reject modal ------------------------------------------------------------
REJECT_REASON_VIEW = "seldon_reject_reason"

# -- block_ids ----------------------------------------------------------------------------------
DIAGNOSIS_HEADER = "seldon_diag_header"
DIAGNOSIS_HEADLINE = "seldon_diag_headline"
STEP_PREFIX = "seldon_step:"  # + step id: one section per step, carrying the Details button
FINDINGS = "seldon_findings"
PROPOSALS = "seldon_proposals"
KUBECTL = "seldon_kubectl"
WALKTHROUGH_ACTIONS = "seldon_walkthrough_actions"
PROPOSAL_HEADER = "seldon_proposal_header"
PROPOSAL_REQUEST = "seldon_proposal_request"
PROPOSAL_ACTIONS = "seldon_proposal_actions"
PROPOSAL_DECISION = "seldon_proposal_decision"
REJECT_REASON_BLOCK = "seldon_reject_reason_block"
AUDIT_SUMMARY = "seldon_audit_summary"

OTHER_CHECKS = "_other"  # step id of the checks no playbook step claims

# -- button value keys --------------------------------------------------------------------------
PROPOSAL = "p"  # proposal id
NAMESPACE = "ns"
RECORD = "r"  # approval record id in the store
PLAYBOOK = "pb"
STEP = "s"  # step id (Details)
INDEX = "i"  # step index (walkthrough Next/Stop), an int
CORRELATION = "c"  # the diagnosis run, to find it again in the cache
CHANNEL = "ch"
MESSAGE_TS = "ts"
VALUE_KEYS: dict[str, type] = {
    PROPOSAL: str,
    NAMESPACE: str,
    RECORD: str,
    PLAYBOOK: str,
    STEP: str,
    INDEX: int,
    CORRELATION: str,
    CHANNEL: str,
    MESSAGE_TS: str,
}


def step_block_id(step_id: str) -> str:
    return f"{STEP_PREFIX}{step_id}"[:ID]


def step_of_block_id(block_id: str) -> str | None:
    return block_id.removeprefix(STEP_PREFIX) if block_id.startswith(STEP_PREFIX) else None


def encode_value(fields: Mapping[str, Any], *, limit: int = BUTTON_VALUE) -> str:
    """Compact JSON of the fields that are not None; ValueError for an unknown key or over `limit` characters."""
    data = {key: item for key, item in fields.items() if item is not None}
    _check(data)
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    if len(text) > limit:  # ids are short: a cut value would not decode, so refuse instead
        raise ValueError(f"button value is {len(text)} characters, over Slack's {limit}")
    return text


def decode_value(text: str) -> dict[str, Any]:
    """The fields inside a button value or private_metadata; ValueError for anything `encode_value` would not write."""
    if len(text) > PRIVATE_METADATA:
        raise ValueError("button value too long")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"button value is not JSON: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise ValueError("button value is not a JSON object")
    _check(data)
    return data


def _check(data: Mapping[str, Any]) -> None:
    for key, item in data.items():
        wanted = VALUE_KEYS.get(key)
        if wanted is None:
            raise ValueError(f"unknown button value key {key!r}")
        if not isinstance(item, wanted) or isinstance(item, bool):
            raise ValueError(f"button value key {key!r} must be {wanted.__name__}")


def proposal_value(proposal_id: str, namespace: str | None, *, record_id: str | None = None) -> str:
    """Approve/Reject: `{"p": proposal_id, "ns": namespace}`, plus `"r"` when the store's record id is known."""
    return encode_value({PROPOSAL: proposal_id, NAMESPACE: namespace, RECORD: record_id})


def step_value(
    namespace: str,
    playbook: str,
    *,
    step_id: str | None = None,
    index: int | None = None,
    correlation_id: str | None = None,
) -> str:
    """Details (`"s"`) and walkthrough Next/Stop (`"i"`), with the diagnosis run (`"c"`) when known."""
    return encode_value(
        {NAMESPACE: namespace, PLAYBOOK: playbook, STEP: step_id, INDEX: index, CORRELATION: correlation_id}
    )
