"""files.getUploadURLExternal / files.completeUploadExternal (what WebClient.files_upload_v2 calls) and views.*.

The upload URL itself (step 2 of files_upload_v2) is served by webhooks.upload.
"""

from __future__ import annotations

from dataclasses import replace

from .api import Ctx, SlackError, method
from .blocks_limits import validate_view
from .chat import bot_message, thread_root, writable_channel
from .state import Json, StoredFile


@method("files.getUploadURLExternal")
def get_upload_url(ctx: Ctx) -> Json:
    filename = ctx.require("filename")
    length = ctx.integer("length", 0)
    if length <= 0:
        raise SlackError("invalid_arguments", messages=["length must be a positive integer"])
    file_id = ctx.state.next_id("F")
    ctx.state.files[file_id] = StoredFile(
        id=file_id,
        filename=filename,
        length=length,
        user=ctx.user_id,
        alt_txt=ctx.get("alt_txt") or None,
        snippet_type=ctx.get("snippet_type") or None,
    )
    return {"upload_url": f"{ctx.base_url}/upload/v1/{file_id}", "file_id": file_id}


@method("files.completeUploadExternal")
def complete_upload(ctx: Ctx) -> Json:
    state = ctx.state
    entries = ctx.json_list("files", "invalid_arguments")
    if not entries:
        raise SlackError("invalid_arguments", messages=["missing required field: files"])
    refs = [r for r in [ctx.get("channel_id"), *ctx.get("channels").split(",")] if r]
    channels = [writable_channel(state, r) for r in refs]
    thread_ts = ctx.get("thread_ts") or None
    if thread_ts and len(channels) != 1:
        raise SlackError("invalid_arguments", messages=["thread_ts needs exactly one channel"])
    if thread_ts:
        thread_ts = thread_root(state, channels[0].id, thread_ts)
    done: list[StoredFile] = []
    for entry in entries:
        stored = state.files.get(entry.get("id", "")) if isinstance(entry, dict) else None
        if stored is None or stored.content is None or stored.completed:
            raise SlackError("file_not_found")
        done.append(
            replace(
                stored,
                title=entry.get("title") or stored.filename,
                completed=True,
                channels=tuple(c.id for c in channels),
                initial_comment=ctx.get("initial_comment") or None,
                thread_ts=thread_ts,
            )
        )
    domain = state.identity.team_domain
    for stored in done:
        state.files[stored.id] = stored
    for channel in channels:  # Slack shares the files in one message per conversation
        files = tuple(f.to_api(domain) for f in done)
        bot_message(state, channel.id, ctx.get("initial_comment"), files=files, thread_ts=thread_ts)
    return {"files": [f.to_api(domain) for f in done]}


def _view(ctx: Ctx, view_id: str, previous: Json | None) -> Json:
    view = ctx.params.get("view")
    errors = validate_view(view)
    if errors:
        raise SlackError("invalid_arguments", messages=errors)
    assert isinstance(view, dict)
    ident = ctx.state.identity
    return {
        "id": view_id,
        "team_id": ident.team_id,
        "type": view["type"],
        "title": view.get("title"),
        "submit": view.get("submit"),
        "close": view.get("close"),
        "blocks": view.get("blocks", []),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "external_id": view.get("external_id", ""),
        "state": {"values": {}},
        "hash": ctx.state.next_ts() + ".fakehash",
        "clear_on_close": bool(view.get("clear_on_close", False)),
        "notify_on_close": bool(view.get("notify_on_close", False)),
        "previous_view_id": previous["id"] if previous else None,
        "root_view_id": previous["root_view_id"] if previous else view_id,
        "app_id": ident.app_id,
        "app_installed_team_id": ident.team_id,
        "bot_id": ident.bot_id,
    }


@method("views.open")
def views_open(ctx: Ctx) -> Json:
    ctx.require("trigger_id")
    view = _view(ctx, ctx.state.next_id("V"), None)
    ctx.state.views[view["id"]] = view
    return {"view": view}


@method("views.push")
def views_push(ctx: Ctx) -> Json:
    ctx.require("trigger_id")
    stack = [v for v in ctx.state.views.values() if v["type"] == "modal"]
    view = _view(ctx, ctx.state.next_id("V"), stack[-1] if stack else None)
    ctx.state.views[view["id"]] = view
    return {"view": view}


@method("views.update")
def views_update(ctx: Ctx) -> Json:
    views = ctx.state.views
    view_id = ctx.get("view_id")
    if not view_id:
        external = ctx.require("external_id")
        view_id = next((v["id"] for v in views.values() if v["external_id"] == external), "")
    old = views.get(view_id)
    if old is None:
        raise SlackError("not_found")
    if ctx.get("hash") and ctx.get("hash") != old["hash"]:
        raise SlackError("hash_conflict")
    view = _view(ctx, view_id, None)
    view.update(previous_view_id=old["previous_view_id"], root_view_id=old["root_view_id"])
    views[view_id] = view
    return {"view": view}
