"""`/seldon digest` in Slack: show, schedule, turn off, or post a tenant's digest now. Works on every replica.

Schedules are written to the store (`digest_schedules`); the leader picks them up at its next sweep,
so it does not matter which replica Slack sent the command to. Answers are ephemeral: a schedule
change is the requester's business until the digest itself arrives. Runs on the worker pool, after
the listener acknowledged and checked that the user may use the tenant.
"""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.digest.collect import BatchCollector
from bot.digest.command import DigestRequest, channel_ref
from bot.digest.plan import effective_schedules
from bot.digest.runner import DigestRunner
from bot.digest.schedule import parse_schedule
from bot.digest.state import DigestState
from bot.errors import ClusterError, InputError
from bot.playbooks import load_playbook
from bot.remediation.events import Actor
from bot.settings import Tenant
from bot.slack.blocks import kit
from bot.slack.blocks.common import error_ephemeral
from bot.slack.limits import escape
from bot.slack.services import Services

LIST_PAGE = 200


def handle(
    services: Services, client: WebClient, *, namespace: str, request: DigestRequest, channel: str, user: Actor
) -> None:
    tenant = services.config.tenant(namespace)
    try:
        if tenant is None:  # the listener's authorisation already refused unknown tenants; stay safe
            raise InputError(f"{namespace!r} is not a configured tenant")
        if request.action == "now":
            runner_for(services, client).post_now(namespace, channel)
            return
        if request.action == "schedule":
            payload = _schedule(services, client, tenant, request, user)
        elif request.action == "off":
            DigestState(services.store.engine, services.clock).set_schedule(namespace, user, enabled=False)
            who = kit.mention(user.id)
            payload = _ephemeral(f":no_bell: Scheduled digests of *{escape(namespace)}* are off (set by {who}).")
        else:
            payload = _show(services, tenant)
    except (InputError, ClusterError) as exc:
        payload = error_ephemeral(str(exc), None)
    except SlackApiError as exc:
        payload = error_ephemeral(f"Slack refused the digest: {exc.response['error']}", None)
    client.chat_postEphemeral(channel=channel, user=user.id, **payload)


def runner_for(services: Services, client: WebClient) -> DigestRunner:
    """A runner for on-request digests (no scheduler involved): reads the tenant with its own namespace LISTs."""
    playbook = load_playbook("diagnose", services.playbooks_dir)
    collect = BatchCollector(
        services.kube, playbook, operator_namespace=services.config.operator_namespace, clock=services.clock
    )
    return DigestRunner(
        config=services.config,
        store=services.store,
        client=client,
        collect=collect,
        replica_id=services.replica_id,
        clock=services.clock,
    )


def resolve_channel(client: WebClient, text: str) -> str:
    """The channel id for what the user typed; InputError when it does not exist or the bot cannot post there."""
    ident, name = channel_ref(text)
    if ident is None:
        ident = _find_by_name(client, name or "")
    try:
        info = client.conversations_info(channel=ident)["channel"]
    except SlackApiError as exc:
        error = exc.response.get("error")
        if error in ("channel_not_found", "not_in_channel"):
            shown = f"#{name} ({ident})" if name else ident
            raise InputError(
                f"unknown channel {shown}: it does not exist, or it is private and the bot is not in it"
            ) from None
        raise
    label = f"#{info.get('name') or name or ident}"
    if info.get("is_archived"):
        raise InputError(f"channel {label} is archived")
    if not info.get("is_member", True):
        raise InputError(f"the bot is not in {label}: invite it there first (/invite @the-bot)")
    return str(info["id"])


def _schedule(
    services: Services, client: WebClient, tenant: Tenant, request: DigestRequest, user: Actor
) -> dict[str, Any]:
    default_zone = tenant.digest.timezone if tenant.digest else "UTC"
    schedule = parse_schedule(request.cron or "", default_zone)
    channel = resolve_channel(client, request.channel) if request.channel else tenant.channel
    DigestState(services.store.engine, services.clock).set_schedule(
        tenant.namespace, user, cron=schedule.cron, timezone=schedule.timezone, channel=channel
    )
    upcoming = ", ".join(kit.slack_time(t) for t in schedule.next_runs(services.clock()))
    return _ephemeral(
        f":calendar: Digest of *{escape(tenant.namespace)}* scheduled: {kit.code(schedule.cron)} "
        f"({escape(schedule.timezone)}) in <#{channel}>.\nNext: {escape(upcoming)}."
    )


def _show(services: Services, tenant: Tenant) -> dict[str, Any]:
    state = DigestState(services.store.engine, services.clock)
    plan = effective_schedules(services.config, state.overrides()).get(tenant.namespace)
    if plan is None:
        example = kit.code(f'/seldon digest {tenant.namespace} schedule "0 9 * * 1-5"')
        return _ephemeral(f"No scheduled digest for *{escape(tenant.namespace)}*. Set one with {example}.")
    upcoming = ", ".join(kit.slack_time(t) for t in plan.schedule.next_runs(services.clock()))
    source = "set from Slack" if plan.source == "slack" else "from the config file"
    return _ephemeral(
        f":calendar: Digest of *{escape(tenant.namespace)}*: {kit.code(plan.schedule.cron)} "
        f"({escape(plan.schedule.timezone)}) in <#{plan.channel}>, {source}.\nNext: {escape(upcoming)}."
    )


def _find_by_name(client: WebClient, name: str) -> str:
    cursor = None
    while True:
        page = client.conversations_list(
            types="public_channel,private_channel", exclude_archived=True, limit=LIST_PAGE, cursor=cursor
        )
        for channel in page.get("channels") or []:
            if channel.get("name") == name:
                return str(channel["id"])
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            raise InputError(f"unknown channel #{name}: no channel of that name is visible to the bot")


def _ephemeral(text: str) -> dict[str, Any]:
    return kit.message(text, [kit.section(text)])
