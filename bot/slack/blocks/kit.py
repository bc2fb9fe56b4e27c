"""Block Kit primitives that apply Slack's limits as they build: nothing here can emit an oversized field.

Callers pass mrkdwn that is already escaped (build it from `limits.escape`, `code` and `mention`);
these builders only measure and cut. plain_text is never escaped: Slack shows it verbatim.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from bot.slack import limits
from bot.slack.limits import escape, truncate

Block = dict[str, Any]

STATUS_EMOJI: dict[str, str] = {
    "pass": ":white_check_mark:",
    "fail": ":x:",
    "warn": ":warning:",
    "skip": ":fast_forward:",
    "error": ":exclamation:",
}
RUNNING_EMOJI = ":hourglass_flowing_sand:"
VERDICT_EMOJI: dict[str, str] = {
    "ok": ":white_check_mark:",
    "blocked": ":x:",
    "degraded": ":warning:",
    "unknown": ":grey_question:",
}
SEVERITY_EMOJI: dict[str, str] = {
    "critical": ":red_circle:",
    "high": ":large_orange_circle:",
    "medium": ":large_yellow_circle:",
    "low": ":white_circle:",
}
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,20}$")
_SLACK_GROUP = re.compile(r"^S[A-Z0-9]{2,20}$")
_SHORT = "…"


def mention(user_id: str | None) -> str:
    """`<@U…>` for a Slack user id, `<!subteam^S…>` for a user group, anything else (`cli:alice`) as escaped text."""
    if not user_id:
        return "unknown"
    if _SLACK_USER.match(user_id):
        return f"<@{user_id}>"
    if _SLACK_GROUP.match(user_id):
        return f"<!subteam^{user_id}>"
    return escape(user_id)


def slack_time(moment: datetime) -> str:
    """`2026-11-27 10:00 UTC` (a naive datetime is taken as UTC)."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def code(text: str) -> str:
    """Inline code: escaped, one line, backticks swapped for a look-alike so they cannot end the span."""
    return "`" + escape(" ".join(text.split()).replace("`", "\u02cb")) + "`"


def link(url: str | None, label: str) -> str:
    """`<url|label>` for an http(s) URL, else just the label (escaped)."""
    if not url or not url.startswith(("https://", "http://")):
        return escape(label)
    safe = escape(url).replace("|", "%7C")
    return f"<{safe}|{escape(label).replace('|', '/')}>"


def plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, limit, _SHORT) or " ", "emoji": True}


def mrkdwn(text: str, limit: int = limits.SECTION_TEXT) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": truncate(text, limit) or " "}


def header(text: str, *, block_id: str | None = None) -> Block:
    return _with_id({"type": "header", "text": plain(text, limits.HEADER_TEXT)}, block_id)


def section(text: str, *, block_id: str | None = None, accessory: Block | None = None) -> Block:
    block = _with_id({"type": "section", "text": mrkdwn(text)}, block_id)
    if accessory:
        block["accessory"] = accessory
    return block


def fields(pairs: list[tuple[str, str]], *, block_id: str | None = None) -> Block:
    """A two-column section: `*name*\\nvalue` per field (names plain, values escaped mrkdwn), at most 10."""
    items = [mrkdwn(f"*{escape(name)}*\n{value}", limits.SECTION_FIELD) for name, value in pairs]
    return _with_id({"type": "section", "fields": items[: limits.SECTION_FIELDS]}, block_id)


def context(*texts: str, block_id: str | None = None) -> Block:
    elements = [mrkdwn(t, limits.CONTEXT_TEXT) for t in texts if t][: limits.CONTEXT_ELEMENTS]
    return _with_id({"type": "context", "elements": elements or [mrkdwn(" ")]}, block_id)


def divider() -> Block:
    return {"type": "divider"}


def confirm(title: str, text: str, ok: str, deny: str = "Cancel") -> dict[str, Any]:
    return {
        "title": plain(title, limits.CONFIRM_TITLE),
        "text": mrkdwn(text, limits.CONFIRM_TEXT),
        "confirm": plain(ok, limits.CONFIRM_BUTTON),
        "deny": plain(deny, limits.CONFIRM_BUTTON),
    }


def button(
    text: str, action_id: str, value: str, *, style: str | None = None, confirm: dict[str, Any] | None = None
) -> Block:
    if len(value) > limits.BUTTON_VALUE:  # a cut value would not decode: refuse instead
        raise ValueError(f"button value is {len(value)} characters, over Slack's {limits.BUTTON_VALUE}")
    element: Block = {
        "type": "button",
        "action_id": action_id[: limits.ID],
        "text": plain(text, limits.BUTTON_TEXT),
        "value": value,
    }
    if style:
        element["style"] = style
    if confirm:
        element["confirm"] = confirm
    return element


def actions(block_id: str, *elements: Block) -> Block:
    return {"type": "actions", "block_id": block_id[: limits.ID], "elements": list(elements[: limits.ACTIONS_ELEMENTS])}


def message(text: str, blocks: list[Block], *, keep_last: int = 0) -> dict[str, Any]:
    """The payload for chat.postMessage / chat.update / respond: fallback text plus at most 50 blocks."""
    return {
        "text": truncate(text, limits.MESSAGE_TEXT) or " ",
        "blocks": limits.cap_blocks(blocks, limits.MAX_BLOCKS, keep_last=keep_last),
    }


def _with_id(block: Block, block_id: str | None) -> Block:
    if block_id:
        block["block_id"] = block_id[: limits.ID]
    return block
