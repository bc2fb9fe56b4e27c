"""Slack Block Kit payloads: golden files for the real example, plus Slack's limits on every payload.

Golden files (tests/golden/slack/*.json) pin whole payloads: review their diff like code. Regenerate
with `UPDATE_GOLDEN=1 python -m pytest tests/test_slack_blocks.py`. Every payload built here also
goes through one recursive validator of Slack's limits (50 blocks, 3000-character sections, 2000-
character button values, 255-character ids, escaped mrkdwn, closed code fences).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from bot.cluster.bundle import load_bundle
from bot.diagnosis.engine import diagnose
from bot.diagnosis.models import Diagnosis, Evidence, LogExcerpt, ObjectRef, Proposal
from bot.playbooks import load_playbook
from bot.remediation.events import Actor, AuditEvent
from bot.slack import ids, limits
from bot.slack.blocks import (
    audit_message,
    decided_message,
    details_message,
    diagnosis_message,
    error_ephemeral,
    help_message,
    progress_line,
    proposal_message,
    reason_from_view,
    reject_reason_view,
    walkthrough_step,
)
from bot.slack.blocks.proposal import manual_proposal_message

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "slack"
REQUESTER, APPROVER = "U0REQUEST1", "U0APPROVE2"
EXPIRES = datetime(2026, 11, 27, 10, 30, tzinfo=UTC)
DECIDED = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
PERMALINK = "https://example.slack.com/archives/C0AUDIT01/p1764237600000100?thread_ts=1764237600.000100&cid=C0AUDIT01"
SCRIPT = "<script>alert('x')</script> & <!channel> <@U0EVIL> ```"

Payload = dict[str, Any]


@cache
def zero_capacity() -> Diagnosis:
    diag = diagnose(load_bundle(ROOT / "examples" / "zero-capacity"), load_playbook("diagnose"))
    # The source names the bundle path, which differs between checkouts.
    return diag.model_copy(update={"source": "bundle:examples/zero-capacity"})


def proposal() -> Proposal:
    return zero_capacity().proposals[0]


def events() -> list[AuditEvent]:
    """The events of one successful run, shaped like the executor's."""
    p = proposal()
    start = datetime(2026, 11, 27, 10, 0, 5, tzinfo=UTC)
    steps = [
        ("requested", "ok", "apply " + p.title, 0),
        ("preflight", "ok", "5 permissions granted", 180),
        ("dry-run", "ok", "the API server accepts the change", 420),
        ("applied", "ok", "resourceVersion 679161 -> 679502", 610),
        ("rollout", "in-progress", "StatefulSet financial-ml/mlserver: 1/2 updated, 1/2 ready", 30_610),
        ("rollout", "ok", "StatefulSet financial-ml/mlserver: 2/2 updated, 2/2 ready", 61_200),
        ("verified", "fixed", "capacity.memory-request passes; Models credit-risk, fraud-detector Ready", 75_900),
    ]
    return [
        AuditEvent(
            time=start + timedelta(milliseconds=ms),
            tenant="financial-ml",
            step=step,
            outcome=outcome,
            actor=Actor(id=REQUESTER, name="alice"),
            approver=Actor(id=APPROVER, name="bob"),
            correlation_id="run-0123456789ab",
            proposal_id=p.id,
            target=p.target,
            patch_summary=p.title,
            detail=detail,
            duration_ms=ms,
        )
        for step, outcome, detail, ms in steps
    ]


def capacity_index() -> int:
    return next(i for i, s in enumerate(zero_capacity().steps) if s.id == "capacity")


# -- the validator ---------------------------------------------------------------------------------

_TOKEN = re.compile(r"<(?:@[UW][A-Z0-9]+|!subteam\^S[A-Z0-9]+|https?://[^|<>\s]+\|[^<>|]+)>")
_BAD_AMP = re.compile(r"&(?!amp;|lt;|gt;)")
_ID_KEYS = ("block_id", "action_id", "callback_id")


def violations(payload: Payload) -> list[str]:
    """Every way `payload` (a message or a modal view) breaks Slack's limits or mrkdwn escaping."""
    found: list[str] = []

    def bad(path: str, why: str) -> None:
        found.append(f"{path}: {why}")

    def text_of(node: Any) -> str:
        return node.get("text", "") if isinstance(node, dict) else ""

    def longer(path: str, node: Any, limit: int) -> None:
        if len(text_of(node)) > limit:
            bad(path, f"{len(text_of(node))} characters > {limit}")

    def walk(node: Any, path: str) -> None:
        if isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{path}/{i}")
            return
        if not isinstance(node, dict):
            return
        for key in _ID_KEYS:
            if key in node and not 0 < len(node[key]) <= limits.ID:
                bad(f"{path}/{key}", f"{len(node[key])} characters, must be 1..{limits.ID}")
        kind = node.get("type")
        if kind in ("plain_text", "mrkdwn"):
            text = node.get("text")
            if not isinstance(text, str) or not text.strip():
                bad(path, "empty text")
            elif kind == "mrkdwn":
                rest = _TOKEN.sub("", text)
                if "<" in rest or ">" in rest:
                    bad(path, f"unescaped < or >: {text[:120]!r}")
                if _BAD_AMP.search(text):
                    bad(path, f"unescaped &: {text[:120]!r}")
                if text.count("```") % 2:
                    bad(path, "unclosed code block")
        elif kind == "section":
            if "text" not in node and "fields" not in node:
                bad(path, "section without text or fields")
            longer(f"{path}/text", node.get("text"), limits.SECTION_TEXT)
            if len(node.get("fields", [])) > limits.SECTION_FIELDS:
                bad(path, "more than 10 fields")
            for i, item in enumerate(node.get("fields", [])):
                longer(f"{path}/fields/{i}", item, limits.SECTION_FIELD)
        elif kind == "header":
            longer(f"{path}/text", node.get("text"), limits.HEADER_TEXT)
        elif kind == "context":
            if not 0 < len(node.get("elements", [])) <= limits.CONTEXT_ELEMENTS:
                bad(path, "context needs 1..10 elements")
            for i, item in enumerate(node.get("elements", [])):
                longer(f"{path}/elements/{i}", item, limits.CONTEXT_TEXT)
        elif kind == "actions":
            elements = node.get("elements", [])
            if not 0 < len(elements) <= limits.ACTIONS_ELEMENTS:
                bad(path, "actions need 1..25 elements")
            action_ids = [e.get("action_id") for e in elements]
            if len(action_ids) != len(set(action_ids)):
                bad(path, "duplicate action_id in one block")
        elif kind == "button":
            longer(f"{path}/text", node.get("text"), limits.BUTTON_TEXT)
            if len(node.get("value", "")) > limits.BUTTON_VALUE:
                bad(f"{path}/value", f"{len(node['value'])} characters > {limits.BUTTON_VALUE}")
            if len(node.get("url", "")) > limits.BUTTON_URL:
                bad(f"{path}/url", "url too long")
            if "confirm" in node:
                confirm = node["confirm"]
                longer(f"{path}/confirm/title", confirm.get("title"), limits.CONFIRM_TITLE)
                longer(f"{path}/confirm/text", confirm.get("text"), limits.CONFIRM_TEXT)
                longer(f"{path}/confirm/confirm", confirm.get("confirm"), limits.CONFIRM_BUTTON)
                longer(f"{path}/confirm/deny", confirm.get("deny"), limits.CONFIRM_BUTTON)
        elif kind == "plain_text_input":
            longer(f"{path}/placeholder", node.get("placeholder"), limits.INPUT_PLACEHOLDER)
        elif kind == "input":
            longer(f"{path}/label", node.get("label"), 2000)
        elif kind == "modal":
            for key in ("title", "submit", "close"):
                longer(f"{path}/{key}", node.get(key), limits.MODAL_TITLE)
            if len(node.get("private_metadata", "")) > limits.PRIVATE_METADATA:
                bad(f"{path}/private_metadata", "too long")
        for key, value in node.items():
            if isinstance(value, dict | list):
                walk(value, f"{path}/{key}")

    is_view = payload.get("type") == "modal"
    blocks = payload.get("blocks")
    if not isinstance(blocks, list) or not blocks:
        bad("/blocks", "missing or empty")
        blocks = []
    if len(blocks) > (limits.MAX_MODAL_BLOCKS if is_view else limits.MAX_BLOCKS):
        bad("/blocks", f"{len(blocks)} blocks")
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    if len(block_ids) != len(set(block_ids)):
        bad("/blocks", f"duplicate block_id: {sorted(block_ids)}")
    if not is_view:
        text = payload.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > limits.MESSAGE_TEXT:
            bad("/text", "fallback text missing or longer than 4000")
        elif "<" in _TOKEN.sub("", text) or _BAD_AMP.search(text):
            bad("/text", f"unescaped fallback text: {text[:120]!r}")
    walk(payload if is_view else blocks, "" if is_view else "/blocks")
    return found


def assert_valid(payload: Payload) -> None:
    assert violations(payload) == []
    sdk = pytest.importorskip("slack_sdk.models.blocks")
    views = pytest.importorskip("slack_sdk.models.views")
    # slack-sdk's own validators, and a round trip that would drop any misspelt key.
    if payload.get("type") == "modal":
        assert views.View(**payload).to_dict() == payload
        return
    for block in payload["blocks"]:
        parsed = sdk.Block.parse(block)
        assert parsed is not None and parsed.to_dict() == block


def all_texts(payload: Payload, kind: str | None = None) -> list[str]:
    """Every `text` string (only those of `kind` text objects, e.g. mrkdwn, when given)."""
    texts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str) and kind in (None, node.get("type")):
                texts.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(payload)
    return texts


def buttons(payload: Payload) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "button":
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(payload)
    return found


# -- golden payloads --------------------------------------------------------------------------------

GOLDEN_CASES: dict[str, Callable[[], Payload]] = {
    "diagnosis-running-2": lambda: diagnosis_message(zero_capacity(), running_step=2),
    "diagnosis-final": lambda: diagnosis_message(zero_capacity()),
    "details-capacity": lambda: details_message(zero_capacity(), "capacity"),
    "walkthrough-first": lambda: walkthrough_step(zero_capacity(), 0),
    "walkthrough-last": lambda: walkthrough_step(zero_capacity(), len(zero_capacity().steps) - 1),
    "proposal": lambda: proposal_message(proposal(), requester_id=REQUESTER, expires_at=EXPIRES, diff_attached=False),
    "proposal-approved": lambda: decided_message(
        proposal(), state="approved", by_id=APPROVER, at=DECIDED, reason=None, requester_id=REQUESTER
    ),
    "proposal-rejected": lambda: decided_message(
        proposal(), state="rejected", by_id=APPROVER, at=DECIDED, reason="not during the trading day"
    ),
    "proposal-expired": lambda: decided_message(proposal(), state="expired", by_id=None, at=EXPIRES, reason=None),
    "reject-reason-view": lambda: reject_reason_view(proposal().id, record_id="rec-42"),
    "audit": lambda: audit_message(
        events(), result="fixed", message="capacity.memory-request passes after 1 attempt", permalink=PERMALINK
    ),
}


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_golden_payload(name: str) -> None:
    payload = GOLDEN_CASES[name]()
    golden = GOLDEN / f"{name}.json"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert payload == json.loads(golden.read_text(encoding="utf-8"))


# -- every payload within Slack's limits ------------------------------------------------------------

OTHER_CASES: dict[str, Callable[[], Payload]] = {
    "diagnosis-running-0": lambda: diagnosis_message(zero_capacity(), running_step=0),
    "diagnosis-running-done": lambda: diagnosis_message(zero_capacity(), running_step=99),
    "details-connectivity": lambda: details_message(zero_capacity(), "connectivity"),
    "details-models": lambda: details_message(zero_capacity(), "models"),
    "proposal-attached": lambda: proposal_message(
        proposal(), requester_id=REQUESTER, expires_at=EXPIRES, diff_attached=True, record_id="rec-1"
    ),
    "manual-proposal": lambda: manual_proposal_message(
        proposal().model_copy(update={"action": "manual", "automatic": False, "steps": ["edit it", "apply it"]})
    ),
    "error": lambda: error_ephemeral("you may not diagnose kube-system", ["financial-ml", "retail-ml", "S0ADMINS"]),
    "error-bare": lambda: error_ephemeral("unknown command", None),
    "help": lambda: help_message({"/seldon diagnose <namespace>": "diagnose a tenant", "/seldon help": "this"}),
    "help-usage-only": lambda: help_message(["/seldon diagnose <namespace> [playbook]", "/seldon help"]),
}


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES) + sorted(OTHER_CASES))
def test_payload_within_slack_limits(name: str) -> None:
    assert_valid({**GOLDEN_CASES, **OTHER_CASES}[name]())


@pytest.mark.parametrize("example", ["healthy", "netpol-blocked", "inference-host-pod-ip", "no-runtime"])
def test_every_example_renders_within_limits(example: str) -> None:
    diag = diagnose(load_bundle(ROOT / "examples" / example), load_playbook("diagnose"))
    assert_valid(diagnosis_message(diag))
    for index, step in enumerate(diag.steps):
        assert_valid(diagnosis_message(diag, running_step=index))
        assert_valid(details_message(diag, step.id))
        assert_valid(walkthrough_step(diag, index))
    for p in diag.proposals:
        assert_valid(proposal_message(p, requester_id=REQUESTER, expires_at=EXPIRES, diff_attached=False))


def test_validator_catches_what_slack_rejects() -> None:
    good = {"text": "x", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}]}
    assert violations(good) == []
    too_many = {"text": "x", "blocks": good["blocks"] * 51}
    long_section = {"text": "x", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]}
    raw = {"text": "x", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "<script> & co"}}]}
    big_value = {
        "text": "x",
        "blocks": [
            {
                "type": "actions",
                "block_id": "b" * 256,
                "elements": [
                    {
                        "type": "button",
                        "action_id": "a",
                        "text": {"type": "plain_text", "text": "x"},
                        "value": "v" * 2001,
                    }
                ],
            }
        ],
    }
    assert any("51 blocks" in v for v in violations(too_many))
    assert any("3001" in v for v in violations(long_section))
    assert len(violations(raw)) == 2
    assert {v.split(":")[0] for v in violations(big_value)} == {"/blocks/0/block_id", "/blocks/0/elements/0/value"}


# -- a huge diagnosis -------------------------------------------------------------------------------


def huge() -> Diagnosis:
    """The example blown up: 200 findings, 60 evidence per check, 40 matrix rows, 30 proposals with long diffs."""
    diag = zero_capacity()
    base = diag.findings[0]
    findings = [
        base.model_copy(update={"id": f"{base.id}#{n}", "root_cause": n < 3, "rank": n + 1, "summary": f"{n} " * 400})
        for n in range(200)
    ]
    evidence = [Evidence(summary=f"fact {n} " + "x" * 300, field="spec", value="v" * 500) for n in range(60)]
    checks = [c.model_copy(update={"evidence": evidence, "explanation": "why " * 1000}) for c in diag.checks]
    rows = [r.model_copy(update={"id": f"{r.id}-{n}"}) for n in range(4) for r in diag.connectivity]
    steps = [
        s.model_copy(
            update={
                "connectivity_ids": [r.id for r in rows],
                "kubectl": [f"kubectl get pods # {n}" * 20 for n in range(200)],
            }
        )
        if s.id == "connectivity"
        else s.model_copy(update={"kubectl": s.kubectl * 100})
        for s in diag.steps
    ]
    diff = "".join(f"+  line {n}: <value & more>\n" for n in range(5000))
    proposals = [
        p.model_copy(update={"id": f"p-{n}", "diff": diff, "risks": ["risk " * 200] * 40})
        for n in range(30)
        for p in diag.proposals
    ]
    return diag.model_copy(
        update={"findings": findings, "checks": checks, "connectivity": rows, "steps": steps, "proposals": proposals}
    )


def test_huge_diagnosis_stays_within_limits_and_points_to_the_rest() -> None:
    diag = huge()
    final = diagnosis_message(diag)
    assert_valid(final)
    assert len(final["blocks"]) <= limits.MAX_BLOCKS
    texts = all_texts(final)
    assert any("and 195 more findings" in t for t in texts)  # 5 shown, the rest pointed to
    root = next(t for t in texts if "ROOT CAUSE" in t)
    assert root.startswith(":red_circle: *ROOT CAUSE · critical*")
    assert any("more paths" in t for t in texts)  # 40 matrix rows do not fit one section
    for index in range(len(diag.steps)):
        assert_valid(diagnosis_message(diag, running_step=index))
        assert_valid(walkthrough_step(diag, index))
        details = details_message(diag, diag.steps[index].id)
        assert_valid(details)
        assert details["blocks"][-1]["block_id"] == ids.KUBECTL  # the commands survive any cut
    p = diag.proposals[0]
    message = proposal_message(p, requester_id=REQUESTER, expires_at=EXPIRES, diff_attached=False)
    assert_valid(message)
    assert message["blocks"][-1]["block_id"] == ids.PROPOSAL_ACTIONS
    assert any("more lines" in t for t in all_texts(message))
    assert_valid(decided_message(p, state="rejected", by_id=APPROVER, at=DECIDED, reason="no " * 5000))


def test_two_hundred_steps_are_capped_with_a_pointer() -> None:
    diag = zero_capacity()
    steps = [s.model_copy(update={"id": f"{s.id}-{n}"}) for n in range(40) for s in diag.steps]
    message = diagnosis_message(diag.model_copy(update={"steps": steps}))
    assert_valid(message)
    assert len(message["blocks"]) == limits.MAX_BLOCKS
    assert "more blocks not shown" in message["blocks"][-1]["elements"][0]["text"]


# -- escaping ---------------------------------------------------------------------------------------


def hostile() -> Diagnosis:
    diag = zero_capacity()
    log = LogExcerpt(pod="mlserver-0", container="agent", line=SCRIPT)
    bad = Evidence(
        summary=SCRIPT, object=ObjectRef(kind="Pod", name="<b>", namespace="financial-ml"), field="x", value=SCRIPT
    )
    checks = [
        c.model_copy(update={"evidence": [bad, Evidence(summary=SCRIPT, log=log)], "summary": SCRIPT})
        for c in diag.checks
    ]
    findings = [f.model_copy(update={"summary": SCRIPT, "evidence": [bad]}) for f in diag.findings]
    steps = [s.model_copy(update={"summary": SCRIPT, "intro": SCRIPT, "kubectl": [SCRIPT]}) for s in diag.steps]
    proposals = [p.model_copy(update={"title": SCRIPT, "rationale": SCRIPT, "diff": SCRIPT}) for p in diag.proposals]
    return diag.model_copy(
        update={"checks": checks, "findings": findings, "steps": steps, "proposals": proposals, "headline": SCRIPT}
    )


def test_script_like_evidence_is_escaped_everywhere() -> None:
    diag = hostile()
    p = diag.proposals[0]
    payloads = [
        diagnosis_message(diag),
        *(details_message(diag, s.id) for s in diag.steps),
        *(walkthrough_step(diag, i) for i in range(len(diag.steps))),
        proposal_message(p, requester_id=REQUESTER, expires_at=EXPIRES, diff_attached=False),
        decided_message(p, state="rejected", by_id=APPROVER, at=DECIDED, reason=SCRIPT),
        error_ephemeral(SCRIPT, [SCRIPT]),
    ]
    for payload in payloads:
        assert_valid(payload)
        # plain_text (headers, buttons) is shown verbatim by Slack; mrkdwn and the fallback text are parsed
        mrkdwn = [t for t in [payload["text"], *all_texts(payload, "mrkdwn")] if "script" in t]
        assert mrkdwn, "the hostile text is shown, escaped"
        for text in mrkdwn:
            assert "<script>" not in text and "<!channel>" not in text and "<@U0EVIL>" not in text
    details = json.dumps(details_message(diag, "capacity"))
    assert "&lt;script&gt;alert('x')&lt;/script&gt; &amp; &lt;!channel&gt;" in details
    # a ``` inside the evidence cannot close the kubectl code block
    kubectl = details_message(diag, "capacity")["blocks"][-1]["text"]["text"]
    assert kubectl.count("```") == 2


def test_escape_and_mentions() -> None:
    assert limits.escape("a < b > c & d") == "a &lt; b &gt; c &amp; d"
    line = decided_message(proposal(), state="approved", by_id="U123ABC", at=DECIDED, reason=None)["blocks"][-1]
    assert line["elements"][0]["text"] == ":white_check_mark: Approved by <@U123ABC> at 2026-11-27 10:00 UTC"
    cli = decided_message(proposal(), state="approved", by_id="cli:<alice>", at=DECIDED, reason=None)
    assert "Approved by cli:&lt;alice&gt; at" in cli["blocks"][-1]["elements"][0]["text"]


# -- button values ----------------------------------------------------------------------------------


def test_approve_and_reject_values_decode_back_to_the_proposal() -> None:
    p = proposal()
    message = proposal_message(p, requester_id=REQUESTER, expires_at=EXPIRES, diff_attached=False, record_id="rec-7")
    approve, reject = message["blocks"][-1]["elements"]
    assert (approve["action_id"], approve["style"], reject["action_id"], reject["style"]) == (
        ids.APPROVE,
        "primary",
        ids.REJECT,
        "danger",
    )
    for button in (approve, reject):
        value = ids.decode_value(button["value"])
        assert value == {"p": p.id, "ns": "financial-ml", "r": "rec-7"}
        assert value[ids.PROPOSAL] == p.id
    assert ids.decode_value(ids.proposal_value(p.id, "financial-ml")) == {"p": p.id, "ns": "financial-ml"}


def test_decided_message_replaces_the_buttons() -> None:
    p = proposal()
    for state in ("approved", "rejected", "expired"):
        message = decided_message(p, state=state, by_id=APPROVER, at=DECIDED, reason="r")
        assert not buttons(message)
        assert message["blocks"][-1]["block_id"] == ids.PROPOSAL_DECISION
    rejected = decided_message(p, state="rejected", by_id=APPROVER, at=DECIDED, reason="  not\nnow ")
    assert rejected["blocks"][-1]["elements"][0]["text"].endswith(
        f"Rejected by <@{APPROVER}> at 2026-11-27 10:00 UTC: not now"
    )
    expired = decided_message(p, state="expired", by_id=None, at=EXPIRES, reason=None)
    assert "Expired at 2026-11-27 10:30 UTC" in expired["blocks"][-1]["elements"][0]["text"]
    with pytest.raises(ValueError):
        decided_message(p, state="maybe", by_id=None, at=DECIDED, reason=None)  # type: ignore[arg-type]


def test_diff_attached_says_so_instead_of_inlining() -> None:
    message = proposal_message(proposal(), requester_id=REQUESTER, expires_at=EXPIRES, diff_attached=True)
    texts = all_texts(message)
    assert not any("```" in t for t in texts)
    assert any("diff (13 lines) is attached as a file" in t for t in texts)
    inline = all_texts(proposal_message(proposal(), requester_id=REQUESTER, expires_at=EXPIRES, diff_attached=False))
    assert any("+      resources:" in t for t in inline)
    assert any("resourceVersion" in t for t in inline) and any("`679161`" in t for t in inline)


def test_manual_proposals_get_no_buttons() -> None:
    manual = proposal().model_copy(update={"action": "manual", "automatic": False})
    message = proposal_message(manual, requester_id=REQUESTER, expires_at=EXPIRES, diff_attached=False)
    assert not buttons(message)
    assert message == manual_proposal_message(manual)


def test_details_buttons_sit_on_failed_steps_and_carry_the_step() -> None:
    diag = zero_capacity()
    message = diagnosis_message(diag, correlation_id="diag-1")
    found = {ids.step_of_block_id(b["block_id"]): b["accessory"] for b in message["blocks"] if "accessory" in b}
    failed = {s.id for s in diag.steps if s.status in ("fail", "error")}
    assert set(found) == failed == {"capacity", "models"}
    for step_id, button in found.items():
        assert button["action_id"] == ids.DETAILS
        assert ids.decode_value(button["value"]) == {
            "ns": "financial-ml",
            "pb": "diagnose",
            "s": step_id,
            "c": "diag-1",
        }
        assert_valid(details_message(diag, ids.decode_value(button["value"])[ids.STEP]))
    with pytest.raises(KeyError):
        details_message(diag, "no-such-step")


def test_running_steps_wait_and_hide_the_verdict() -> None:
    diag = zero_capacity()
    running = diagnosis_message(diag, running_step=capacity_index())
    steps = [b for b in running["blocks"] if b.get("block_id", "").startswith(ids.STEP_PREFIX)]
    assert [s["text"]["text"].split()[0] for s in steps] == [
        ":white_check_mark:",
        ":white_check_mark:",
        ":hourglass_flowing_sand:",
        ":hourglass_flowing_sand:",
        ":hourglass_flowing_sand:",
        ":hourglass_flowing_sand:",
    ]
    assert "_running…_" in steps[2]["text"]["text"] and "_pending_" in steps[3]["text"]["text"]
    assert not buttons(running)
    assert not any("ROOT CAUSE" in t for t in all_texts(running))
    final = diagnosis_message(diag)
    connectivity = next(b for b in final["blocks"] if b.get("block_id") == ids.step_block_id("connectivity"))
    assert connectivity["text"]["text"].count("\n:white_check_mark: *") == len(diag.connectivity)


def test_walkthrough_next_and_stop() -> None:
    diag = zero_capacity()
    first = walkthrough_step(diag, 0, correlation_id="diag-9")["blocks"][-1]
    assert [e["action_id"] for e in first["elements"]] == [ids.NEXT_STEP, ids.STOP_WALKTHROUGH]
    assert ids.decode_value(first["elements"][0]["value"])[ids.INDEX] == 1
    assert ids.decode_value(first["elements"][0]["value"])[ids.CORRELATION] == "diag-9"
    last = walkthrough_step(diag, len(diag.steps) - 1)["blocks"][-1]
    assert [e["action_id"] for e in last["elements"]] == [ids.STOP_WALKTHROUGH]
    with pytest.raises(IndexError):
        walkthrough_step(diag, len(diag.steps))


def test_reject_view_round_trip() -> None:
    view = reject_reason_view("p-1", record_id="rec-1", channel="C1", message_ts="1.2")
    assert view["callback_id"] == ids.REJECT_REASON_VIEW
    assert ids.decode_value(view["private_metadata"]) == {"p": "p-1", "r": "rec-1", "ch": "C1", "ts": "1.2"}
    (block,) = [b for b in view["blocks"] if b["type"] == "input"]
    assert block["optional"] is True and block["element"]["type"] == "plain_text_input"
    submitted = {"state": {"values": {ids.REJECT_REASON_BLOCK: {ids.REJECT_REASON_INPUT: {"value": " too risky "}}}}}
    assert reason_from_view(submitted) == "too risky"
    assert reason_from_view({"state": {"values": {}}}) is None


@pytest.mark.parametrize(
    "value",
    ["", "nope", "[1]", '{"p": 1}', '{"x": "y"}', '{"i": "2"}', '{"i": true}', "{" * 4000],
)
def test_decode_value_rejects_foreign_values(value: str) -> None:
    with pytest.raises(ValueError):
        ids.decode_value(value)


def test_encode_value_refuses_oversized_or_unknown() -> None:
    with pytest.raises(ValueError):
        ids.encode_value({ids.PROPOSAL: "p" * 2001})
    with pytest.raises(ValueError):
        ids.encode_value({"proposal": "p"})
    assert ids.encode_value({ids.PROPOSAL: "p", ids.NAMESPACE: None}) == '{"p":"p"}'


def test_ids_are_short_and_distinct() -> None:
    constants = {k: v for k, v in vars(ids).items() if k.isupper() and isinstance(v, str) and len(v) > 2}
    assert all(len(v) <= limits.ID for v in constants.values())
    actions = [ids.APPROVE, ids.REJECT, ids.DETAILS, ids.NEXT_STEP, ids.STOP_WALKTHROUGH, ids.REJECT_REASON_INPUT]
    assert len(set(actions)) == len(actions)
    assert ids.step_of_block_id(ids.step_block_id("capacity")) == "capacity"
    assert len(ids.step_block_id("s" * 400)) == limits.ID


# -- audit ------------------------------------------------------------------------------------------


def test_progress_lines() -> None:
    lines = [progress_line(e) for e in events()]
    assert lines[0].startswith(":memo: 10:00:05 UTC *requested*: apply Set a 1Gi memory request")
    assert lines[0].endswith(f"· by <@{REQUESTER}>")
    assert lines[3] == ":white_check_mark: 10:00:05 UTC *applied*: resourceVersion 679161 -&gt; 679502 · +0.6 s"
    assert lines[4].startswith(":arrows_counterclockwise: 10:00:35 UTC *rollout* (in-progress)")
    failed = events()[0].model_copy(update={"step": "failed", "outcome": "conflict", "detail": SCRIPT})
    line = progress_line(failed)
    assert line.startswith(":warning:") and "<script>" not in line
    assert violations({"text": line, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": line}}]}) == []


def test_audit_message_names_who_what_where() -> None:
    message = audit_message(events(), result="fixed", message="ok", permalink=PERMALINK)
    text = json.dumps(message)
    for needle in (f"<@{REQUESTER}>", f"<@{APPROVER}>", "`financial-ml`", "`Server financial-ml/mlserver`"):
        assert needle in text
    assert "|Open the thread>" in text and "&amp;cid=C0AUDIT01" in text
    assert_valid(audit_message([], result="failed", message="", permalink=None))
    assert_valid(audit_message(events(), result="rolled-back", message=SCRIPT, permalink="javascript:alert(1)"))


# -- limits helpers ---------------------------------------------------------------------------------


def test_truncate_never_splits_entities_tokens_or_fences() -> None:
    text = limits.escape("a" * 10 + "<" * 100)
    for limit in range(45, 120):
        cut = limits.truncate(text, limit)
        assert len(cut) <= limit and cut.endswith(limits.POINTER)
        assert not re.search(r"&[a-z]*…", cut)
    mention = "x" * 50 + "<@U0123456789>" + "y" * 100
    assert "<@U0" not in limits.truncate(mention, 60 + len(limits.POINTER))
    fenced = "```\n" + "code line\n" * 100 + "```"
    cut = limits.truncate(fenced, 300)
    assert len(cut) <= 300 and cut.count("```") == 2
    assert limits.truncate("short", 10) == "short"
    assert limits.truncate("long text", 3, "…") == "lo…"


def test_code_block_keeps_whole_lines_and_points_outside_the_fence() -> None:
    diff = "".join(f"+ line {n} <&>\n" for n in range(1000))
    block = limits.code_block(diff, 500)
    assert len(block) <= 500
    body, _, pointer = block.rpartition("```\n")
    assert body.startswith("```\n+ line 0 &lt;&amp;&gt;") and block.count("```") == 2
    assert re.fullmatch(r"… and \d+ more lines \(full text in the thread / JSON output\)", pointer)
    assert limits.code_block("short", 500) == "```\nshort\n```"
    one_huge_line = limits.code_block("z" * 10_000, 300)
    assert len(one_huge_line) <= 300 and one_huge_line.count("```") == 2


def test_cap_blocks() -> None:
    blocks = [{"type": "divider", "block_id": str(n)} for n in range(120)]
    capped = limits.cap_blocks(blocks)
    assert len(capped) == 50 and capped[:49] == blocks[:49]
    assert capped[-1]["elements"][0]["text"].startswith("… and 71 more blocks not shown")
    kept = limits.cap_blocks(blocks, keep_last=2)
    assert len(kept) == 50 and kept[-2:] == blocks[-2:] and kept[47]["type"] == "context"
    assert limits.cap_blocks(blocks[:50]) == blocks[:50]


def test_fit_lines_and_pack() -> None:
    lines = [f"line {n} " + "x" * 90 for n in range(100)]
    text = limits.fit_lines(lines, 1000)
    assert len(text) <= 1000 and text.startswith("line 0") and "more (full text" in text.splitlines()[-1]
    assert limits.fit_lines(["a", "b"], 1000) == "a\nb"
    packed = limits.pack(lines, 1000)
    assert all(len(t) <= 1000 for t in packed) and sum(t.count("line ") for t in packed) == 100
