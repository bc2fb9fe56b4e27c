"""The smaller commands: status, audit, restart, details of a step, and the teaching walkthrough."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient

from bot.diagnosis.engine import diagnose
from bot.diagnosis.models import Diagnosis
from bot.diagnosis.view import TenantView
from bot.playbooks import load_playbook
from bot.remediation.events import Actor
from bot.remediation.proposals import restart_proposal
from bot.slack.blocks.audit import progress_line
from bot.slack.blocks.common import error_ephemeral
from bot.slack.blocks.diagnosis import details_message
from bot.slack.blocks.diagnosis import walkthrough_step as step_message
from bot.slack.flows.decide import _event, _refresh, execute
from bot.slack.flows.diagnose import post_proposal
from bot.slack.services import Services
from bot.store.errors import TransitionError

AUDIT_WINDOW = timedelta(days=1)
AUDIT_LINES = 20


def _diagnosis(services: Services, namespace: str, correlation_id: str | None = None) -> tuple[str, Diagnosis]:
    """A cached diagnosis (buttons of a recent message) or a fresh one (another replica, or evicted)."""
    cached = services.cache.get(correlation_id) if correlation_id else None
    if cached is not None:
        return correlation_id or "", cached
    key = correlation_id or f"diag-{uuid.uuid4().hex[:12]}"
    diag = diagnose(services.collect(namespace), load_playbook("diagnose", services.playbooks_dir))
    services.cache.put(key, diag)
    return key, diag


def status(services: Services, client: WebClient, *, namespace: str, channel: str, user: Actor) -> None:
    _, diag = _diagnosis(services, namespace)
    lines = [f"*{namespace}*: {diag.headline}"]
    lines += [f"• {f.severity}: {f.summary}" for f in diag.findings[:5]]
    client.chat_postEphemeral(channel=channel, user=user.id, text="\n".join(lines))


def audit(services: Services, client: WebClient, *, namespace: str, channel: str, user: Actor) -> None:
    records = services.store.audit.query(namespace, since=services.clock() - AUDIT_WINDOW)[-AUDIT_LINES:]
    text = "\n".join(progress_line(r) for r in records) or f"No audit events for {namespace} in the last 24 h."
    client.chat_postEphemeral(channel=channel, user=user.id, text=f"*Audit of {namespace}*\n{text}")


def restart(services: Services, client: WebClient, *, namespace: str, server: str, channel: str, user: Actor) -> None:
    snapshot = services.collect(namespace)
    sts = TenantView(snapshot).get("statefulsets", server)
    if sts is None:
        client.chat_postEphemeral(
            channel=channel, user=user.id, **error_ephemeral(f"no StatefulSet {server} in {namespace}", None)
        )
        return
    proposal = restart_proposal(
        sts, "", f"Restart requested in Slack by <@{user.id}>.", snapshot.collected_at.isoformat()
    )
    correlation_id = f"restart-{uuid.uuid4().hex[:12]}"
    posted = client.chat_postMessage(channel=channel, text=f"Restart of {server} in {namespace} requested")
    record = post_proposal(
        services,
        client,
        proposal,
        channel=channel,
        thread_ts=posted["ts"],
        requester=user,
        correlation_id=correlation_id,
    )
    tenant = services.config.tenant(namespace)
    if record is not None and tenant is not None and tenant.direct_restart:
        # The tenant lets requesters restart without a second person: approve on their behalf, recorded
        # in the audit log like any approval, and the message's buttons give way to who decided.
        try:
            approved = services.store.approvals.approve(
                record.id,
                user,
                allow_self_approval=True,
                event=_event(services, record, "approved", "ok", user, "direct restart allowed for the tenant"),
            )
        except TransitionError:
            return  # someone clicked Approve or Reject on the message first: that decision stands
        _refresh(services, client, approved, "approved", user)
        execute(services, client, approved, user)


def details(
    services: Services, client: WebClient, value: dict[str, Any], *, channel: str, thread_ts: str, user: Actor
) -> None:
    _, diag = _diagnosis(services, value["ns"], value.get("c"))
    client.chat_postMessage(channel=channel, thread_ts=thread_ts, **details_message(diag, value["s"]))


def walkthrough(services: Services, client: WebClient, *, namespace: str, channel: str) -> None:
    key, diag = _diagnosis(services, namespace)
    client.chat_postMessage(channel=channel, **step_message(diag, 0, correlation_id=key))


def walkthrough_step(
    services: Services, client: WebClient, value: dict[str, Any], *, channel: str, ts: str, user: Actor
) -> None:
    key, diag = _diagnosis(services, value["ns"], value.get("c"))
    client.chat_update(channel=channel, ts=ts, **step_message(diag, int(value["i"]), correlation_id=key))
