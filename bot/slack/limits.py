"""Slack's hard limits, and the text helpers that keep every payload inside them.

Numbers from docs/slack-platform.md §4 (slack-sdk validators and docs.slack.dev). Everything that
goes into a `mrkdwn` text passes through `escape` first and is measured *after* escaping, because
Slack counts the characters it receives. Cutting never leaves half an entity (`&am`), half a
mention (`<@U12`) or an open code fence behind, and always says where the rest is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

MAX_BLOCKS = 50  # per message (modals and Home tabs: 100)
MAX_MODAL_BLOCKS = 100
SECTION_TEXT = 3000
SECTION_FIELD = 2000
SECTION_FIELDS = 10
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
CONTEXT_TEXT = 2000  # not in the SDK validators; kept well under the section limit
ACTIONS_ELEMENTS = 25
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
BUTTON_URL = 3000
ID = 255  # block_id and action_id
CONFIRM_TITLE = 100
CONFIRM_TEXT = 300
CONFIRM_BUTTON = 30
MODAL_TITLE = 24  # also submit and close
PRIVATE_METADATA = 3000
INPUT_PLACEHOLDER = 150
MESSAGE_TEXT = 4000  # the top-level fallback `text`; Slack truncates at 40,000

POINTER = "… (full text in the thread / JSON output)"
FENCE = "```"
_FENCE_BREAK = "`\u200b`\u200b`"  # a ``` inside a code block would close it; zero-width spaces break the run
_PARTIAL_TOKEN = re.compile(r"(&[a-z]{0,4}|<[^>]*)$")  # an entity or a <@U…>/<url|…> token cut in half


def escape(text: str) -> str:
    """Slack mrkdwn escaping of `&`, `<` and `>` (also inside code), so `<script>` or `<!channel>` stay text.

    A run of three backticks is broken up too: in a mrkdwn text it would open a code block.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace(FENCE, _FENCE_BREAK)


def truncate(text: str, limit: int, pointer: str = POINTER) -> str:
    """`text` if it fits, else its start plus `pointer`, `limit` characters at most.

    Works on escaped mrkdwn: the cut never splits an entity or a `<…>` token and closes a code
    fence it leaves open.
    """
    if len(text) <= limit:
        return text
    if len(pointer) >= limit:
        return pointer[:limit]
    room = limit - len(pointer)
    cut = _clean_cut(text[:room])
    if cut.count(FENCE) % 2:  # the cut is inside a code block: close it before the pointer
        cut = _clean_cut(cut[: max(room - len(FENCE) - 1, 0)])
        cut = (cut + "\n" + FENCE) if cut.count(FENCE) % 2 else cut
    return cut + pointer


def _clean_cut(text: str) -> str:
    return _PARTIAL_TOKEN.sub("", text).rstrip()


def more_pointer(count: int, noun: str = "more") -> str:
    return f"… and {count} {noun} (full text in the thread / JSON output)"


def take_lines(lines: Sequence[str], limit: int, tail: Callable[[int], str]) -> tuple[list[str], int]:
    """The leading lines that fit in `limit` joined by newlines, leaving room for `tail(hidden)` plus a newline.

    Order is kept (a line that does not fit ends the run), each line is cut to fit on its own, so at
    least one line is always shown. Returns the lines and how many were left out.
    """
    if not lines:
        return [], 0
    longest_tail = len(tail(len(lines))) + 1
    shown: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        line = truncate(line, max(limit - longest_tail, 1))
        hidden_after = len(lines) - i - 1
        reserve = len(tail(hidden_after)) + 1 if hidden_after else 0
        cost = len(line) + (1 if shown else 0)
        if used + cost + reserve > limit:
            return shown, len(lines) - i
        shown.append(line)
        used += cost
    return shown, 0


def fit_lines(lines: Iterable[str], limit: int, more: Callable[[int], str] = more_pointer) -> str:
    """Newline-joined lines within `limit`, ending with `more(n)` when n lines did not fit."""
    shown, hidden = take_lines(list(lines), limit, more)
    return "\n".join([*shown, more(hidden)] if hidden else shown)


def pack(chunks: Iterable[str], limit: int, separator: str = "\n\n") -> list[str]:
    """Greedily join chunks into as few texts of at most `limit` characters as possible (each chunk cut to fit)."""
    texts: list[str] = []
    for chunk in chunks:
        chunk = truncate(chunk, limit)
        if texts and len(texts[-1]) + len(separator) + len(chunk) <= limit:
            texts[-1] += separator + chunk
        else:
            texts.append(chunk)
    return texts


def code_block(
    text: str, limit: int = SECTION_TEXT, more: Callable[[int], str] = lambda n: more_pointer(n, "more lines")
) -> str:
    """`text` escaped inside a mrkdwn code block, whole lines only, `limit` characters in all.

    When lines are left out the block is closed and `more(n)` follows it, outside the fence.
    """
    body = escape(text.rstrip("\n")) or " "
    overhead = len(FENCE) * 2 + 2  # "```\n" + "\n```"
    shown, hidden = take_lines(body.split("\n"), limit - overhead, lambda n: more(n) if n else "")
    block = f"{FENCE}\n" + "\n".join(shown) + f"\n{FENCE}"
    return f"{block}\n{more(hidden)}" if hidden else block


def cap_blocks(
    blocks: Sequence[dict[str, Any]], limit: int = MAX_BLOCKS, *, keep_last: int = 0
) -> list[dict[str, Any]]:
    """At most `limit` blocks: the first ones, a context block counting the dropped ones, then the last `keep_last`.

    `keep_last` protects trailing blocks that must survive, such as the Approve/Reject buttons.
    """
    blocks = list(blocks)
    if len(blocks) <= limit:
        return blocks
    keep_last = min(keep_last, limit - 1)
    head = limit - 1 - keep_last
    dropped = len(blocks) - head - keep_last
    note = {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": more_pointer(dropped, "more blocks not shown")}],
    }
    return [*blocks[:head], note, *(blocks[-keep_last:] if keep_last else [])]
