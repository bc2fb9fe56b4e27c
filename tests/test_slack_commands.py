"""End to end, the `/seldon` commands beyond `diagnose`, as a user in Slack notices them.

Signed requests go to the Bolt app served by waitress (see slack_helpers.running_bot, a configurable
copy of test_slack_app's fixture); the app talks to FakeSlack and, through the real `kubernetes`
client, to FakeKube with the fake Seldon operator.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from slack_helpers import ALICE, AUDIT, BOB, CHANNEL, EVE, NS, Bot, running_bot

from bot.slack import ids
from bot.slack.services import WorkerPool

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
ACK_DEADLINE = 3.0  # Slack shows the user "operation_timeout" after 3 s without an answer


def _json(answer: bytes) -> dict:
    return json.loads(answer.decode())


def _has_button(message, action_id: str) -> bool:
    return action_id in json.dumps(message.blocks)


def _template_annotations(bot: Bot, name: str = "mlserver") -> dict:
    sts = bot.kube.get_object("apps/v1", "StatefulSet", NS, name)
    return (sts["spec"]["template"].get("metadata") or {}).get("annotations") or {}


def _restart_proposal(bot: Bot):
    """The proposal in the thread under "Restart of mlserver … requested" (with or without its buttons)."""
    [parent] = bot.slack.wait_for(lambda: bot.messages_with("Restart of mlserver in financial-ml requested"), 10)

    def posted():
        thread = bot.slack.thread(CHANNEL, parent.ts)
        return next((m for m in thread if "Rollout restart StatefulSet mlserver" in m.text), None)

    return bot.slack.wait_for(posted, timeout=30)


# -- read-only commands ------------------------------------------------------------------------------


def test_help_lists_every_command_ephemerally(tmp_path: Path) -> None:
    with running_bot(tmp_path) as bot:
        status, answer = bot.command("help")
        assert status == 200
        reply = _json(answer)
        assert reply.get("response_type", "ephemeral") == "ephemeral"  # only the asker sees it
        shown = json.dumps(reply["blocks"])
        for verb in ("diagnose", "walkthrough", "status", "restart", "audit", "help"):
            assert f"/seldon {verb}" in shown
        # An empty `/seldon` is help too; neither posts anything to the channel or reads the cluster.
        assert "/seldon restart" in bot.command("")[1].decode()
        assert bot.slack.calls("chat.postMessage") == [] and bot.kube.request_count() == 0


def test_status_answers_with_headline_and_findings(tmp_path: Path) -> None:
    with running_bot(tmp_path) as bot:
        status, answer = bot.command("status financial-ml")
        assert status == 200 and b"On it" in answer
        text = bot.ephemeral_to(ALICE, "*financial-ml*")
        headline, *findings = text.splitlines()
        assert "Root cause" in headline and "zero memory capacity" in headline
        assert findings and findings[0].startswith("• critical:")
        assert bot.slack.calls("chat.postMessage") == [], "status is for the asker only"


def test_audit_lists_the_store_events_of_a_remediation(tmp_path: Path) -> None:
    with running_bot(tmp_path) as bot:
        bot.command("audit financial-ml")
        assert "No audit events for financial-ml" in bot.ephemeral_to(ALICE, "Audit of")
        bot.command("diagnose financial-ml")
        proposal = bot.proposal_message(bot.final_diagnosis().ts)
        bot.click(proposal, ids.APPROVE, BOB)
        bot.slack.wait_for(lambda: bot.slack.last_message(AUDIT), timeout=45)

        bot.command("audit financial-ml", BOB)
        text = bot.ephemeral_to(BOB, "Audit of financial-ml")
        lines = text.splitlines()[1:]
        assert len(lines) == len(bot.store.audit.query(NS)), "one line per audit row in the store"
        for step in ("*requested*", "*approved*", "*applied*", "*verified* (fixed)"):
            assert any(step in line for line in lines), step
        assert any("*approved*" in line and f"<@{BOB}>" in line for line in lines)


def test_walkthrough_steps_in_place_and_stops(tmp_path: Path) -> None:
    with running_bot(tmp_path) as bot:
        assert b"On it" in bot.command("walkthrough financial-ml")[1]
        [first] = bot.slack.wait_for(lambda: bot.messages_with("Walkthrough of financial-ml"), timeout=30)
        assert "step 1 of" in first.text
        assert _has_button(first, ids.NEXT_STEP) and _has_button(first, ids.STOP_WALKTHROUGH)
        assert "kubectl " in json.dumps(first.blocks), "each step shows the equivalent kubectl command"

        assert bot.click(first, ids.NEXT_STEP, ALICE)[0] == 200
        second = bot.slack.wait_for(
            lambda: (m := bot.slack.message(CHANNEL, first.ts)) and "step 2 of" in m.text and m, timeout=10
        )
        [update] = bot.slack.calls("chat.update")
        assert update.params["ts"] == first.ts and update.params["channel"] == CHANNEL
        assert len(bot.messages_with("Walkthrough")) == 1, "the same message, updated; nothing new posted"
        assert _has_button(second, ids.NEXT_STEP)

        assert bot.click(second, ids.STOP_WALKTHROUGH, ALICE)[0] == 200
        stopped = bot.slack.wait_for(
            lambda: (m := bot.slack.message(CHANNEL, first.ts)) and "stopped" in m.text and m, timeout=10
        )
        assert not _has_button(stopped, ids.NEXT_STEP) and not _has_button(stopped, ids.STOP_WALKTHROUGH)


def test_details_of_a_failed_step_go_to_the_thread(tmp_path: Path) -> None:
    with running_bot(tmp_path) as bot:
        bot.command("diagnose financial-ml")
        diagnosis = bot.final_diagnosis()
        failed = next(b for b in diagnosis.blocks if b.get("block_id") == ids.step_block_id("capacity"))
        assert failed["accessory"]["action_id"] == ids.DETAILS and failed["text"]["text"].startswith(":x:")
        passed = next(b for b in diagnosis.blocks if b.get("block_id") == ids.step_block_id("runtime"))
        assert "accessory" not in passed, "only failed steps get Details"
        bot.proposal_message(diagnosis.ts)  # the proposals are in the thread before the click

        # The click carries the step of the first Details button in the message: the capacity step.
        assert bot.click(diagnosis, ids.DETAILS, ALICE)[0] == 200

        def details():
            return next((m for m in bot.slack.thread(CHANNEL, diagnosis.ts) if m.text.startswith("Details of")), None)

        reply = bot.slack.wait_for(details, timeout=30)
        assert reply.thread_ts == diagnosis.ts
        body = json.dumps(reply.blocks)
        assert "memory capacity" in reply.text
        assert "MEMORY_REQUEST" in body, "the evidence"
        assert "Confirm it yourself" in body and "kubectl " in body, "the commands a human can run"


# -- restart ------------------------------------------------------------------------------------------


def test_restart_goes_through_proposal_and_approval(tmp_path: Path) -> None:
    with running_bot(tmp_path) as bot:
        assert b"On it" in bot.command("restart financial-ml mlserver")[1]
        proposal = _restart_proposal(bot)
        assert proposal.text.startswith("Approval requested") and _has_button(proposal, ids.APPROVE)
        time.sleep(0.2)
        assert RESTARTED_AT not in _template_annotations(bot), "nothing restarts before an approval"

        bot.click(proposal, ids.APPROVE, ALICE)
        assert "two-person rule" in bot.ephemeral_to(ALICE, "two-person")
        bot.click(proposal, ids.APPROVE, BOB)
        bot.slack.wait_for(lambda: RESTARTED_AT in _template_annotations(bot), timeout=45)
        audit = bot.slack.wait_for(lambda: bot.slack.last_message(AUDIT), timeout=45)
        assert "restart" in audit.text.lower()
        decided = bot.slack.message(CHANNEL, proposal.ts)
        assert f"<@{BOB}>" in json.dumps(decided.blocks) and not _has_button(decided, ids.APPROVE)
        [record] = bot.store.approvals.find(tenant=NS)
        assert record.decided_by.id == BOB


def test_direct_restart_needs_no_approval(tmp_path: Path) -> None:
    with running_bot(tmp_path, tenant={"direct_restart": True}) as bot:
        bot.command("restart financial-ml mlserver")
        bot.slack.wait_for(lambda: RESTARTED_AT in _template_annotations(bot), timeout=45)
        proposal = _restart_proposal(bot)
        bot.slack.wait_for(lambda: bot.slack.last_message(AUDIT), timeout=45)
        [record] = bot.store.approvals.find(tenant=NS)
        assert record.decided_by.id == ALICE
        # The message does not keep offering buttons for a restart that already happened.
        decided = bot.slack.wait_for(
            lambda: (m := bot.slack.message(CHANNEL, proposal.ts)) and not _has_button(m, ids.APPROVE) and m
        )
        assert f"<@{ALICE}>" in json.dumps(decided.blocks)
        assert ("approved", "ok") in [(r.step, r.outcome) for r in bot.store.audit.query(NS)]


def test_restart_of_an_unknown_server_says_so(tmp_path: Path) -> None:
    with running_bot(tmp_path) as bot:
        assert bot.command("restart financial-ml nosuchserver")[0] == 200
        assert "no StatefulSet nosuchserver in financial-ml" in bot.ephemeral_to(ALICE, "StatefulSet")
        assert bot.slack.calls("chat.postMessage") == [] and bot.store.approvals.find(tenant=NS) == []


# -- large diffs ---------------------------------------------------------------------------------------


def _server_with_long_env(kube, _slack) -> None:
    """A Server whose inference container carries many long env values (e.g. JSON model settings):
    the diff's context lines around the new memory request alone are far over 2500 characters."""
    server = kube.get_object("mlops.seldon.io/v1alpha1", "Server", NS, "mlserver")
    mlserver = next(c for c in server["spec"]["podSpec"]["containers"] if c["name"] == "mlserver")
    mlserver["env"] = [
        {"name": f"MLSERVER_MODEL_SETTINGS_{i:02d}", "value": json.dumps({"i": i, "pad": "x" * 1200})}
        for i in range(40)
    ]
    kube.seed([server])


def test_a_large_diff_is_uploaded_into_the_thread(tmp_path: Path) -> None:
    with running_bot(tmp_path, before_serve=_server_with_long_env) as bot:
        bot.command("diagnose financial-ml")
        diagnosis = bot.final_diagnosis()
        proposal = bot.proposal_message(diagnosis.ts)
        body = json.dumps(proposal.blocks)
        assert "attached as a file in this thread" in body
        assert "```" not in body, "the diff is not inlined"
        [upload] = bot.slack.wait_for(lambda: [f for f in bot.slack.files() if f.completed], timeout=30)
        assert upload.thread_ts == diagnosis.ts and upload.channels == (CHANNEL,)
        assert upload.filename.endswith(".diff") and upload.length > 2500
        content = upload.content.decode()
        assert "+      resources:" in content and "memory: 1Gi" in content
        assert bot.slack.calls("files.getUploadURLExternal") and bot.slack.calls("files.completeUploadExternal")
        assert bot.slack.calls("files.upload") == [], "the retired method is not used"
        shared = [m for m in bot.slack.thread(CHANNEL, diagnosis.ts) if m.files]
        assert shared and shared[0].files[0]["id"] == upload.id


# -- acknowledgement and load ------------------------------------------------------------------------


def test_commands_are_acknowledged_while_the_cluster_is_slow(tmp_path: Path) -> None:
    with running_bot(tmp_path) as bot:
        bot.kube.set_latency(2.0)
        started = time.monotonic()
        status, answer = bot.command("diagnose financial-ml")
        elapsed = time.monotonic() - started
        assert status == 200 and b"On it" in answer and elapsed < ACK_DEADLINE
        assert not bot.messages_with("Root cause"), "the ack did not wait for the cluster"
        # The work keeps going after the ack (shortened here to keep the suite fast).
        bot.slack.wait_for(lambda: bot.messages_with("Diagnosing"), timeout=5)
        time.sleep(0.5)
        bot.kube.set_latency(0.0)
        proposal = bot.proposal_message(bot.final_diagnosis().ts)

        # A click is acknowledged quickly too, whatever the cluster does.
        bot.kube.set_latency(2.0)
        started = time.monotonic()
        assert bot.click(proposal, ids.APPROVE, BOB)[0] == 200
        assert time.monotonic() - started < ACK_DEADLINE
        bot.kube.set_latency(0.0)
        bot.slack.wait_for(lambda: bot.slack.last_message(AUDIT), timeout=45)
        assert bot.server_memory() == "1Gi"


def test_twenty_concurrent_commands_are_all_acknowledged(tmp_path: Path) -> None:
    with running_bot(tmp_path, pool=WorkerPool(4, max_pending=32)) as bot:
        barrier = threading.Barrier(20)

        def send(_: int) -> tuple[int, bytes, float]:
            barrier.wait()
            started = time.monotonic()
            status, answer = bot.command("status financial-ml")
            return status, answer, time.monotonic() - started

        with ThreadPoolExecutor(20) as threads:
            results = list(threads.map(send, range(20)))
        assert [status for status, _, _ in results] == [200] * 20
        assert all(b"On it" in answer for _, answer, _ in results)
        assert max(took for _, _, took in results) < ACK_DEADLINE
        bot.slack.wait_for(lambda: len(bot.slack.ephemerals(CHANNEL, ALICE)) == 20, timeout=45)


def test_a_full_worker_pool_answers_busy(tmp_path: Path) -> None:
    with running_bot(tmp_path, pool=WorkerPool(1, max_pending=2)) as bot:
        bot.kube.set_latency(0.5)
        answers = [bot.command("status financial-ml")[1] for _ in range(3)]
        assert b"On it" in answers[0] and b"On it" in answers[1], "one running, one queued"
        assert b"busy" in answers[2] and b"try again" in answers[2]
        bot.kube.set_latency(0.0)
        bot.slack.wait_for(lambda: len(bot.slack.ephemerals(CHANNEL, ALICE)) == 2, timeout=45)
        # Once the work is done the slots are free again.
        assert b"On it" in bot.command("audit financial-ml")[1]


# -- user groups --------------------------------------------------------------------------------------


def test_an_approver_through_a_user_group_may_approve(tmp_path: Path) -> None:
    groups = {"S0APPROVE1": [BOB], "S0REQUEST1": [EVE]}
    with running_bot(
        tmp_path, tenant={"requesters": [ALICE, "S0REQUEST1"], "approvers": ["S0APPROVE1"]}, groups=groups
    ) as bot:
        bot.command("diagnose financial-ml")
        proposal = bot.proposal_message(bot.final_diagnosis().ts)
        bot.click(proposal, ids.APPROVE, EVE)  # a requester through a group, not an approver
        assert "not an approver" in bot.ephemeral_to(EVE, "approver")
        bot.click(proposal, ids.APPROVE, ALICE)  # listed by id as requester only
        assert "not an approver" in bot.ephemeral_to(ALICE, "approver")
        assert [r.state for r in bot.store.approvals.find(tenant=NS)] == ["PENDING"]

        bot.click(proposal, ids.APPROVE, BOB)
        bot.slack.wait_for(lambda: bot.slack.last_message(AUDIT), timeout=45)
        assert bot.server_memory() == "1Gi"
        [record] = bot.store.approvals.find(tenant=NS)
        assert record.decided_by.id == BOB
        assert bot.slack.calls("usergroups.users.list"), "membership was read from Slack"

        # Group membership lets a requester run commands; a user in no group and no list may not.
        assert b"On it" in bot.command("status financial-ml", EVE)[1]
        assert b"you may not use tenant" in bot.command("status financial-ml", "U0MALLORY1")[1]


# -- failures are told, never silent ------------------------------------------------------------------


def test_a_cluster_failure_after_the_ack_is_told_to_the_user(tmp_path: Path) -> None:
    with running_bot(tmp_path) as bot:
        bot.kube.add_fault(r"/namespaces/financial-ml$", status=401)
        for verb in ("status", "walkthrough"):
            assert b"On it" in bot.command(f"{verb} financial-ml")[1]
            text = bot.ephemeral_to(ALICE, f"/seldon {verb} financial-ml failed")
            assert "cannot use the Kubernetes API" in text


def test_a_user_group_slack_cannot_read_denies_instead_of_failing(tmp_path: Path) -> None:
    # S0GONE0001 was deleted in Slack (usergroups.users.list answers no_such_subteam), but is still in the config.
    with running_bot(tmp_path, tenant={"approvers": [BOB, "S0GONE0001"]}) as bot:
        status, answer = bot.command("status financial-ml", EVE)
        assert status == 200 and b"you may not use tenant" in answer
        assert b"On it" in bot.command("status financial-ml", ALICE)[1], "users listed by id are not affected"
        bot.command("diagnose financial-ml")
        proposal = bot.proposal_message(bot.final_diagnosis().ts)
        assert bot.click(proposal, ids.APPROVE, EVE)[0] == 200
        assert "not an approver" in bot.ephemeral_to(EVE, "approver")
        assert [r.state for r in bot.store.approvals.find(tenant=NS)] == ["PENDING"]
