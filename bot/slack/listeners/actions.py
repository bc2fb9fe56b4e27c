"""Button clicks: Approve, Reject (opens a modal), Details, walkthrough Next/Stop."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.remediation.events import Actor
from bot.slack import ids
from bot.slack.blocks.proposal import reject_reason_view
from bot.slack.flows import decide, tenant_ops
from bot.slack.services import Services


def _actor(body: dict[str, Any]) -> Actor:
    user = body.get("user") or {}
    return Actor(id=user.get("id", ""), name=user.get("username") or user.get("name") or "")


def _value(body: dict[str, Any]) -> dict[str, Any]:
    return ids.decode_value(body["actions"][0].get("value", ""))


def register(app: App, services: Services) -> None:
    @app.action(ids.APPROVE)
    def approve(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        user, channel = _actor(body), body["channel"]["id"]
        answer = decide.approve(services, client, _value(body)["r"], user)
        if answer:
            client.chat_postEphemeral(channel=channel, user=user.id, text=answer)

    @app.action(ids.REJECT)
    def reject(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        value = _value(body)
        client.views_open(trigger_id=body["trigger_id"], view=reject_reason_view(value["p"], record_id=value["r"]))

    @app.action(ids.DETAILS)
    def details(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        value = _value(body)
        tenant_ops.details(
            services,
            client,
            value,
            channel=body["channel"]["id"],
            thread_ts=body["container"]["message_ts"],
            user=_actor(body),
        )

    @app.action(ids.NEXT_STEP)
    def next_step(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        tenant_ops.walkthrough_step(
            services,
            client,
            _value(body),
            channel=body["channel"]["id"],
            ts=body["container"]["message_ts"],
            user=_actor(body),
        )

    @app.action(ids.STOP_WALKTHROUGH)
    def stop(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        client.chat_update(
            channel=body["channel"]["id"], ts=body["container"]["message_ts"], text="Walkthrough stopped.", blocks=[]
        )
