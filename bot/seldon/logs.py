"""Parsing of the log formats Seldon components write, and search over a snapshot's log tails.

The agent and scheduler log with logrus' text formatter:
    time="2026-11-26T09:01:02Z" level=error msg="Scheduler not ready" error="..." Name=Client
MLServer logs with Python logging:
    2026-11-26 09:00:41,512 [mlserver.rest] INFO - HTTP server running on http://0.0.0.0:9000
Anything else is kept as a raw line with only `msg` set.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bot.snapshot import ContainerLog

_LOGRUS_PAIR = re.compile(r'(\w[\w.-]*)=("(?:[^"\\]|\\.)*"|\S+)')
_PYLOG = re.compile(
    r"^(?P<time>\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[,.]\d+)?)\s+\[(?P<logger>[^\]]+)\](?:\[[^\]]*\])?\s+"
    r"(?P<level>[A-Z]+)\s+-\s+(?P<msg>.*)$"
)


_LOGRUS_HEAD = re.compile(r'^time="(?P<time>[^"]*)" level=(?P<level>\w+) msg=(?P<msg>"(?:[^"\\]|\\.)*"|\S+)')
_LOGRUS_ERROR = re.compile(r' error=("(?:[^"\\]|\\.)*"|\S+)')


class LogLine:
    """One parsed line. A plain class with lazy fields: a tenant's logs are tens of thousands of these."""

    __slots__ = ("_fields", "container", "level", "msg", "pod", "previous", "raw", "text_", "time")

    def __init__(
        self,
        pod: str,
        container: str,
        previous: bool,
        raw: str,
        msg: str,
        time: str | None = None,
        level: str | None = None,
        error: str | None = None,
    ) -> None:
        self.pod, self.container, self.previous, self.raw = pod, container, previous, raw
        self.msg, self.time, self.level = msg, time, level
        # msg plus the error field, where logrus puts the interesting part: what checks search.
        self.text_ = f"{msg}: {error}" if error else msg
        self._fields: dict[str, str] | None = None

    @property
    def fields(self) -> dict[str, str]:
        """Every key=value pair of a logrus line (Name, func, model, error, ...), parsed on first use."""
        if self._fields is None:
            pairs = {k: _unquote(v) for k, v in _LOGRUS_PAIR.findall(self.raw)} if self.raw.startswith("time=") else {}
            self._fields = {k: v for k, v in pairs.items() if k not in ("time", "level", "msg")}
        return self._fields

    def field(self, name: str) -> str:
        return self.fields.get(name, "")

    def text(self) -> str:
        return self.text_


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


def parse_line(raw: str, pod: str, container: str, previous: bool) -> LogLine:
    head = _LOGRUS_HEAD.match(raw)
    if head:
        error = _LOGRUS_ERROR.search(raw, head.end())
        return LogLine(
            pod,
            container,
            previous,
            raw,
            _unquote(head["msg"]),
            head["time"],
            head["level"],
            _unquote(error[1]) if error else None,
        )
    match = _PYLOG.match(raw)
    if match:
        return LogLine(pod, container, previous, raw, match["msg"], match["time"], match["level"].lower())
    return LogLine(pod, container, previous, raw, raw)


def lines_of(log: ContainerLog) -> Iterator[LogLine]:
    for raw in log.lines:
        if raw.strip():
            yield parse_line(raw, log.pod, log.container, log.previous)
