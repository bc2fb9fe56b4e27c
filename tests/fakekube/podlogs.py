"""Container logs behind `GET .../pods/<name>/log`, with the apiserver's and kubelet's refusals.

Query parameters: container, previous, tailLines, limitBytes. `follow`, `timestamps` and
`sinceSeconds`/`sinceTime` are accepted and ignored (the stored lines are returned once).
"""

from __future__ import annotations

import threading
from typing import Any

from .errors import bad_request

Json = dict[str, Any]


def _flag(value: str | None) -> bool:
    return (value or "").lower() in ("true", "1")


def _int(query: dict[str, str], key: str) -> int | None:
    raw = query.get(key)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise bad_request(f'{key}: Invalid value: "{raw}": must be an integer') from None


def _names(containers: list[Json] | None) -> list[str]:
    return [c.get("name", "") for c in containers or []]


def _container(pod: Json, requested: str | None) -> str:
    """pod.LogLocation: the only container is implied; otherwise the caller must name one."""
    spec, name = pod.get("spec") or {}, pod["metadata"]["name"]
    containers, init = _names(spec.get("containers")), _names(spec.get("initContainers"))
    if not requested:
        if len(containers) == 1:
            return containers[0]
        if not containers:
            raise bad_request(f"a container name must be specified for pod {name}")
        message = f"a container name must be specified for pod {name}, choose one of: [{' '.join(containers)}]"
        if init:
            message += f" or one of the init containers: [{' '.join(init)}]"
        raise bad_request(message)
    if requested not in containers + init + _names(spec.get("ephemeralContainers")):
        raise bad_request(f"container {requested} is not valid for pod {name}")
    return requested


def _waiting_reason(pod: Json, container: str) -> str | None:
    """The kubelet cannot serve a container that never started (ContainerCreating, ImagePullBackOff)."""
    status = pod.get("status") or {}
    for cs in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
        if cs.get("name") == container and "waiting" in (cs.get("state") or {}) and not cs.get("restartCount"):
            return (cs["state"]["waiting"] or {}).get("reason") or "ContainerCreating"
    return None


class PodLogs:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lines: dict[tuple[str, str, str, bool], list[str]] = {}

    def set(self, namespace: str, pod: str, container: str, lines: list[str], previous: bool = False) -> None:
        with self._lock:
            self._lines[(namespace, pod, container, previous)] = list(lines)

    def clear_pod(self, namespace: str, pod: str) -> None:
        """A re-created pod starts with no logs (the old containers are gone)."""
        with self._lock:
            for key in [k for k in self._lines if k[:2] == (namespace, pod)]:
                del self._lines[key]

    def read(self, pod: Json, query: dict[str, str]) -> str:
        namespace, name = pod["metadata"].get("namespace", ""), pod["metadata"]["name"]
        container = _container(pod, query.get("container"))
        previous = _flag(query.get("previous"))
        tail, limit = _int(query, "tailLines"), _int(query, "limitBytes")
        with self._lock:
            lines = self._lines.get((namespace, name, container, previous))
        if lines is None and previous:
            raise bad_request(f'previous terminated container "{container}" in pod "{name}" not found')
        if lines is None and (reason := _waiting_reason(pod, container)):
            raise bad_request(f'container "{container}" in pod "{name}" is waiting to start: {reason}')
        lines = lines or []
        if tail is not None and tail >= 0:
            lines = lines[-tail:] if tail else []
        text = "".join(line + "\n" for line in lines)
        if limit is not None and limit > 0:
            text = text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")
        return text
