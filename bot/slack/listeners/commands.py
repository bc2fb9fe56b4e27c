"""`/seldon …`: validate and authorise within the 3-second ack, then hand the slow work to the pool."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.digest import slack as digest
from bot.errors import ClusterError, InputError
from bot.remediation.events import Actor
from bot.slack.blocks.common import error_ephemeral, help_message
from bot.slack.commands import USAGE, Command, parse
from bot.slack.flows import tenant_ops
from bot.slack.flows.diagnose import run_diagnosis
from bot.slack.services import Services

log = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    @app.command("/seldon")
    def seldon(ack: Ack, command: dict[str, Any], client: WebClient) -> None:
        user = Actor(id=command["user_id"], name=command.get("user_name", ""))
        try:
            cmd = parse(command.get("text", ""))
        except InputError as exc:
            ack(**error_ephemeral(str(exc), services.authz.visible_tenants(user.id)))
            return
        if cmd.verb == "help":
            ack(**help_message(list(USAGE.values())))
            return
        decision = services.authz.may_request(user.id, cmd.namespace or "")
        if not decision.allowed:
            ack(**error_ephemeral(decision.reason, services.authz.visible_tenants(user.id)))
            return
        if services.pool.submit(_dispatch, services, client, cmd, user, command["channel_id"]) is None:
            ack(**error_ephemeral("the bot is busy with other diagnoses; try again in a minute", None))
            return
        ack(text=f"On it: `{cmd.verb} {cmd.namespace}{' ' + cmd.argument if cmd.argument else ''}`")


def _dispatch(services: Services, client: WebClient, cmd: Command, user: Actor, channel: str) -> None:
    """Run the command on the pool; a failure is told to the user (never silence after "On it")."""
    try:
        _run(services, client, cmd, user, channel)
    except Exception as exc:
        log.exception("/seldon %s %s failed", cmd.verb, cmd.namespace)
        why = str(exc) if isinstance(exc, InputError | ClusterError) else "unexpected error (see the bot's log)"
        client.chat_postEphemeral(
            channel=channel, user=user.id, **error_ephemeral(f"/seldon {cmd.verb} {cmd.namespace} failed: {why}", None)
        )


def _run(services: Services, client: WebClient, cmd: Command, user: Actor, channel: str) -> None:
    namespace = cmd.namespace or ""
    if cmd.verb == "diagnose":
        run_diagnosis(
            services, client, namespace=namespace, playbook=cmd.argument or "diagnose", channel=channel, user=user
        )
    elif cmd.verb == "walkthrough":
        tenant_ops.walkthrough(services, client, namespace=namespace, channel=channel)
    elif cmd.verb == "status":
        tenant_ops.status(services, client, namespace=namespace, channel=channel, user=user)
    elif cmd.verb == "restart":
        tenant_ops.restart(services, client, namespace=namespace, server=cmd.argument or "", channel=channel, user=user)
    elif cmd.verb == "audit":
        tenant_ops.audit(services, client, namespace=namespace, channel=channel, user=user)
    elif cmd.verb == "digest" and cmd.digest is not None:
        digest.handle(services, client, namespace=namespace, request=cmd.digest, channel=channel, user=user)
