"""Modal submissions: the optional reason of a rejection."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.remediation.events import Actor
from bot.slack import ids
from bot.slack.blocks.proposal import reason_from_view
from bot.slack.flows import decide
from bot.slack.services import Services


def register(app: App, services: Services) -> None:
    @app.view(ids.REJECT_REASON_VIEW)
    def reject_reason(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        record_id = ids.decode_value(view.get("private_metadata", ""))["r"]
        reason = reason_from_view(view)
        user = Actor(id=body["user"]["id"], name=body["user"].get("username", ""))
        answer = decide.reject(services, client, record_id, user, reason)
        if answer:
            ack(response_action="errors", errors={ids.REJECT_REASON_BLOCK: answer})
        else:
            ack()
