"""auth.test, conversations.*, users.info and usergroups.users.list."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import TypeVar

from .api import Ctx, SlackError, method
from .state import Channel, Json

T = TypeVar("T")


def _page(ctx: Ctx, items: Sequence[T], default_limit: int) -> tuple[list[T], Json]:
    """Cursor pagination as Slack does it: an opaque next_cursor, "" on the last page."""
    limit = max(1, min(ctx.integer("limit", default_limit), 1000))
    cursor = ctx.get("cursor")
    start = 0
    if cursor:
        try:
            start = int(base64.b64decode(cursor).decode().removeprefix("offset:"))
        except ValueError:
            raise SlackError("invalid_cursor") from None
    end = start + limit
    next_cursor = base64.b64encode(f"offset:{end}".encode()).decode() if end < len(items) else ""
    return list(items[start:end]), {"next_cursor": next_cursor}


def _channel(ctx: Ctx) -> Channel:
    channel = ctx.state.resolve_channel(ctx.get("channel"))
    if channel is None or (channel.is_private and not channel.is_member):
        raise SlackError("channel_not_found")
    return channel


@method("auth.test")
def auth_test(ctx: Ctx) -> Json:
    ident = ctx.state.identity
    return {
        "url": f"https://{ident.team_domain}.slack.com/",
        "team": ident.team_name,
        "user": ident.bot_user_name,
        "team_id": ident.team_id,
        "user_id": ident.bot_user_id,
        "bot_id": ident.bot_id,
        "is_enterprise_install": False,
    }


@method("conversations.info")
def conversations_info(ctx: Ctx) -> Json:
    return {"channel": _channel(ctx).to_api()}


@method("conversations.list")
def conversations_list(ctx: Ctx) -> Json:
    types = set(ctx.get("types", "public_channel").split(","))
    exclude_archived = ctx.flag("exclude_archived")

    def wanted(c: Channel) -> bool:
        kind = "im" if c.is_im else "private_channel" if c.is_private else "public_channel"
        visible = c.is_member or not c.is_private
        return kind in types and visible and not (exclude_archived and c.is_archived)

    channels = [c.to_api() for c in ctx.state.channels.values() if wanted(c)]
    page, meta = _page(ctx, channels, 100)
    return {"channels": page, "response_metadata": meta}


@method("conversations.history")
def conversations_history(ctx: Ctx) -> Json:
    channel = _channel(ctx)
    if not channel.is_member:
        raise SlackError("not_in_channel")
    top = [
        m.to_api()
        for m in reversed(ctx.state.messages.get(channel.id, []))
        if not m.deleted and (not m.is_reply or m.reply_broadcast)
    ]
    page, meta = _page(ctx, top, 100)
    return {"messages": page, "has_more": bool(meta["next_cursor"]), "response_metadata": meta}


@method("conversations.replies")
def conversations_replies(ctx: Ctx) -> Json:
    channel = _channel(ctx)
    parent = ctx.state.find_message(channel.id, ctx.get("ts"))
    if parent is None:
        raise SlackError("thread_not_found")
    root = parent.thread_ts or parent.ts
    stored = ctx.state.messages.get(channel.id, [])
    thread = [m.to_api() for m in stored if not m.deleted and root in (m.ts, m.thread_ts)]
    page, meta = _page(ctx, thread, 1000)
    return {"messages": page, "has_more": bool(meta["next_cursor"]), "response_metadata": meta}


@method("users.info")
def users_info(ctx: Ctx) -> Json:
    user = ctx.state.users.get(ctx.get("user"))
    if user is None:
        raise SlackError("user_not_found")
    return {"user": user.to_api()}


@method("usergroups.users.list")
def usergroups_users_list(ctx: Ctx) -> Json:
    group = ctx.state.usergroups.get(ctx.require("usergroup"))
    if group is None:
        raise SlackError("no_such_subteam")
    return {"users": list(group.users)}
