"""chat.* methods, and the message rules response_url posts and file shares reuse."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .api import Ctx, SlackError, method
from .blocks_limits import MAX_MESSAGE_TEXT, validate_blocks
from .state import Channel, Ephemeral, Json, Message, MessageVersion, State


def writable_channel(state: State, ref: str) -> Channel:
    """The channel the bot may post into, or Slack's error for it."""
    channel = state.resolve_channel(ref) if ref else None
    if channel is None or (channel.is_private and not channel.is_member and not channel.is_im):
        raise SlackError("channel_not_found")
    if channel.is_archived:
        raise SlackError("is_archived")
    if not channel.is_member and not channel.is_im:
        raise SlackError("not_in_channel")
    return channel


def check_blocks(blocks: Any) -> list[Json] | None:
    """None when absent; raises invalid_blocks_format / invalid_blocks like the real API."""
    if blocks is None or blocks == "":
        return None
    if not isinstance(blocks, list):
        raise SlackError("invalid_blocks_format")
    errors = validate_blocks(blocks)
    if errors:
        raise SlackError("invalid_blocks", errors=errors, messages=errors)
    return blocks


def check_attachments(attachments: Any) -> list[Json] | None:
    if attachments is None or attachments == "":
        return None
    if not isinstance(attachments, list) or not all(isinstance(a, dict) for a in attachments):
        raise SlackError("invalid_attachments")
    if len(attachments) > 100:
        raise SlackError("too_many_attachments")
    return attachments


def thread_root(state: State, channel: str, thread_ts: str | None) -> str | None:
    """The ts of the thread's parent; a reply's ts is taken to mean its thread, an unknown ts is refused."""
    if not thread_ts:
        return None
    parent = state.find_message(channel, thread_ts)
    if parent is None:
        raise SlackError("invalid_thread_ts")
    if parent.thread_ts is None:
        state.store_message(replace(parent, thread_ts=parent.ts))  # a parent carries thread_ts once replied to
    return parent.thread_ts or parent.ts


def bot_message(state: State, channel: str, text: str, **fields: Any) -> Message:
    """Store a new message posted by the app and return it."""
    ident = state.identity
    message = Message(
        channel=channel,
        ts=state.next_ts(),
        text=text,
        user=ident.bot_user_id,
        team=ident.team_id,
        bot_id=ident.bot_id,
        app_id=ident.app_id,
        **fields,
    )
    state.store_message(message)
    return message


def edited(message: Message, *, text: str, blocks: list[Json], attachments: list[Json], metadata: Any) -> Message:
    """The message with new content, the old content appended to its edit history."""
    previous = MessageVersion(message.text, message.blocks, message.attachments, message.metadata)
    return replace(
        message,
        text=text,
        blocks=blocks,
        attachments=attachments,
        metadata=metadata,
        edits=(*message.edits, previous),
    )


def _metadata(ctx: Ctx) -> Json | None:
    value = ctx.params.get("metadata")
    if value is None or value == "":
        return None
    if not isinstance(value, dict) or "event_type" not in value:
        raise SlackError("invalid_metadata_format")
    return value


@method("chat.postMessage")
def post_message(ctx: Ctx) -> Json:
    state = ctx.state
    channel = writable_channel(state, ctx.get("channel"))
    blocks = check_blocks(ctx.params.get("blocks"))
    attachments = check_attachments(ctx.params.get("attachments"))
    text = ctx.get("text")
    if not text and not blocks and not attachments:
        raise SlackError("no_text")
    metadata = _metadata(ctx)
    warnings: list[str] = []
    if len(text) > MAX_MESSAGE_TEXT:
        text = text[:MAX_MESSAGE_TEXT]
        warnings.append("message_truncated")
    thread_ts = thread_root(state, channel.id, ctx.get("thread_ts") or None)
    message = bot_message(
        state,
        channel.id,
        text,
        blocks=blocks or [],
        attachments=attachments or [],
        metadata=metadata,
        thread_ts=thread_ts,
        reply_broadcast=bool(thread_ts) and ctx.flag("reply_broadcast"),
    )
    answer: Json = {"channel": channel.id, "ts": message.ts, "message": message.to_api()}
    if warnings:
        answer.update(warning=",".join(warnings), response_metadata={"warnings": warnings})
    return answer


def _own_message(ctx: Ctx, cant: str) -> Message:
    channel = ctx.state.resolve_channel(ctx.get("channel"))
    if channel is None:
        raise SlackError("channel_not_found")
    message = ctx.state.find_message(channel.id, ctx.get("ts"))
    if message is None:
        raise SlackError("message_not_found")
    if message.user != ctx.user_id:
        raise SlackError(cant)
    return message


@method("chat.update")
def update(ctx: Ctx) -> Json:
    message = _own_message(ctx, "cant_update_message")
    blocks = check_blocks(ctx.params.get("blocks"))
    attachments = check_attachments(ctx.params.get("attachments"))
    text = ctx.get("text")
    if not text and blocks is None and attachments is None:
        raise SlackError("no_text")
    if len(text) > MAX_MESSAGE_TEXT:
        raise SlackError("msg_too_long")
    metadata = _metadata(ctx)
    new = edited(
        message,
        text=text,
        blocks=blocks or [],  # text without blocks removes them; blocks: [] clears them
        attachments=message.attachments if attachments is None else attachments,
        metadata=metadata if metadata is not None else message.metadata,
    )
    ctx.state.store_message(new)
    return {"channel": new.channel, "ts": new.ts, "text": new.text, "message": new.to_api()}


@method("chat.delete")
def delete(ctx: Ctx) -> Json:
    message = _own_message(ctx, "cant_delete_message")
    ctx.state.store_message(replace(message, deleted=True))
    return {"channel": message.channel, "ts": message.ts}


@method("chat.postEphemeral")
def post_ephemeral(ctx: Ctx) -> Json:
    state = ctx.state
    channel = writable_channel(state, ctx.get("channel"))
    user = ctx.get("user")
    if user not in state.users:
        raise SlackError("user_not_found")
    if not channel.has_member(user):
        raise SlackError("user_not_in_channel")
    blocks = check_blocks(ctx.params.get("blocks"))
    attachments = check_attachments(ctx.params.get("attachments"))
    text = ctx.get("text")
    if not text and not blocks and not attachments:
        raise SlackError("no_text")
    ts = state.next_ts()
    thread_ts = ctx.get("thread_ts") or None
    state.ephemerals.append(Ephemeral(channel.id, user, ts, text, blocks or [], thread_ts, "chat.postEphemeral"))
    return {"message_ts": ts}


@method("chat.getPermalink")
def get_permalink(ctx: Ctx) -> Json:
    channel = ctx.state.resolve_channel(ctx.get("channel"))
    if channel is None:
        raise SlackError("channel_not_found")
    message = ctx.state.find_message(channel.id, ctx.get("message_ts"))
    if message is None:
        raise SlackError("message_not_found")
    link = f"https://{ctx.state.identity.team_domain}.slack.com/archives/{channel.id}/p{message.ts.replace('.', '')}"
    if message.is_reply:
        link += f"?thread_ts={message.thread_ts}&cid={channel.id}"
    return {"channel": channel.id, "permalink": link}
