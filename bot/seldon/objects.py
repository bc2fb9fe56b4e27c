"""Small readers for the Kubernetes and Seldon object fields the checks use."""

from __future__ import annotations

from typing import Any

from bot.snapshot import KubeObject

AGENT = "agent"
RCLONE = "rclone"


def condition(obj: KubeObject, type_: str) -> dict[str, Any] | None:
    return next((c for c in obj.status.get("conditions") or [] if c.get("type") == type_), None)


def condition_true(obj: KubeObject, type_: str) -> bool | None:
    """True/False from the condition, None when the condition is absent."""
    cond = condition(obj, type_)
    return None if cond is None else cond.get("status") == "True"


def containers(pod_spec: dict[str, Any]) -> list[dict[str, Any]]:
    return list(pod_spec.get("containers") or [])


def container(pod_spec: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((c for c in containers(pod_spec) if c.get("name") == name), None)


def env_entry(container_: dict[str, Any] | None, name: str) -> dict[str, Any] | None:
    """The effective env entry: Kubernetes uses the last definition of a duplicated name."""
    if not container_:
        return None
    found = None
    for var in container_.get("env") or []:
        if var.get("name") == name:
            found = var
    return found


def env_value(container_: dict[str, Any] | None, name: str) -> str | None:
    entry = env_entry(container_, name)
    return None if entry is None or "valueFrom" in entry else str(entry.get("value", ""))


def arg_value(container_: dict[str, Any] | None, flag: str) -> str | None:
    """Value of a Go flag in command+args (`--flag=v` or `--flag v`); the last occurrence wins."""
    if not container_:
        return None
    words = [*(container_.get("command") or []), *(container_.get("args") or [])]
    value = None
    for i, word in enumerate(words):
        for prefix in (f"--{flag}", f"-{flag}"):
            if word.startswith(prefix + "="):
                value = word[len(prefix) + 1 :]
            elif word == prefix and i + 1 < len(words):
                value = words[i + 1]
    return value


def without_flag(words: list[str], flag: str) -> list[str]:
    """`words` minus every form of a Go flag arg_value reads: --flag=v, --flag v, -flag=v, -flag v."""
    kept, skip_next = [], False
    for word in words:
        if skip_next:
            skip_next = False
            continue
        if word in (f"--{flag}", f"-{flag}"):
            skip_next = True
            continue
        if not word.startswith((f"--{flag}=", f"-{flag}=")):
            kept.append(word)
    return kept


def container_status(pod: KubeObject, name: str) -> dict[str, Any] | None:
    return next((s for s in pod.status.get("containerStatuses") or [] if s.get("name") == name), None)


def pod_ready(pod: KubeObject) -> bool:
    return condition_true(pod, "Ready") is True


def memory_request_source(agent: dict[str, Any] | None) -> dict[str, Any] | None:
    """The agent's MEMORY_REQUEST resourceFieldRef (containerName, resource, divisor), if any."""
    entry = env_entry(agent, "MEMORY_REQUEST")
    if not entry:
        return None
    return (entry.get("valueFrom") or {}).get("resourceFieldRef")


def inference_container_name(pod_spec: dict[str, Any]) -> str | None:
    """The inference server container: the one the agent's capacity refers to, else by server type."""
    agent = container(pod_spec, AGENT)
    ref = memory_request_source(agent)
    names = [c.get("name") for c in containers(pod_spec)]
    if ref and ref.get("containerName") in names and ref.get("containerName") not in (AGENT, RCLONE):
        return ref["containerName"]
    server_type = env_value(agent, "SELDON_SERVER_TYPE") or "mlserver"
    if server_type in names:
        return server_type
    others = [n for n in names if n not in (AGENT, RCLONE)]
    return others[0] if len(others) == 1 else None
