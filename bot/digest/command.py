"""`/seldon digest <namespace> ...`: the words after the namespace, parsed before the 3-second ack.

Syntax errors and invalid cron are answered at once (ephemeral); checks that need Slack or the store
(does the channel exist, is the bot in it) run in the handler. The cron may be quoted or not:
`schedule "0 9 * * 1-5" #ml-ops` and `schedule 0 9 * * 1-5 #ml-ops` mean the same.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict

from bot.digest.schedule import parse_schedule
from bot.errors import InputError

USAGE = '/seldon digest <namespace> [schedule "<cron>" [#channel] | off | now]'
Action = Literal["show", "schedule", "off", "now"]
_CHANNEL = re.compile(r"^(<#[CG][A-Z0-9]+(\|[^>]*)?>|#[a-z0-9][a-z0-9._-]*|[CG][A-Z0-9]{2,})$")


class DigestRequest(BaseModel):
    model_config = ConfigDict(frozen=True)
    action: Action
    cron: str | None = None
    channel: str | None = None  # as typed: <#C0123|ops>, #ops or C0123


def parse_digest_args(words: list[str]) -> DigestRequest:
    """The words after `digest <namespace>`."""
    if not words:
        return DigestRequest(action="show")
    action, rest = words[0].lower(), words[1:]
    if action in ("off", "now", "show"):
        if rest:
            raise InputError(f"`digest <namespace> {action}` takes nothing more; usage: {USAGE}")
        return DigestRequest(action=action)  # type: ignore[arg-type]
    if action != "schedule":
        raise InputError(f"unknown digest action {words[0]!r}; usage: {USAGE}")
    channel = rest.pop() if len(rest) > 1 and _CHANNEL.match(rest[-1]) else None
    cron = " ".join(rest)
    if not cron:
        example = '/seldon digest <namespace> schedule "0 9 * * 1-5"'
        raise InputError(f"give a cron expression, e.g. `{example}`; usage: {USAGE}")
    parse_schedule(cron)  # syntax, ranges, time zone, at most hourly: answered before the ack
    return DigestRequest(action="schedule", cron=cron, channel=channel)


def channel_ref(text: str) -> tuple[str | None, str | None]:
    """(channel id, channel name) from what Slack sent: `<#C0123|ops>`, `<#C0123>`, `#ops` or `C0123`."""
    if text.startswith("<#"):
        inner = text[2:-1]
        ident, _, name = inner.partition("|")
        return ident, name or None
    if text.startswith("#"):
        return None, text[1:]
    return text, None
