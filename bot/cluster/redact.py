"""Keep secret values out of snapshots, bundles and anything rendered from them.

Applied when a bundle is written and again when one is loaded, so a hand-made bundle cannot
smuggle a credential into Slack either. Secrets themselves are never collected; what remains
are env values with secret-looking names, ConfigMap data, and credentials echoed in log lines.
"""

from __future__ import annotations

import copy
import re
from functools import lru_cache
from typing import Any

from bot.seldon.operator import LAST_APPLIED_ANNOTATION, decode_last_applied, encode_last_applied

REDACTED = "<redacted>"

_SECRET_NAME = re.compile(
    r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL|AUTH|SAS|CONN(ECTION)?_?STR)",
    re.IGNORECASE,
)
# `key=value`, `key: value` and `"key": "value"` where the key looks secret.
_SECRET_IN_TEXT = re.compile(
    r"""(?P<key>["']?[\w.-]*(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|"""
    r"""private[_-]?key|credential)[\w.-]*["']?)(?P<sep>\s*[=:]\s*)(?P<value>"[^"]*"|'[^']*'|[^\s,;&}]+)""",
    re.IGNORECASE,
)
_SLACK_TOKEN = re.compile(r"xox[abpors]-[A-Za-z0-9-]+")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")


# Names of references to secrets (a Secret's name, a mounted file), whose values are not secret.
_REFERENCE_SUFFIX = re.compile(r"_(NAME|LOCATION|PATH|FILE|DIR|MOUNT|PORT|HOST|PROTOCOL)$", re.IGNORECASE)


@lru_cache(maxsize=4096)  # env names repeat across every pod of a tenant
def secret_looking(name: str) -> bool:
    return bool(_SECRET_NAME.search(name)) and not _REFERENCE_SUFFIX.search(name)


def redact_text(text: str) -> str:
    text = _SECRET_IN_TEXT.sub(lambda m: f"{m['key']}{m['sep']}{REDACTED}", text)
    text = _SLACK_TOKEN.sub(REDACTED, text)
    return _BEARER.sub(lambda m: f"{m[1]}{REDACTED}", text)


def _redact_env(env: list[dict[str, Any]]) -> None:
    for var in env:
        if "value" in var and var.get("value") and secret_looking(str(var.get("name", ""))):
            var["value"] = REDACTED


def _redact_pod_spec(spec: dict[str, Any]) -> None:
    for key in ("containers", "initContainers", "ephemeralContainers"):
        for container in spec.get(key) or []:
            _redact_env(container.get("env") or [])


def _redact_last_applied(value: str) -> str:
    """The operator's zipped copy of the desired StatefulSet holds the same env values as the live one."""
    try:
        desired = decode_last_applied(value)
    except ValueError:
        return REDACTED
    redacted = redact_object(copy.deepcopy(desired))
    return value if redacted == desired else encode_last_applied(redacted)


def redact_object(obj: dict[str, Any]) -> dict[str, Any]:
    """Redact one API object in place and return it."""
    kind = obj.get("kind")
    if kind == "Secret":
        obj.pop("data", None)
        obj.pop("stringData", None)
    if kind == "ConfigMap":
        # Only presence and keys matter to the checks.
        for field in ("data", "binaryData"):
            if field in obj:
                obj[field] = {k: REDACTED for k in obj[field] or {}}
    annotations = obj.get("metadata", {}).get("annotations") or {}
    if "kubectl.kubernetes.io/last-applied-configuration" in annotations:
        annotations["kubectl.kubernetes.io/last-applied-configuration"] = redact_text(
            annotations["kubectl.kubernetes.io/last-applied-configuration"]
        )
    if LAST_APPLIED_ANNOTATION in annotations:
        annotations[LAST_APPLIED_ANNOTATION] = _redact_last_applied(annotations[LAST_APPLIED_ANNOTATION])
    spec = obj.get("spec") or {}
    if kind == "Pod":
        _redact_pod_spec(spec)
    elif kind in ("Server", "ServerConfig"):
        _redact_pod_spec(spec.get("podSpec") or {})
    elif kind in ("StatefulSet", "Deployment"):
        _redact_pod_spec((spec.get("template") or {}).get("spec") or {})
    elif kind == "SeldonRuntime":
        for override in spec.get("overrides") or []:
            _redact_pod_spec(override.get("podSpec") or {})
    return obj


def restore_redacted(patch: Any, live: Any, path: str = "") -> Any:
    """The patch with every `<redacted>` value taken back from the live object at the same place.

    Proposals are built from redacted snapshots; written as they are, they would replace a real
    secret with the placeholder. Lists of named items (containers, env) are matched by name.
    Raises ValueError when the live object has no value to restore.
    """
    if patch == REDACTED:
        if live is None:
            raise ValueError(f"{path or 'value'} is redacted and the live object has no value to keep")
        return live
    if isinstance(patch, dict):
        live_map = live if isinstance(live, dict) else {}
        return {k: restore_redacted(v, live_map.get(k), f"{path}.{k}".lstrip(".")) for k, v in patch.items()}
    if isinstance(patch, list):
        named = {i.get("name"): i for i in live or [] if isinstance(i, dict)} if isinstance(live, list) else {}
        return [
            restore_redacted(
                item,
                named.get(item.get("name")) if isinstance(item, dict) else None,
                f"{path}[{item.get('name') if isinstance(item, dict) else i}]",
            )
            for i, item in enumerate(patch)
        ]
    return patch
