"""Approve / Reject clicks: authorise, decide once (the store's compare-and-set), apply, audit.

A double click, two approvers at once or two replicas all reach the same conditional UPDATE; only
one wins, the others are told who decided. Only the winner of APPROVED -> APPLYING touches the
cluster.
"""

from __future__ import annotations

from slack_sdk import WebClient

from bot.playbooks import load_playbook
from bot.remediation.events import Actor, AuditEvent, FanOut
from bot.remediation.executor import Execution, Executor, Timing
from bot.remediation.kube import KubeTarget
from bot.remediation.verify import LiveVerifier
from bot.slack.blocks.audit import audit_message, progress_line
from bot.slack.blocks.proposal import decided_message
from bot.slack.flows.diagnose import DIFF_INLINE_LIMIT
from bot.slack.services import Services
from bot.store.errors import ProposalExpired, StoreError, TransitionError
from bot.store.models import ProposalRecord

FINAL = {"fixed": "SUCCEEDED", "rolled-back": "ROLLED_BACK"}


class ThreadSink:
    """Audit events as progress lines in the proposal's thread."""

    def __init__(self, client: WebClient, channel: str, thread_ts: str) -> None:
        self.client, self.channel, self.thread_ts = client, channel, thread_ts

    def emit(self, event: AuditEvent) -> None:
        if event.step in ("requested", "dry-run") or (event.step, event.outcome) == ("rollout", "in-progress"):
            return  # the thread gets the decisions and results, not every poll
        self.client.chat_postMessage(channel=self.channel, thread_ts=self.thread_ts, text=progress_line(event))


def _event(
    services: Services, record: ProposalRecord, step: str, outcome: str, actor: Actor, detail: str
) -> AuditEvent:
    return AuditEvent(
        time=services.clock(),
        tenant=record.tenant,
        step=step,
        outcome=outcome,
        actor=record.requester,
        approver=actor,
        correlation_id=record.correlation_id,
        proposal_id=record.proposal_id,
        target=record.target,
        patch_summary=record.proposal.title,
        detail=detail,
    )


def _refresh(
    services: Services,
    client: WebClient,
    record: ProposalRecord,
    state: str,
    by: Actor | None,
    reason: str | None = None,
) -> None:
    ref = services.store.messages.get("proposal", record.id)
    if ref is None:
        return
    message = decided_message(
        record.proposal,
        state=state,
        by_id=by.id if by else None,
        at=services.clock(),
        reason=reason,
        requester_id=record.requester.id,
        diff_attached=len(record.proposal.diff) > DIFF_INLINE_LIMIT,
    )
    client.chat_update(channel=ref.channel, ts=ref.ts, **message)


def approve(services: Services, client: WebClient, record_id: str, approver: Actor) -> str | None:
    """None on success (the thread says the rest); else the ephemeral answer for the clicker."""
    try:
        record = services.store.approvals.get(record_id)
    except StoreError as exc:
        return str(exc)
    tenant = services.config.tenant(record.tenant)
    if tenant is None:
        return f"tenant {record.tenant} is no longer configured"
    decision = services.authz.may_approve(approver.id, tenant, record.requester.id)
    if not decision.allowed:
        return decision.reason
    try:
        record = services.store.approvals.approve(
            record_id,
            approver,
            allow_self_approval=tenant.allow_self_approval,
            event=_event(services, record, "approved", "ok", approver, "approved"),
        )
    except ProposalExpired as exc:
        _refresh(services, client, record, "expired", None)
        return str(exc)
    except TransitionError as exc:
        return str(exc)
    _refresh(services, client, record, "approved", approver)
    if services.pool.submit(execute, services, client, record, approver) is None:
        # A full pool must not strand an APPROVED record: apply on this (already acknowledged) thread.
        execute(services, client, record, approver)
    return None


def reject(services: Services, client: WebClient, record_id: str, decider: Actor, reason: str) -> str | None:
    try:
        record = services.store.approvals.get(record_id)
        tenant = services.config.tenant(record.tenant)
        allowed = tenant is not None and (
            decider.id == record.requester.id or services.authz.may_approve(decider.id, tenant, "").allowed
        )
        if not allowed:
            return f"you may not reject proposals in {record.tenant}"
        record = services.store.approvals.reject(
            record_id, decider, reason=reason, event=_event(services, record, "rejected", "ok", decider, reason)
        )
    except StoreError as exc:
        return str(exc)
    _refresh(services, client, record, "rejected", decider, reason)
    return None


def execute(services: Services, client: WebClient, record: ProposalRecord, approver: Actor) -> Execution | None:
    try:
        record = services.store.approvals.start_applying(record.id, approver, replica_id=services.replica_id)
    except TransitionError:
        return None  # another click or replica is applying it
    ref = services.store.messages.get("proposal", record.id)
    channel, thread = (
        (ref.channel, ref.thread_ts or ref.ts) if ref else (services.config.tenant(record.tenant).channel, None)
    )
    playbook = load_playbook("diagnose", services.playbooks_dir)
    verifier = LiveVerifier(
        lambda: services.collect(record.tenant),
        playbook,
        timeout=services.config.verify_timeout_seconds,
        interval=services.poll_interval,
    )
    sinks = [services.store] + ([ThreadSink(client, channel, thread)] if thread else [])
    executor = Executor(
        KubeTarget(services.kube),
        FanOut(*sinks),
        verifier,
        clock=services.clock,
        timing=Timing(rollout_timeout=services.config.rollout_timeout_seconds, interval=services.poll_interval),
    )
    result = executor.run(
        record.proposal, actor=record.requester, approver=approver, correlation_id=record.correlation_id
    )
    services.store.approvals.finish(record.id, FINAL.get(result.result, "FAILED"), approver, detail=result.message)
    _post_audit(services, client, record, result, channel, thread)
    return result


def _post_audit(
    services: Services, client: WebClient, record: ProposalRecord, result: Execution, channel: str, thread: str | None
) -> None:
    permalink = None
    if thread:
        permalink = client.chat_getPermalink(channel=channel, message_ts=thread).get("permalink")
    message = audit_message(result.events, result=result.result, message=result.message, permalink=permalink)
    if thread:
        client.chat_postMessage(channel=channel, thread_ts=thread, **message)
    tenant = services.config.tenant(record.tenant)
    if tenant and tenant.audit_channel:
        client.chat_postMessage(channel=tenant.audit_channel, **message)
