"""The Web API method registry, the per-call context and Slack's error answer.

A method is `def handler(ctx: Ctx) -> Json` registered with `@method("chat.postMessage")`; it returns the body of
an ok answer (without "ok") or raises SlackError, which becomes {"ok": false, "error": ...} with HTTP 200.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .state import Json, State

Handler = Callable[["Ctx"], Json]
METHODS: dict[str, Handler] = {}

JSON_FIELDS = ("blocks", "attachments", "metadata", "files", "view", "unfurls")
TRUE = ("1", "true", "True", "yes")


class SlackError(Exception):
    """An application error as Slack reports it: HTTP 200, ok false, an error code and optional extra keys."""

    def __init__(self, error: str, *, messages: list[str] | None = None, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra
        if messages:
            self.extra["response_metadata"] = {"messages": [f"[ERROR] {m}" for m in messages]}

    def to_api(self) -> Json:
        return {"ok": False, "error": self.error, **self.extra}


def method(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        METHODS[name] = handler
        return handler

    return register


def decode_json_fields(params: Json) -> Json:
    """Form posts carry blocks, attachments, view, ... as JSON strings; decode those that parse."""
    decoded = dict(params)
    for key in JSON_FIELDS:
        value = decoded.get(key)
        if isinstance(value, str) and value[:1] in ("[", "{"):
            with contextlib.suppress(ValueError):  # else left a string: the method reports it
                decoded[key] = json.loads(value)
    return decoded


@dataclass
class Ctx:
    state: State
    params: Json
    base_url: str  # http://127.0.0.1:PORT
    user_id: str  # whom the token belongs to (the bot user)

    def get(self, key: str, default: str = "") -> str:
        value = self.params.get(key)
        return default if value is None else str(value)

    def require(self, key: str, error: str = "invalid_arguments") -> str:
        value = self.get(key)
        if not value:
            raise SlackError(error, messages=[f"missing required field: {key}"])
        return value

    def flag(self, key: str) -> bool:
        value = self.params.get(key)
        return value is True or (isinstance(value, str) and value in TRUE) or value == 1

    def integer(self, key: str, default: int) -> int:
        try:
            return int(self.params.get(key, default))
        except (TypeError, ValueError):
            raise SlackError("invalid_arguments", messages=[f"{key} must be an integer"]) from None

    def json_list(self, key: str, error: str) -> list[Any] | None:
        value = self.params.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, list):
            raise SlackError(error, messages=[f"{key} must be a JSON array"])
        return value
