"""`/seldon diagnose`: one message, updated in place step by step, then the proposals in its thread."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

from slack_sdk import WebClient

from bot.diagnosis.engine import diagnose
from bot.diagnosis.models import Diagnosis, Proposal
from bot.playbooks import load_playbook
from bot.remediation.events import Actor, AuditEvent
from bot.remediation.executor import Executor
from bot.remediation.kube import KubeTarget
from bot.slack.blocks.common import error_ephemeral
from bot.slack.blocks.diagnosis import diagnosis_message
from bot.slack.blocks.proposal import manual_proposal_message, proposal_message
from bot.slack.services import Services
from bot.store.models import ProposalRecord

DIFF_INLINE_LIMIT = 2500  # longer diffs go as a file: a section holds at most 3000 characters


def run_diagnosis(
    services: Services, client: WebClient, *, namespace: str, playbook: str, channel: str, user: Actor
) -> Diagnosis | None:
    correlation_id = f"diag-{uuid.uuid4().hex[:12]}"
    started = client.chat_postMessage(
        channel=channel,
        text=f"Diagnosing {namespace}…",
        blocks=[
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f":hourglass_flowing_sand: Diagnosing *{namespace}*…"},
            }
        ],
    )
    ts = started["ts"]
    try:
        book = load_playbook(playbook, services.playbooks_dir)
        diag = diagnose(services.collect(namespace), book)
    except Exception as exc:
        client.chat_update(channel=channel, ts=ts, **error_ephemeral(f"Diagnosis of {namespace} failed: {exc}", None))
        return None
    services.cache.put(correlation_id, diag)
    services.store.messages.upsert("diagnosis", correlation_id, channel=channel, ts=ts)
    for step in range(1, len(diag.steps)):  # walk the user through the steps as they are judged
        client.chat_update(
            channel=channel, ts=ts, **diagnosis_message(diag, running_step=step, correlation_id=correlation_id)
        )
        time.sleep(services.update_interval)
    client.chat_update(channel=channel, ts=ts, **diagnosis_message(diag, correlation_id=correlation_id))
    for proposal in diag.proposals:
        post_proposal(
            services, client, proposal, channel=channel, thread_ts=ts, requester=user, correlation_id=correlation_id
        )
    return diag


def post_proposal(
    services: Services,
    client: WebClient,
    proposal: Proposal,
    *,
    channel: str,
    thread_ts: str,
    requester: Actor,
    correlation_id: str,
) -> ProposalRecord | None:
    """Automatic proposals get a server-side dry run, a record in the store and Approve/Reject buttons."""
    if not proposal.automatic:
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, **manual_proposal_message(proposal))
        return None
    executor = Executor(KubeTarget(services.kube), services.store, clock=services.clock)
    plan = executor.run(proposal, actor=requester, dry_run=True, correlation_id=correlation_id)
    if plan.result != "dry-run":
        client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            **error_ephemeral(f"Proposal {proposal.id} cannot be offered: {plan.message}", None),
        )
        return None
    proposal = proposal.model_copy(update={"diff": plan.diff or proposal.diff})
    tenant = services.config.tenant(proposal.target.namespace or "")
    record = services.store.approvals.request(
        proposal,
        tenant=proposal.target.namespace or "",
        requester=requester,
        correlation_id=correlation_id,
        ttl=timedelta(minutes=services.config.proposal_ttl_minutes),
        event=_requested(services, proposal, requester, correlation_id),
    )
    attached = len(proposal.diff) > DIFF_INLINE_LIMIT
    message = proposal_message(
        proposal,
        record_id=record.id,
        requester_id=requester.id,
        expires_at=record.expires_at,
        diff_attached=attached,
        two_person_rule=not (tenant and tenant.allow_self_approval),
    )
    posted = client.chat_postMessage(channel=channel, thread_ts=thread_ts, **message)
    services.store.messages.upsert("proposal", record.id, channel=channel, ts=posted["ts"], thread_ts=thread_ts)
    if attached:
        client.files_upload_v2(
            channel=channel,
            thread_ts=thread_ts,
            content=proposal.diff,
            filename=f"{proposal.id}.diff",
            title=f"Dry-run diff of {proposal.id}",
        )
    return record


def _requested(services: Services, proposal: Proposal, requester: Actor, correlation_id: str) -> AuditEvent:
    return AuditEvent(
        time=services.clock(),
        tenant=proposal.target.namespace or "",
        step="requested",
        outcome="ok",
        actor=requester,
        correlation_id=correlation_id,
        proposal_id=proposal.id,
        target=proposal.target,
        patch_summary=proposal.title,
        detail="proposal offered for approval",
    )
