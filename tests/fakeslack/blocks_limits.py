"""Block Kit limits the real API enforces, reported the way Slack words them.

Each check yields a message such as "must be less than 3001 characters [json-pointer:/blocks/0/text/text]";
methods.py turns them into {"ok": false, "error": "invalid_blocks", "errors": [...],
"response_metadata": {"messages": ["[ERROR] ..."]}}. Limits: docs/slack-platform.md section 4.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_MESSAGE_TEXT = 40_000  # longer text is truncated (warning message_truncated) or refused (msg_too_long)

SECTION_TEXT = 3000
SECTION_FIELDS = 10
SECTION_FIELD_TEXT = 2000
HEADER_TEXT = 150
MARKDOWN_TEXT = 12_000
ACTIONS_ELEMENTS = 25
CONTEXT_ELEMENTS = 10
ID_LENGTH = 255  # block_id, action_id, callback_id, external_id
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
URL_LENGTH = 3000
ALT_TEXT = 2000
PLACEHOLDER = 150
OPTION_TEXT = 75
OPTION_VALUE = 150
OPTIONS = 100
CONFIRM_TITLE = 100
CONFIRM_TEXT = 300
CONFIRM_BUTTON = 30
INPUT_LABEL = 2000
VIEW_TITLE = 24  # also submit and close
PRIVATE_METADATA = 3000

KNOWN_BLOCKS = frozenset(
    {
        "actions",
        "context",
        "context_actions",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "table",
        "video",
    }
)


def _at(message: str, pointer: str) -> str:
    return f"{message} [json-pointer:{pointer}]"


def _length(value: Any, limit: int, pointer: str) -> Iterator[str]:
    if isinstance(value, str) and len(value) > limit:
        yield _at(f"must be less than {limit + 1} characters", pointer)


def _items(value: Any, limit: int, pointer: str) -> Iterator[str]:
    if not isinstance(value, list):
        yield _at("must provide an array", pointer)
    elif not value:
        yield _at("must provide at least 1 item", pointer)
    elif len(value) > limit:
        yield _at(f"no more than {limit} items allowed", pointer)


def text_object(obj: Any, limit: int, pointer: str, *, plain_only: bool = False) -> Iterator[str]:
    if not isinstance(obj, dict):
        yield _at("must provide an object", pointer)
        return
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if obj.get("type") not in allowed:
        yield _at(f"must be one of {', '.join(allowed)}", f"{pointer}/type")
    text = obj.get("text")
    if not isinstance(text, str):
        yield _at("must provide a string", f"{pointer}/text")
    elif not text:
        yield _at("must be more than 0 characters", f"{pointer}/text")
    else:
        yield from _length(text, limit, f"{pointer}/text")


def _confirm(obj: Any, pointer: str) -> Iterator[str]:
    if not isinstance(obj, dict):
        yield _at("must provide an object", pointer)
        return
    yield from text_object(obj.get("title"), CONFIRM_TITLE, f"{pointer}/title", plain_only=True)
    yield from text_object(obj.get("text"), CONFIRM_TEXT, f"{pointer}/text")
    yield from text_object(obj.get("confirm"), CONFIRM_BUTTON, f"{pointer}/confirm", plain_only=True)
    yield from text_object(obj.get("deny"), CONFIRM_BUTTON, f"{pointer}/deny", plain_only=True)


def _options(options: Any, pointer: str) -> Iterator[str]:
    yield from _items(options, OPTIONS, pointer)
    for i, option in enumerate(options if isinstance(options, list) else []):
        if isinstance(option, dict):
            yield from text_object(option.get("text"), OPTION_TEXT, f"{pointer}/{i}/text")
            yield from _length(option.get("value"), OPTION_VALUE, f"{pointer}/{i}/value")


def element(obj: Any, pointer: str) -> Iterator[str]:
    """An interactive element (button, select, input, ...) or an image element."""
    if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
        yield _at("must provide an object with a type", pointer)
        return
    kind = obj["type"]
    yield from _length(obj.get("action_id"), ID_LENGTH, f"{pointer}/action_id")
    if "confirm" in obj:
        yield from _confirm(obj["confirm"], f"{pointer}/confirm")
    if "placeholder" in obj:
        yield from text_object(obj["placeholder"], PLACEHOLDER, f"{pointer}/placeholder", plain_only=True)
    if "options" in obj:
        yield from _options(obj["options"], f"{pointer}/options")
    if kind == "button":
        yield from text_object(obj.get("text"), BUTTON_TEXT, f"{pointer}/text", plain_only=True)
        yield from _length(obj.get("value"), BUTTON_VALUE, f"{pointer}/value")
        yield from _length(obj.get("url"), URL_LENGTH, f"{pointer}/url")
        if obj.get("style") not in (None, "primary", "danger"):
            yield _at("must be one of primary, danger", f"{pointer}/style")
    elif kind == "image":
        yield from _length(obj.get("image_url"), URL_LENGTH, f"{pointer}/image_url")
        yield from _length(obj.get("alt_text"), ALT_TEXT, f"{pointer}/alt_text")


def _context_element(obj: Any, pointer: str) -> Iterator[str]:
    if isinstance(obj, dict) and obj.get("type") in ("plain_text", "mrkdwn"):
        yield from text_object(obj, SECTION_TEXT, pointer)
    else:
        yield from element(obj, pointer)


def block(obj: Any, pointer: str) -> Iterator[str]:
    if not isinstance(obj, dict):
        yield _at("must provide an object", pointer)
        return
    kind = obj.get("type")
    if kind not in KNOWN_BLOCKS:
        yield _at(f"unsupported type: {kind}", f"{pointer}/type")
        return
    yield from _length(obj.get("block_id"), ID_LENGTH, f"{pointer}/block_id")
    if kind == "section":
        if "text" not in obj and "fields" not in obj:
            yield _at("must provide either text or fields", pointer)
        if "text" in obj:
            yield from text_object(obj["text"], SECTION_TEXT, f"{pointer}/text")
        if "fields" in obj:
            yield from _items(obj["fields"], SECTION_FIELDS, f"{pointer}/fields")
            for i, item in enumerate(obj["fields"] if isinstance(obj["fields"], list) else []):
                yield from text_object(item, SECTION_FIELD_TEXT, f"{pointer}/fields/{i}")
        if "accessory" in obj:
            yield from element(obj["accessory"], f"{pointer}/accessory")
    elif kind == "header":
        yield from text_object(obj.get("text"), HEADER_TEXT, f"{pointer}/text", plain_only=True)
    elif kind == "markdown":
        yield from _length(obj.get("text"), MARKDOWN_TEXT, f"{pointer}/text")
    elif kind in ("actions", "context"):
        limit = ACTIONS_ELEMENTS if kind == "actions" else CONTEXT_ELEMENTS
        check = element if kind == "actions" else _context_element
        elements = obj.get("elements")
        yield from _items(elements, limit, f"{pointer}/elements")
        for i, item in enumerate(elements if isinstance(elements, list) else []):
            yield from check(item, f"{pointer}/elements/{i}")
    elif kind == "image":
        yield from _length(obj.get("image_url"), URL_LENGTH, f"{pointer}/image_url")
        yield from _length(obj.get("alt_text"), ALT_TEXT, f"{pointer}/alt_text")
        if "title" in obj:
            yield from text_object(obj["title"], ALT_TEXT, f"{pointer}/title", plain_only=True)
    elif kind == "input":
        yield from text_object(obj.get("label"), INPUT_LABEL, f"{pointer}/label", plain_only=True)
        yield from element(obj.get("element"), f"{pointer}/element")


def validate_blocks(blocks: Any, *, max_blocks: int = MAX_MESSAGE_BLOCKS, pointer: str = "/blocks") -> list[str]:
    """Every limit the blocks break; empty when Slack would accept them. `blocks: []` is valid (it clears)."""
    if not isinstance(blocks, list):
        return [_at("must provide an array", pointer)]
    errors: list[str] = []
    if len(blocks) > max_blocks:
        errors.append(_at(f"no more than {max_blocks} items allowed", pointer))
    seen: set[str] = set()
    for i, item in enumerate(blocks):
        errors.extend(block(item, f"{pointer}/{i}"))
        block_id = item.get("block_id") if isinstance(item, dict) else None
        if isinstance(block_id, str):
            if block_id in seen:
                errors.append(_at(f"duplicate block_id: {block_id}", f"{pointer}/{i}/block_id"))
            seen.add(block_id)
    return errors


def validate_view(view: Any) -> list[str]:
    """A modal or Home tab view as views.open / views.update take it."""
    if not isinstance(view, dict):
        return [_at("must provide an object", "/view")]
    errors: list[str] = []
    kind = view.get("type")
    if kind not in ("modal", "home"):
        errors.append(_at("must be one of modal, home", "/view/type"))
    if kind == "modal":
        errors.extend(text_object(view.get("title"), VIEW_TITLE, "/view/title", plain_only=True))
    for key in ("submit", "close"):
        if key in view:
            errors.extend(text_object(view[key], VIEW_TITLE, f"/view/{key}", plain_only=True))
    errors.extend(_length(view.get("private_metadata"), PRIVATE_METADATA, "/view/private_metadata"))
    errors.extend(_length(view.get("callback_id"), ID_LENGTH, "/view/callback_id"))
    errors.extend(_length(view.get("external_id"), ID_LENGTH, "/view/external_id"))
    errors.extend(validate_blocks(view.get("blocks", []), max_blocks=MAX_VIEW_BLOCKS, pointer="/view/blocks"))
    return errors
