"""The non-API URLs the fake serves: the file upload URL and response_url.

Both answer plain text like files.slack.com and hooks.slack.com do, need no token (the URL is the credential),
and return (status, text).
"""

from __future__ import annotations

import json
from dataclasses import replace
from email.parser import BytesParser
from email.policy import HTTP

from .api import SlackError
from .blocks_limits import validate_blocks
from .chat import bot_message, edited, thread_root
from .state import Ephemeral, Json, ResponsePost, ResponseTarget, State

RESPONSE_URL_MAX_USES = 5  # docs/slack-platform.md 2.4: 5 uses within 30 minutes


def _multipart_file(content_type: str, body: bytes) -> bytes | None:
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    for part in message.iter_parts():
        if part.get_filename() is not None or part.get_param("name", header="content-disposition") == "file":
            payload = part.get_payload(decode=True)
            return payload if isinstance(payload, bytes) else None
    return None


def upload(state: State, file_id: str, content_type: str, body: bytes) -> tuple[int, str]:
    """Step 2 of files_upload_v2: raw bytes (what slack_sdk sends) or a multipart form with a `file` part."""
    stored = state.files.get(file_id)
    if stored is None or stored.completed:
        return 404, "not_found"
    content = _multipart_file(content_type, body) if content_type.startswith("multipart/form-data") else body
    if content is None:
        return 400, "no_file_data"
    state.files[file_id] = replace(stored, content=content)
    return 200, f"OK - {len(content)}"


def _replace_source(state: State, target: ResponseTarget, text: str, blocks: list[Json]) -> str | None:
    """replace_original: edit the message the interaction came from; None when there is none."""
    if not target.message_ts or not target.channel:
        return None
    if target.is_ephemeral:
        for i, eph in enumerate(state.ephemerals):
            if eph.ts == target.message_ts and eph.channel == target.channel:
                state.ephemerals[i] = replace(eph, text=text, blocks=blocks)
                return eph.ts
        return None
    message = state.find_message(target.channel, target.message_ts)
    if message is None:
        return None
    state.store_message(edited(message, text=text, blocks=blocks, attachments=[], metadata=message.metadata))
    return message.ts


def _delete_source(state: State, target: ResponseTarget) -> str | None:
    if not target.message_ts or not target.channel:
        return None
    if target.is_ephemeral:
        for i, eph in enumerate(state.ephemerals):
            if eph.ts == target.message_ts and eph.channel == target.channel:
                state.ephemerals[i] = replace(eph, deleted=True)
                return eph.ts
        return None
    message = state.find_message(target.channel, target.message_ts)
    if message is None:
        return None
    state.store_message(replace(message, deleted=True))
    return message.ts


def _apply(state: State, target: ResponseTarget, payload: Json) -> tuple[str, str | None]:
    """What a valid post does, as (outcome, ts)."""
    text = str(payload.get("text") or "")
    blocks = payload.get("blocks") or []
    if payload.get("delete_original") is True:
        return "deleted", _delete_source(state, target)
    if payload.get("replace_original") is True:
        ts = _replace_source(state, target, text, blocks)
        if ts is not None:
            return "replaced", ts
    if not target.channel:
        return "recorded", None
    thread_ts = payload.get("thread_ts") or None
    if payload.get("response_type") == "in_channel":
        thread_ts = thread_root(state, target.channel, thread_ts)
        message = bot_message(state, target.channel, text, blocks=blocks, thread_ts=thread_ts)
        return "in_channel", message.ts
    if not target.user:
        return "recorded", None
    ts = state.next_ts()
    state.ephemerals.append(Ephemeral(target.channel, target.user, ts, text, blocks, thread_ts, "response_url"))
    return "ephemeral", ts


def respond(state: State, url: str, target_id: str, body: bytes) -> tuple[int, str]:
    """A POST to a response_url: JSON with text/blocks/response_type/replace_original/delete_original/thread_ts."""
    target = state.responses.get(target_id)
    status, outcome, ts = 200, "ok", None
    payload: Json = {}
    if target is None:
        status, outcome = 404, "no_service"
    elif target.uses >= target.max_uses:
        status, outcome = 404, "used_url"
    else:
        state.responses[target_id] = replace(target, uses=target.uses + 1)
        try:
            loaded = json.loads(body or b"null")
        except ValueError:
            loaded = None
        if isinstance(loaded, dict):
            payload = loaded
        if not isinstance(loaded, dict):
            status, outcome = 400, "invalid_payload"
        elif payload.get("blocks") is not None and validate_blocks(payload["blocks"]):
            status, outcome = 400, "invalid_blocks"
        elif not (payload.get("text") or payload.get("blocks") or payload.get("delete_original") is True):
            status, outcome = 400, "no_text"
        else:
            try:
                outcome, ts = _apply(state, target, payload)
            except SlackError as error:  # an in_channel reply to an unknown thread
                status, outcome = 400, error.error
    state.response_posts.append(ResponsePost(url, payload, status, outcome, ts))
    return status, "ok" if status == 200 else outcome
