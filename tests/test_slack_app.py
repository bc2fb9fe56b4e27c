"""End to end: signed Slack requests -> the Bolt app over HTTP -> fake Kubernetes and fake Slack -> the store.

Nothing of ours is mocked: Slack's requests are signed as Slack signs them and posted to the app
served by waitress; the app talks to the fake Slack Web API and, through the real `kubernetes`
client, to the fake API server, whose operator hook rolls the pods after the Server CR changes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import waitress
from fakekube import FakeKube, FakeSeldonOperator
from fakeslack import FakeSlack
from fakeslack.signing import block_actions_body, post_signed, slash_command_body, view_submission_body
from kubernetes import client

from bot.settings import BotConfig, Tenant
from bot.slack import ids
from bot.slack.app import build_app, wsgi_app
from bot.slack.authz import Authorizer
from bot.slack.services import Services, WorkerPool
from bot.store.store import Store

ROOT = Path(__file__).resolve().parents[1]
SECRET = "test-signing-secret"
NS, CHANNEL, AUDIT = "financial-ml", "C0FINANCE1", "C0AUDIT001"
ALICE, BOB, EVE = "U0ALICE001", "U0BOB00001", "U0EVE00001"
CAPACITY_LOG = (
    'time="2026-11-27T10:00:00Z" level=info msg="Setting memory request from env MEMORY_REQUEST with value {}"'
)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Bot:
    kube: FakeKube
    slack: FakeSlack
    store: Store
    url: str
    clock: Clock

    def command(
        self, text: str, user: str = ALICE, *, secret: str = SECRET, timestamp: int | None = None
    ) -> tuple[int, bytes]:
        body = slash_command_body(text=text, user_id=user, user_name=user.lower(), channel_id=CHANNEL)
        status, _, answer = post_signed(self.url, body, secret, timestamp=timestamp)
        return status, answer

    def click(self, message, action_id: str, user: str) -> tuple[int, bytes]:
        body = block_actions_body(action_id, message=message, user_id=user, user_name=user.lower(), channel_id=CHANNEL)
        status, _, answer = post_signed(self.url, body, SECRET)
        return status, answer

    def final_diagnosis(self):
        def done():
            messages = [m for m in self.slack.messages(CHANNEL) if m.thread_ts in (None, m.ts)]
            return next((m for m in messages if "Root cause" in json.dumps(m.blocks)), None)

        return self.slack.wait_for(done, timeout=20)

    def proposal_message(self, thread_ts: str):
        def posted():
            return next((m for m in self.slack.thread(CHANNEL, thread_ts) if ids.APPROVE in json.dumps(m.blocks)), None)

        return self.slack.wait_for(posted, timeout=20)

    def ephemeral_to(self, user: str, contains: str) -> str:
        def said():
            return next((e.text for e in self.slack.ephemerals(CHANNEL, user) if contains in e.text), None)

        return self.slack.wait_for(said, timeout=10)

    def server_memory(self) -> str | None:
        server = self.kube.get_object("mlops.seldon.io/v1alpha1", "Server", NS, "mlserver")
        containers = server["spec"]["podSpec"]["containers"]
        mlserver = next(c for c in containers if c["name"] == "mlserver")
        return ((mlserver.get("resources") or {}).get("requests") or {}).get("memory")


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[Bot]:
    clock = Clock()
    with FakeKube() as kube, FakeSlack() as slack:
        kube.seed_bundle(ROOT / "examples" / "zero-capacity")

        def rolled(namespace: str, server: str, pods: list[dict]) -> None:
            for pod in pods:
                kube.set_log(namespace, pod["metadata"]["name"], "agent", [CAPACITY_LOG.format(2**30)])
            for model in kube.objects("models"):
                ready = [
                    {"type": t, "status": "True", "message": "ModelAvailable", "reason": ""}
                    for t in ("ModelReady", "Ready")
                ]
                kube.set_status(
                    model["apiVersion"],
                    "Model",
                    namespace,
                    model["metadata"]["name"],
                    {**model.get("status", {}), "conditions": ready},
                )

        FakeSeldonOperator(kube, auto=True, on_pods_rolled=rolled)
        for channel, name in ((CHANNEL, "financial-ml"), (AUDIT, "seldon-audit")):
            slack.add_channel(channel, name)
        for user in (ALICE, BOB, EVE):
            slack.add_user(user, user.lower())
        config = BotConfig(
            tenants=[
                Tenant(namespace=NS, channel=CHANNEL, audit_channel=AUDIT, requesters=[ALICE], approvers=[ALICE, BOB])
            ],
            workers=4,
        )
        store = Store.open(f"sqlite:///{tmp_path / 'bot.db'}", clock=clock)
        services = Services(
            config=config,
            authz=Authorizer(config, lambda _: set()),
            store=store,
            kube=kube.api_client(),
            pool=WorkerPool(4),
            clock=clock,
            update_interval=0,
            poll_interval=0.01,
        )
        app = build_app(services, token=slack.token, api_url=slack.api_url, signing_secret=SECRET)
        server = waitress.create_server(wsgi_app(app), host="127.0.0.1", port=0, threads=8)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            yield Bot(kube, slack, store, f"http://127.0.0.1:{server.effective_port}/slack/events", clock)
        finally:
            server.close()
            services.pool.shutdown()
            store.close()


def test_diagnose_approve_apply_verify_and_audit(bot: Bot) -> None:
    status, answer = bot.command("diagnose financial-ml")
    assert status == 200 and b"On it" in answer
    diagnosis = bot.final_diagnosis()
    assert "capacity" in json.dumps(diagnosis.blocks).lower()
    assert len(diagnosis.versions) >= 2, "the message was updated in place as steps completed"
    proposal = bot.proposal_message(diagnosis.ts)
    assert bot.server_memory() is None

    assert bot.click(proposal, ids.APPROVE, BOB)[0] == 200
    audit = bot.slack.wait_for(lambda: bot.slack.last_message(AUDIT), timeout=20)
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
        "mlops.seldon.io", "v1alpha1", NS, "servers", "mlserver", {"spec": {"replicas": 3}},
        _content_type="application/merge-patch+json")
    bot.click(proposal, ids.APPROVE, BOB)
    audit = bot.slack.wait_for(lambda: bot.slack.last_message(AUDIT), timeout=20)
    assert "target changed since the proposal" in audit.text
    assert bot.server_memory() is None
    assert [r.state for r in bot.store.approvals.find(tenant=NS)] == ["FAILED"]


def test_reject_with_a_reason(bot: Bot) -> None:
    bot.command("diagnose financial-ml")
    proposal = bot.proposal_message(bot.final_diagnosis().ts)
    bot.click(proposal, ids.REJECT, BOB)
    view = bot.slack.wait_for(lambda: bot.slack.views(), timeout=10)[-1]
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
