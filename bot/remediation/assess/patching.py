"""Loading a patch file and merging it into an object the way the API server would.

Built-in kinds take a strategic merge patch (lists with a merge key are merged item by item); Seldon
CRs have no strategic merge, so they take a JSON merge patch (RFC 7386), which replaces lists whole.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from bot.errors import InputError

# Strategic-merge-patch keys of the PodSpec lists (k8s.io/api core/v1 patchMergeKey); other lists
# (args, command, tolerations, ...) are replaced whole.
_MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "env": "name",
    "ports": "containerPort",
    "volumeMounts": "mountPath",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
}


def load_patch(path: str | Path) -> dict[str, Any]:
    """A single YAML or JSON manifest; every problem is an InputError naming the file."""
    file = Path(path)
    source = f"patch file {file}"
    if not file.is_file():
        raise InputError(f"{source}: no such file")
    try:
        docs = [d for d in yaml.safe_load_all(file.read_text(encoding="utf-8")) if d is not None]
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(f"{source} is not valid YAML or JSON: {exc}") from exc
    if len(docs) != 1:
        raise InputError(f"{source}: expected one manifest, found {len(docs)} documents")
    return validate_patch(docs[0], source)


def validate_patch(doc: Any, source: str = "patch") -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise InputError(f"{source}: a manifest must be a mapping, not {type(doc).__name__}")
    for key in ("apiVersion", "kind"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            raise InputError(f"{source}: missing {key}")
    meta = doc.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
        raise InputError(f"{source}: missing metadata.name")
    if not isinstance(doc.get("spec", {}), dict):
        raise InputError(f"{source}: spec must be a mapping")
    return doc


def apply_patch(base: Any, patch: Any, *, strategic: bool, field: str = "") -> Any:
    """JSON merge patch (RFC 7386), or a strategic merge patch when `strategic` (lists with a
    merge key are merged item by item). `null` deletes a key in both."""
    if isinstance(patch, dict):
        out = dict(base) if isinstance(base, dict) else {}
        for key, value in patch.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = apply_patch(out.get(key), value, strategic=strategic, field=key)
        return out
    merge_key = _MERGE_KEYS.get(field) if strategic else None
    if merge_key and isinstance(patch, list) and isinstance(base, list):
        merged = list(base)
        for item in patch:
            index = next((i for i, old in enumerate(merged) if _same_item(old, item, merge_key)), None)
            if index is None:
                merged.append(copy.deepcopy(item))
            else:
                merged[index] = apply_patch(merged[index], item, strategic=True)
        return merged
    return copy.deepcopy(patch)


def _same_item(old: Any, new: Any, key: str) -> bool:
    return isinstance(old, dict) and isinstance(new, dict) and old.get(key) == new.get(key)


def dig(obj: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj
