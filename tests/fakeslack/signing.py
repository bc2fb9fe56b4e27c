"""Requests as Slack sends them to the app: signed, form-encoded slash commands and interaction payloads.

Signature (docs/slack-platform.md section 5): X-Slack-Signature = "v0=" + hex HMAC-SHA256(secret, "v0:{ts}:{body}")
over the raw body bytes, with X-Slack-Request-Timestamp = ts. Bolt rejects a bad signature or a timestamp more
than 300 s away from now with 401. Payload shapes: section 2.1 (slash command) and 2.2 (block_actions).

Defaults match FakeSlack's default Identity (team, app). The default response_url points at a closed port on
127.0.0.1 so a forgotten one fails fast and locally; pass FakeSlack.response_url(...) to record the posts.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from .state import Identity, Json, Message

FORM = "application/x-www-form-urlencoded"
_IDENT = Identity()
TEAM_ID = _IDENT.team_id
TEAM_DOMAIN = _IDENT.team_domain
API_APP_ID = _IDENT.app_id
USER_ID = "U0FAKEUSR1"
USER_NAME = "alice"
CHANNEL_ID = "C0FAKECHN1"
CHANNEL_NAME = "seldon-ops"
LEGACY_TOKEN = "fakeVerificationToken00"  # the deprecated verification token: Bolt ignores it
DEAD_RESPONSE_URL = "http://127.0.0.1:9/commands/unset"


def signature(body: bytes | str, secret: str, timestamp: int | str) -> str:
    raw = body.encode() if isinstance(body, str) else body
    base = f"v0:{timestamp}:".encode() + raw
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def sign(body: bytes | str, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """The two headers Slack adds to every request it sends to the app."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": signature(body, secret, ts)}


def new_trigger_id() -> str:
    return f"{int(time.time())}.{secrets.randbelow(10**10):010d}.{secrets.token_hex(16)}"


def new_action_ts() -> str:
    return f"{time.time():.6f}"


def slash_command_body(
    command: str = "/seldon",
    text: str = "",
    *,
    user_id: str = USER_ID,
    user_name: str = USER_NAME,
    channel_id: str = CHANNEL_ID,
    channel_name: str = CHANNEL_NAME,
    team_id: str = TEAM_ID,
    team_domain: str = TEAM_DOMAIN,
    response_url: str = DEAD_RESPONSE_URL,
    trigger_id: str | None = None,
    api_app_id: str = API_APP_ID,
    enterprise_id: str | None = None,
    enterprise_name: str | None = None,
    token: str = LEGACY_TOKEN,
) -> bytes:
    """The application/x-www-form-urlencoded body of a slash command, fields in Slack's order."""
    fields: list[tuple[str, str]] = [("token", token), ("team_id", team_id), ("team_domain", team_domain)]
    if enterprise_id:
        fields += [("enterprise_id", enterprise_id), ("enterprise_name", enterprise_name or "")]
    fields += [
        ("channel_id", channel_id),
        ("channel_name", channel_name),
        ("user_id", user_id),
        ("user_name", user_name),
        ("command", command),
        ("text", text),
        ("api_app_id", api_app_id),
        ("is_enterprise_install", "false"),
        ("response_url", response_url),
        ("trigger_id", trigger_id or new_trigger_id()),
    ]
    return urlencode(fields).encode()


def payload_body(payload: Mapping[str, Any]) -> bytes:
    """How Slack posts an interaction: payload=<url-encoded JSON>."""
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()


def find_button(blocks: list[Json], action_id: str) -> tuple[str, Json]:
    """(block_id, element) of the element with this action_id in actions blocks or section accessories."""
    for block in blocks:
        elements = block.get("elements", []) if block.get("type") == "actions" else [block.get("accessory") or {}]
        for element in elements:
            if element.get("action_id") == action_id:
                return str(block.get("block_id", "fakeBlk")), element
    raise LookupError(f"no element with action_id {action_id!r} in the message")


def _user(user_id: str, user_name: str, team_id: str) -> Json:
    return {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id}


def block_actions_payload(
    action_id: str,
    value: str | None = None,
    *,
    message: Message | Mapping[str, Any] | None = None,
    block_id: str | None = None,
    user_id: str = USER_ID,
    user_name: str = USER_NAME,
    channel_id: str | None = None,
    channel_name: str = CHANNEL_NAME,
    message_ts: str | None = None,
    thread_ts: str | None = None,
    is_ephemeral: bool = False,
    team_id: str = TEAM_ID,
    team_domain: str = TEAM_DOMAIN,
    api_app_id: str = API_APP_ID,
    response_url: str = DEAD_RESPONSE_URL,
    trigger_id: str | None = None,
    button_text: str | None = None,
    style: str | None = None,
    action_ts: str | None = None,
    state_values: Json | None = None,
    token: str = LEGACY_TOKEN,
) -> Json:
    """A button click. Give `message` (a stored FakeSlack Message or its API dict) to click a button it carries:
    channel, ts, thread_ts, block_id, value, text and style then come from the message."""
    msg: Json | None = None
    if isinstance(message, Message):
        channel_id = channel_id or message.channel
        msg = message.to_api()
    elif message is not None:
        msg = dict(message)
    button: Json = {}
    if msg is not None:
        message_ts = message_ts or msg["ts"]
        thread_ts = thread_ts or msg.get("thread_ts")
        found_block_id, button = find_button(msg.get("blocks", []), action_id)
        block_id = block_id or found_block_id
    channel_id = channel_id or CHANNEL_ID
    message_ts = message_ts or "1700000000.000100"
    text = button.get("text") or {"type": "plain_text", "text": button_text or action_id, "emoji": True}
    action: Json = {
        "type": button.get("type", "button"),
        "action_id": action_id,
        "block_id": block_id or "fakeBlk",
        "text": text,
        "value": value if value is not None else button.get("value", ""),
        "action_ts": action_ts or new_action_ts(),
    }
    if style or button.get("style"):
        action["style"] = style or button["style"]
    if button.get("confirm"):
        action["confirm"] = button["confirm"]
    payload: Json = {
        "type": "block_actions",
        "user": _user(user_id, user_name, team_id),
        "api_app_id": api_app_id,
        "token": token,
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": is_ephemeral,
        },
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": team_id, "domain": team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_name},
        "state": {"values": state_values or {}},
        "response_url": response_url,
        "actions": [action],
    }
    if thread_ts and thread_ts != message_ts:
        payload["container"]["thread_ts"] = thread_ts
    if not is_ephemeral:  # Slack leaves the message out for ephemeral sources
        message_json = msg or {"type": "message", "ts": message_ts, "text": "", "blocks": []}
        if thread_ts:
            message_json = {**message_json, "thread_ts": thread_ts}
        payload["message"] = message_json
    return payload


def block_actions_body(action_id: str, value: str | None = None, **kwargs: Any) -> bytes:
    """block_actions_payload(...) as the form body Slack posts."""
    return payload_body(block_actions_payload(action_id, value, **kwargs))


def view_submission_payload(
    callback_id: str = "",
    values: Json | None = None,
    *,
    view: Mapping[str, Any] | None = None,
    user_id: str = USER_ID,
    user_name: str = USER_NAME,
    team_id: str = TEAM_ID,
    team_domain: str = TEAM_DOMAIN,
    api_app_id: str = API_APP_ID,
    trigger_id: str | None = None,
    private_metadata: str | None = None,
    response_urls: list[Json] | None = None,
    token: str = LEGACY_TOKEN,
) -> Json:
    """A modal submission. `values` is view.state.values: {block_id: {action_id: {"type": ..., "value": ...}}}.
    Give `view` (as views.open returned it, e.g. FakeSlack.views()[-1]) to submit that view."""
    base: Json = dict(view) if view is not None else {}
    view_id = base.get("id", "V0FAKE00001")
    submitted: Json = {
        "id": view_id,
        "team_id": team_id,
        "type": "modal",
        "title": {"type": "plain_text", "text": "Modal", "emoji": True},
        "submit": {"type": "plain_text", "text": "Submit", "emoji": True},
        "close": None,
        "blocks": [],
        "private_metadata": "",
        "callback_id": callback_id,
        "external_id": "",
        "hash": "1700000000.fakehash",
        "clear_on_close": False,
        "notify_on_close": False,
        "previous_view_id": None,
        "root_view_id": view_id,
        "app_id": api_app_id,
        "app_installed_team_id": team_id,
        "bot_id": _IDENT.bot_id,
        **base,
    }
    if callback_id:
        submitted["callback_id"] = callback_id
    if private_metadata is not None:
        submitted["private_metadata"] = private_metadata
    submitted["state"] = {"values": values or {}}
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": team_domain},
        "user": _user(user_id, user_name, team_id),
        "api_app_id": api_app_id,
        "token": token,
        "trigger_id": trigger_id or new_trigger_id(),
        "view": submitted,
        "response_urls": response_urls or [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def view_submission_body(callback_id: str = "", values: Json | None = None, **kwargs: Any) -> bytes:
    return payload_body(view_submission_payload(callback_id, values, **kwargs))


def post_signed(
    url: str,
    body: bytes,
    secret: str,
    *,
    timestamp: int | None = None,
    content_type: str = FORM,
    headers: Mapping[str, str] | None = None,
    timeout: float = 5.0,
) -> tuple[int, dict[str, str], bytes]:
    """POST `body` to the app signed with `secret`; (status, lower-cased headers, body), errors included."""
    all_headers = {"Content-Type": content_type, **sign(body, secret, timestamp), **(headers or {})}
    request = urllib.request.Request(url, data=body, headers=all_headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()
