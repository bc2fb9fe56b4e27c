"""Small messages every listener needs: the ephemeral error and the help text."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.slack import limits
from bot.slack.blocks import kit
from bot.slack.limits import escape

ALLOWED_SHOWN = 20


def error_ephemeral(text: str, allowed: list[str] | None = None) -> dict[str, Any]:
    """`:warning: text`, plus what is allowed (namespaces, commands, approvers) when the caller knows.

    Send it with `respond(response_type="ephemeral", **payload)` or `chat.postEphemeral`: never for
    the audit trail. Slack user and group ids in `allowed` become mentions, other entries inline code.
    """
    blocks = [kit.section(f":warning: {escape(text)}")]
    if allowed:
        shown, hidden = allowed[:ALLOWED_SHOWN], max(len(allowed) - ALLOWED_SHOWN, 0)
        items = [kit.mention(a) if kit.mention(a).startswith("<") else kit.code(a) for a in shown]
        more = f" and {hidden} more" if hidden else ""
        blocks.append(kit.context(f"Allowed: {', '.join(items)}{more}"))
    return kit.message(escape(text), blocks)


def help_message(commands: Mapping[str, str] | Iterable[str | tuple[str, str]]) -> dict[str, Any]:
    """Usage: one line per command, in code, followed by what it does when given as (usage, description)."""
    items = list(commands.items()) if isinstance(commands, Mapping) else list(commands)
    pairs = [(item, "") if isinstance(item, str) else item for item in items]
    lines = [f"{kit.code(usage)} {escape(description)}".rstrip() for usage, description in pairs]
    blocks: list[dict[str, Any]] = [kit.section("*Seldon chat-ops bot*: what you can ask")]
    blocks += [kit.section(text) for text in limits.pack(lines, limits.SECTION_TEXT, separator="\n")]
    text = "Seldon chat-ops bot commands: " + ", ".join(usage for usage, _ in pairs)
    return kit.message(escape(text), blocks)
