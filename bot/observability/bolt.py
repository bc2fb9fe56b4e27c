"""Bolt global middleware: a correlation id per Slack request, Slack API metrics, command and approval counts.

Registered by `build_app` before the listeners, so the listeners stay as they are. Bolt runs global
middleware before any listener and gives the listener the context's `ack` and `client`: the
middleware swaps in an `Ack` that records the command's outcome when the listener acknowledges,
and instruments the request's `WebClient` (Bolt builds one per request).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, BoltContext

from bot.errors import InputError
from bot.observability import metrics
from bot.observability.instrument import instrument_web_client
from bot.observability.logging import new_correlation_id, set_correlation_id
from bot.slack import ids
from bot.slack.commands import parse

log = logging.getLogger("seldon_chatops.slack")

_APPROVAL_ACTIONS = {ids.APPROVE: "approve", ids.REJECT: "reject"}


class ObservedAck(Ack):
    """`ack()` that counts the slash command's outcome once, then acknowledges as usual.

    The listener refuses with an error message (blocks with a warning) and accepts with a short
    plain text ("On it: ..."), so the payload's shape tells the outcome; `invalid` and `help` are
    known from parsing before the listener runs.
    """

    def __init__(self, command: str, known_outcome: str | None) -> None:
        super().__init__()
        self.command, self.known_outcome = command, known_outcome
        self._counted = False

    def __call__(self, text: str | dict = "", blocks: Any = None, **kwargs: Any) -> Any:  # type: ignore[override]
        if not self._counted:
            self._counted = True
            outcome = self.known_outcome or ("refused" if blocks or isinstance(text, dict) else "accepted")
            metrics.COMMANDS.labels(self.command, outcome).inc()
            log.info("/seldon %s: %s", self.command, outcome, extra={"command": self.command, "outcome": outcome})
        return super().__call__(text, blocks, **kwargs)


def _command(text: str) -> tuple[str, str | None]:
    """(verb, outcome known before the listener runs): parsing is pure and cheap, so it is done twice."""
    try:
        verb = parse(text).verb
    except InputError:
        return "invalid", "invalid"
    return verb, "help" if verb == "help" else None


def observe_requests(body: dict[str, Any], context: BoltContext, next: Callable[[], None]) -> None:
    """Bind a fresh correlation id, instrument the request's client, count commands and approval clicks."""
    cid = new_correlation_id("slack")
    set_correlation_id(cid)  # copied into the listener's thread by ContextThreadPoolExecutor
    context["correlation_id"] = cid
    client = context.get("client")
    if client is not None:
        instrument_web_client(client)
    user = body.get("user_id") or (body.get("user") or {}).get("id")
    if "command" in body:
        verb, known = _command(str(body.get("text") or ""))
        context["ack"] = ObservedAck(verb, known)
        log.info("slash command %s %s", body.get("command"), verb, extra={"slack_user": user})
    elif body.get("type") == "block_actions":
        for action in body.get("actions") or []:
            action_id = str(action.get("action_id") or "")
            if action_id in _APPROVAL_ACTIONS:
                metrics.APPROVAL_ACTIONS.labels(_APPROVAL_ACTIONS[action_id]).inc()
            log.info("button %s", action_id, extra={"slack_user": user})
    elif body.get("type") == "view_submission":
        callback = str((body.get("view") or {}).get("callback_id") or "")
        if callback == ids.REJECT_REASON_VIEW:
            metrics.APPROVAL_ACTIONS.labels("reject_reason").inc()
        log.info("view submission %s", callback, extra={"slack_user": user})
    next()
