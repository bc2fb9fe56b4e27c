"""The effective changes of a patch in words: how two pod specs differ."""

from __future__ import annotations

from typing import Any

from bot.seldon.objects import containers, env_entry


def describe_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Pod spec differences in words: pod-level scalars, containers, then env/args/resources per container."""
    out = [f"pod: {change}" for change in scalar_changes(before, after)]
    old = {c.get("name"): c for c in containers(before)}
    new = {c.get("name"): c for c in containers(after)}
    out += [f"container {n} added" for n in new if n not in old]
    out += [f"container {n} removed" for n in old if n not in new]
    for name in (n for n in new if n in old):
        out += [f"{name}: {change}" for change in _container_changes(old[name], new[name])]
    return out


def _container_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    out = _env_changes(old, new)
    for key in ("command", "args"):
        added = [a for a in new.get(key) or [] if a not in (old.get(key) or [])]
        removed = [a for a in old.get(key) or [] if a not in (new.get(key) or [])]
        out += [f"{key} + {a}" for a in added] + [f"{key} - {a}" for a in removed]
    old_res, new_res = _flatten(old.get("resources") or {}), _flatten(new.get("resources") or {})
    out += [
        f"{k} {old_res.get(k, 'unset')} -> {new_res.get(k, 'unset')}"
        for k in sorted(set(old_res) | set(new_res))
        if old_res.get(k) != new_res.get(k)
    ]
    handled = {"name", "env", "command", "args", "resources"}
    out += [f"{k} changed" for k in sorted((set(old) | set(new)) - handled) if old.get(k) != new.get(k)]
    return out


def _env_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    out = []
    names = list(dict.fromkeys(v.get("name") for v in [*(old.get("env") or []), *(new.get("env") or [])]))
    for name in names:
        before, after = env_entry(old, name), env_entry(new, name)
        if before != after:
            was = f" (was {env_text(before)})" if before else " (was unset)"
            out.append(f"env {name} removed" if after is None else f"env {env_text(after)}{was}")
        count = sum(v.get("name") == name for v in new.get("env") or [])
        if count > 1 and count > sum(v.get("name") == name for v in old.get("env") or []):
            out.append(f"env {name} defined {count} times (Kubernetes uses the last)")
    return out


def env_text(var: dict[str, Any]) -> str:
    if "valueFrom" not in var:
        return f"{var.get('name')}={var.get('value', '')}"
    source = var["valueFrom"]
    ref = source.get("fieldRef") or source.get("resourceFieldRef") or {}
    detail = ref.get("fieldPath") or f"{ref.get('containerName', '')} {ref.get('resource', '')}".strip()
    return f"{var.get('name')} from {next(iter(source), 'valueFrom')} {detail}".strip()


def _flatten(resources: dict[str, Any]) -> dict[str, Any]:
    return {
        f"{group}.{key}": value
        for group, items in resources.items()
        if isinstance(items, dict)
        for key, value in items.items()
    }


def scalar_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Changed top-level scalars of two mappings (hostNetwork, replicas, ...)."""
    return [
        f"{k} {old.get(k)!r} -> {new.get(k)!r}"
        for k in sorted(set(old) | set(new))
        if not isinstance(new.get(k, old.get(k)), dict | list) and old.get(k) != new.get(k)
    ]
