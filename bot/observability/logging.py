"""Structured JSON log lines with correlation ids, scrubbed of tokens and secret values.

One JSON object per line (what log pipelines index without parsing rules): time, level, logger,
message, the correlation id of the Slack request or run being served, and any `extra=` fields.
Every string that goes out is scrubbed first: Slack tokens (`xox?-`, `xapp-`), bearer tokens,
`password=`-style pairs, credentials in URLs, and the literal values of the secrets the bot was
given (whatever their shape), because a library may log a request, a URL or an exception message
that carries one. Scrubbing happens in the formatter, so records from every library pass through it.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from bot.cluster.redact import REDACTED, redact_text

CORRELATION_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "seldon_chatops_correlation_id", default=None
)

FORMAT_ENV = "SELDON_CHATOPS_LOG_FORMAT"  # json (default) or text
LEVEL_ENV = "SELDON_CHATOPS_LOG_LEVEL"  # INFO by default; DEBUG makes slack_sdk log message bodies

_APP_TOKEN = re.compile(r"xapp-[A-Za-z0-9-]+")
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<password>[^@/\s]+)@")
_MIN_LITERAL = 6  # shorter "secrets" would scrub ordinary words out of every line

# Attributes every LogRecord has: anything else on a record came from `extra=` and is logged as a field.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def new_correlation_id(prefix: str = "req") -> str:
    return f"{prefix}-{uuid4().hex[:12]}"


def set_correlation_id(value: str | None) -> None:
    """Bind an id to the current context; thread pools that copy the context carry it along."""
    CORRELATION_ID.set(value)


@contextmanager
def correlation(value: str | None = None) -> Iterator[str]:
    cid = value or new_correlation_id()
    token = CORRELATION_ID.set(cid)
    try:
        yield cid
    finally:
        CORRELATION_ID.reset(token)


class Scrubber:
    """Removes secrets from text: known literal values first (longest first), then token shapes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._literals: tuple[str, ...] = ()

    def add(self, values: Iterable[str | None]) -> None:
        with self._lock:
            found = set(self._literals)
            for value in values:
                if value and len(value) >= _MIN_LITERAL:
                    found.add(value)
            self._literals = tuple(sorted(found, key=len, reverse=True))

    def clear(self) -> None:
        with self._lock:
            self._literals = ()

    def __call__(self, text: str) -> str:
        for literal in self._literals:
            if literal in text:
                text = text.replace(literal, REDACTED)
        text = _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:{REDACTED}@", text)
        text = _APP_TOKEN.sub(REDACTED, text)
        return redact_text(text)


SCRUBBER = Scrubber()


def secret_values(secrets: Any) -> list[str]:
    """The secret strings of a `bot.settings.Secrets`, plus the password inside the database URL."""
    values: list[str] = []
    for name in ("slack_bot_token", "slack_app_token", "slack_signing_secret", "seldon_chatops_database_url"):
        secret = getattr(secrets, name, None)
        if secret is not None:
            values.append(secret.get_secret_value())
    url = getattr(secrets, "seldon_chatops_database_url", None)
    if url is not None:
        match = _URL_CREDENTIALS.search(url.get_secret_value())
        if match:
            values.append(match["password"])
    return values


def _scrub_value(value: Any, scrub: Scrubber) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _scrub_value(v, scrub) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_scrub_value(v, scrub) for v in value]
    return scrub(str(value))


class JsonFormatter(logging.Formatter):
    """One JSON object per record; strings scrubbed before encoding (so escaping cannot hide a secret)."""

    def __init__(self, scrubber: Scrubber = SCRUBBER) -> None:
        super().__init__()
        self.scrub = scrubber

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": self.scrub(record.getMessage()),
        }
        cid = getattr(record, "correlation_id", None) or CORRELATION_ID.get()
        if cid:
            line["correlation_id"] = cid
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in line:
                line[key] = _scrub_value(value, self.scrub)
        if record.exc_info:
            line["exception"] = self.scrub(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exception"] = self.scrub(record.exc_text)
        if record.stack_info:
            line["stack"] = self.scrub(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """For people at a terminal: the classic line, with the correlation id and the same scrubbing."""

    def __init__(self, scrubber: Scrubber = SCRUBBER) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")
        self.scrub = scrubber

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        cid = getattr(record, "correlation_id", None) or CORRELATION_ID.get()
        return self.scrub(f"{text} [{cid}]" if cid else text)


def configure_logging(
    secrets: Iterable[str | None] = (),
    *,
    fmt: str | None = None,
    level: str | None = None,
    stream: Any = None,
    crash_hooks: bool = True,
) -> logging.Handler:
    """Replace the root logger's handlers with one scrubbing handler; returns it (tests read from it).

    `crash_hooks` also routes uncaught exceptions (main thread and others) through it.
    """
    SCRUBBER.add(secrets)
    fmt = (fmt or os.environ.get(FORMAT_ENV) or "json").lower()
    level_name = (level or os.environ.get(LEVEL_ENV) or "INFO").upper()
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(TextFormatter() if fmt == "text" else JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level_name, logging.INFO))
    logging.captureWarnings(True)
    if crash_hooks:
        _log_uncaught()
    return handler


def _log_uncaught() -> None:
    """Crashes go through the scrubbing handler too, as one JSON line, instead of a raw traceback."""
    crash = logging.getLogger("seldon_chatops.crash")

    def on_exception(kind: type[BaseException], value: BaseException, tb: Any) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, tb)
            return
        crash.critical("uncaught %s", kind.__name__, exc_info=(kind, value, tb))

    def on_thread_exception(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread else "?"
        crash.error("uncaught %s in thread %s", args.exc_type.__name__, name,
                    exc_info=(args.exc_type, args.exc_value, args.exc_traceback))  # fmt: skip

    sys.excepthook = on_exception
    threading.excepthook = on_thread_exception
