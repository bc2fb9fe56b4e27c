"""End to end: signed Slack requests -> the Bolt app over HTTP -> fake Kubernetes and fake Slack -> the store.

Nothing of ours is mocked: Slack's requests are signed as Slack signs them and posted to the app
served by waitress; the app talks to the fake Slack Web API and, through the real `kubernetes`
client, to the fake API server, whose operator hook rolls the pods after the Server CR changes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fakeslack.signing import post_signed, view_submission_body
from kubernetes import client
from slack_helpers import ALICE, AUDIT, BOB, CHANNEL, EVE, NS, SECRET, Bot, running_bot

from bot.slack import ids


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[Bot]:
    with running_bot(tmp_path) as running:
        yield running


def test_diagnose_approve_apply_verify_and_audit(bot: Bot) -> None:
    status, answer = bot.command("diagnose financial-ml")
    assert status == 200 and b"On it" in answer
    diagnosis = bot.final_diagnosis()
    assert "capacity" in json.dumps(diagnosis.blocks).lower()
    assert len(diagnosis.versions) >= 2, "the message was updated in place as steps completed"
    proposal = bot.proposal_message(diagnosis.ts)
    assert bot.server_memory() is None

    assert bot.click(proposal, ids.APPROVE, BOB)[0] == 200
    audit = bot.slack.wait_for(lambda: bot.slack.last_message(AUDIT), timeout=45)
    assert "fixed" in json.dumps(audit.blocks).lower() or "fixed" in audit.text.lower()
    assert bot.server_memory() == "1Gi"
    decided = bot.slack.message(CHANNEL, proposal.ts)
    assert f"<@{BOB}>" in json.dumps(decided.blocks) and ids.APPROVE not in json.dumps(decided.blocks)
    steps = [(r.step, r.outcome) for r in bot.store.audit.query(NS)]
    for expected in [("approved", "ok"), ("applied", "ok"), ("verified", "fixed")]:
        assert expected in steps
    assert bot.store.verify().ok
    [record] = bot.store.approvals.find(tenant=NS)
    assert record.state == "SUCCEEDED" and record.decided_by.id == BOB

    # A second click on the old buttons (double click, or a late second approver) changes nothing.
    assert bot.click(proposal, ids.APPROVE, BOB)[0] == 200
    assert "already decided" in bot.ephemeral_to(BOB, "already decided")
    assert [r.state for r in bot.store.approvals.find(tenant=NS)] == ["SUCCEEDED"]


def test_wrong_user_and_self_approval_are_refused(bot: Bot) -> None:
    bot.command("diagnose financial-ml")
    proposal = bot.proposal_message(bot.final_diagnosis().ts)
    bot.click(proposal, ids.APPROVE, EVE)
    assert "not an approver" in bot.ephemeral_to(EVE, "approver")
    bot.click(proposal, ids.APPROVE, ALICE)
    assert "two-person rule" in bot.ephemeral_to(ALICE, "two-person")
    assert [r.state for r in bot.store.approvals.find(tenant=NS)] == ["PENDING"]
    assert bot.server_memory() is None


def test_expired_proposal_is_never_applied(bot: Bot) -> None:
    bot.command("diagnose financial-ml")
    proposal = bot.proposal_message(bot.final_diagnosis().ts)
    bot.clock.now += timedelta(minutes=31)
    bot.click(proposal, ids.APPROVE, BOB)
    assert "expired" in bot.ephemeral_to(BOB, "expired")
    assert bot.server_memory() is None
    assert "Expired" in json.dumps(
        bot.slack.wait_for(
            lambda: (
                "Expired" in json.dumps(bot.slack.message(CHANNEL, proposal.ts).blocks)
                and bot.slack.message(CHANNEL, proposal.ts)
            )
        ).blocks
    )


def test_object_changed_since_the_dry_run_is_refused(bot: Bot) -> None:
    bot.command("diagnose financial-ml")
    proposal = bot.proposal_message(bot.final_diagnosis().ts)
    # Someone scales the Server between the dry run and the click.
    client.CustomObjectsApi(bot.kube.api_client()).patch_namespaced_custom_object(
        "mlops.seldon.io",
        "v1alpha1",
        NS,
        "servers",
        "mlserver",
        {"spec": {"replicas": 3}},
        _content_type="application/merge-patch+json",
    )
    bot.click(proposal, ids.APPROVE, BOB)
    audit = bot.slack.wait_for(lambda: bot.slack.last_message(AUDIT), timeout=45)
    assert "target changed since the proposal" in audit.text
    assert bot.server_memory() is None
    assert [r.state for r in bot.store.approvals.find(tenant=NS)] == ["FAILED"]


def test_reject_with_a_reason(bot: Bot) -> None:
    bot.command("diagnose financial-ml")
    proposal = bot.proposal_message(bot.final_diagnosis().ts)
    bot.click(proposal, ids.REJECT, BOB)
    view = bot.slack.wait_for(lambda: bot.slack.views(), timeout=30)[-1]
    body = view_submission_body(
        ids.REJECT_REASON_VIEW,
        view=view,
        user_id=BOB,
        values={
            ids.REJECT_REASON_BLOCK: {
                ids.REJECT_REASON_INPUT: {"type": "plain_text_input", "value": "not during the trading day"}
            }
        },
    )
    assert post_signed(bot.url, body, SECRET)[0] == 200
    bot.slack.wait_for(lambda: "trading day" in json.dumps(bot.slack.message(CHANNEL, proposal.ts).blocks))
    [record] = bot.store.approvals.find(tenant=NS)
    assert (record.state, record.decided_by.id) == ("REJECTED", BOB)


def test_forged_or_stale_requests_run_nothing(bot: Bot) -> None:
    assert bot.command("diagnose financial-ml", secret="wrong")[0] == 401
    old = int(datetime.now(UTC).timestamp()) - 6 * 60
    assert bot.command("diagnose financial-ml", timestamp=old)[0] == 401
    assert bot.slack.calls("chat.postMessage") == []
    assert bot.kube.request_count() == 0


@pytest.mark.parametrize(
    ("text", "user", "expected"),
    [
        ("diagnose Financial_ML", ALICE, "DNS-1123"),
        ("diagnose retail-ml", ALICE, "your tenants: financial-ml"),
        ("diagnose financial-ml", EVE, "you may not use tenant"),
        ("frobnicate financial-ml", ALICE, "unknown command"),
        ("restart financial-ml", ALICE, "usage: /seldon restart"),
    ],
)
def test_bad_input_gets_an_ephemeral_answer_and_changes_nothing(bot: Bot, text: str, user: str, expected: str) -> None:
    status, answer = bot.command(text, user)
    assert status == 200 and expected in answer.decode()
    assert bot.slack.calls("chat.postMessage") == []


def test_slack_rate_limit_midway_is_waited_out(bot: Bot) -> None:
    bot.slack.rate_limit("chat.update", times=1, retry_after=1)
    bot.command("diagnose financial-ml")
    assert bot.final_diagnosis() is not None
    assert any(c.status == 429 for c in bot.slack.calls("chat.update"))
