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

from pydantic import BaseModel

from bot.snapshot import ContainerLog, TenantSnapshot

_LOGRUS_PAIR = re.compile(r'(\w[\w.-]*)=("(?:[^"\\]|\\.)*"|\S+)')
_PYLOG = re.compile(
    r"^(?P<time>\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[,.]\d+)?)\s+\[(?P<logger>[^\]]+)\](?:\[[^\]]*\])?\s+"
    r"(?P<level>[A-Z]+)\s+-\s+(?P<msg>.*)$"
)


class LogLine(BaseModel):
    pod: str
    container: str
    previous: bool
    raw: str
    time: str | None = None
    level: str | None = None
    msg: str
    fields: dict[str, str] = {}

    def field(self, name: str) -> str:
        return self.fields.get(name, "")

    def text(self) -> str:
        """msg plus the error field, where logrus puts the interesting part."""
        err = self.fields.get("error")
        return f"{self.msg}: {err}" if err else self.msg


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


def parse_line(raw: str, pod: str, container: str, previous: bool) -> LogLine:
    base = {"pod": pod, "container": container, "previous": previous, "raw": raw}
    if raw.startswith("time="):
        fields = {k: _unquote(v) for k, v in _LOGRUS_PAIR.findall(raw)}
        return LogLine(
            **base,
            time=fields.pop("time", None),
            level=fields.pop("level", None),
            msg=fields.pop("msg", ""),
            fields=fields,
        )
    match = _PYLOG.match(raw)
    if match:
        return LogLine(
            **base,
            time=match["time"],
            level=match["level"].lower(),
            msg=match["msg"],
            fields={"logger": match["logger"]},
        )
    return LogLine(**base, msg=raw)


def lines_of(log: ContainerLog) -> Iterator[LogLine]:
    for raw in log.lines:
        if raw.strip():
            yield parse_line(raw, log.pod, log.container, log.previous)


def search(
    snapshot: TenantSnapshot, container: str, pattern: re.Pattern[str] | str, pods: set[str] | None = None
) -> list[LogLine]:
    """All lines of `container` logs (current and previous) whose msg+error matches `pattern`."""
    regex = re.compile(pattern) if isinstance(pattern, str) else pattern
    return [
        line
        for log in snapshot.logs
        if log.container == container and (pods is None or log.pod in pods)
        for line in lines_of(log)
        if regex.search(line.text())
    ]
