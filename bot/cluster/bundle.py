"""Support bundles: a TenantSnapshot on disk, for offline diagnosis and support tickets.

Layout (documented in docs/bundle-format.md):

    manifest.yaml                 format version, tool version, namespaces, collection time,
                                  collected kinds, collection errors, log index
    objects/<kind>.yaml           a YAML list of API objects per kind (kinds of bot.snapshot)
    logs/<pod>/<container>.log            current log tail
    logs/<pod>/<container>.previous.log   log tail of the previous container instance

Everything is redacted on write and again on load (bot.cluster.redact).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError

from bot import __version__
from bot.cluster.redact import redact_object, redact_text
from bot.errors import BundleError, first_error
from bot.names import validate_namespace
from bot.snapshot import ALL_KINDS, CollectionError, ContainerLog, KubeObject, TenantSnapshot

FORMAT_VERSION = 1
MAX_LOG_LINES = 5000
MAX_LOG_BYTES = 1024 * 1024


class LogEntry(BaseModel):
    pod: str
    container: str
    previous: bool = False
    file: str
    truncated: bool = False


class Manifest(BaseModel):
    format_version: int
    tool_version: str
    namespace: str
    operator_namespace: str = "seldon-mesh"
    collected_at: datetime
    source: str = "bundle"
    kinds: list[str] = Field(description="kinds collected; each has objects/<kind>.yaml")
    collection_errors: list[CollectionError] = Field(default_factory=list)
    logs: list[LogEntry] = Field(default_factory=list)


def _read_yaml(path: Path, root: Path) -> Any:
    rel = path.relative_to(root)
    if not path.is_file():
        raise BundleError(f"bundle {root}: missing file {rel}")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise BundleError(f"bundle {root}: {rel} is not valid YAML: {exc}") from exc


def _tail(text: str) -> tuple[list[str], bool]:
    truncated = False
    if len(text.encode("utf-8")) > MAX_LOG_BYTES:
        text = text.encode("utf-8")[-MAX_LOG_BYTES:].decode("utf-8", errors="ignore")
        text = text.split("\n", 1)[1] if "\n" in text else text
        truncated = True
    lines = text.splitlines()
    if len(lines) > MAX_LOG_LINES:
        lines, truncated = lines[-MAX_LOG_LINES:], True
    return [redact_text(line) for line in lines], truncated


def load_bundle(path: str | Path) -> TenantSnapshot:
    root = Path(path)
    if not root.is_dir():
        raise BundleError(f"bundle {root}: no such directory")
    raw = _read_yaml(root / "manifest.yaml", root)
    try:
        manifest = Manifest.model_validate(raw)
    except ValidationError as exc:
        raise BundleError(f"bundle {root}: manifest.yaml is invalid: {first_error(exc)}") from exc
    if manifest.format_version != FORMAT_VERSION:
        raise BundleError(
            f"bundle {root}: manifest.yaml has format_version {manifest.format_version}; "
            f"this tool reads version {FORMAT_VERSION}"
        )
    validate_namespace(manifest.namespace)

    objects: dict[str, list[KubeObject]] = {}
    for kind in manifest.kinds:
        if kind not in ALL_KINDS:
            raise BundleError(f"bundle {root}: manifest.yaml lists unknown kind {kind!r}")
        file = root / "objects" / f"{kind}.yaml"
        items = _read_yaml(file, root) or []
        if not isinstance(items, list):
            raise BundleError(f"bundle {root}: objects/{kind}.yaml must be a YAML list of objects")
        try:
            objects[kind] = [KubeObject.model_validate(redact_object(item)) for item in items if item is not None]
        except (ValidationError, AttributeError, TypeError) as exc:
            detail = first_error(exc) if isinstance(exc, ValidationError) else str(exc)
            raise BundleError(f"bundle {root}: objects/{kind}.yaml has an invalid object: {detail}") from exc

    logs = []
    for entry in manifest.logs:
        file = root / entry.file
        if not file.resolve().is_relative_to(root.resolve()):
            raise BundleError(f"bundle {root}: log path {entry.file} leaves the bundle")
        if not file.is_file():
            raise BundleError(f"bundle {root}: missing file {entry.file}")
        lines, truncated = _tail(file.read_text(encoding="utf-8", errors="replace"))
        logs.append(
            ContainerLog(
                pod=entry.pod,
                container=entry.container,
                previous=entry.previous,
                lines=lines,
                truncated=truncated or entry.truncated,
            )
        )

    return TenantSnapshot(
        namespace=manifest.namespace,
        operator_namespace=manifest.operator_namespace,
        collected_at=manifest.collected_at,
        source=f"bundle:{root}",
        tool_version=manifest.tool_version,
        objects=objects,
        logs=logs,
        errors={e.kind: e for e in manifest.collection_errors},
    )


def write_bundle(snapshot: TenantSnapshot, path: str | Path) -> Path:
    """Write a snapshot as a bundle directory (created; must be empty if it exists)."""
    root = Path(path)
    if root.exists() and any(root.iterdir()):
        raise BundleError(f"bundle {root}: directory exists and is not empty")
    unknown = sorted(set(snapshot.objects) - set(ALL_KINDS))
    if unknown:
        raise BundleError(f"bundle {root}: cannot write unknown kind(s) {unknown}")
    (root / "objects").mkdir(parents=True, exist_ok=True)
    for kind, items in snapshot.objects.items():
        # The API lists in (namespace, name) order; so do bundles, whatever order they were built in.
        ordered = sorted(items, key=lambda o: (o.namespace or "", o.name))
        docs = [redact_object(item.to_dict()) for item in ordered]
        (root / "objects" / f"{kind}.yaml").write_text(
            yaml.safe_dump(docs, sort_keys=False, default_flow_style=False), encoding="utf-8"
        )
    entries = []
    for lg in snapshot.logs:
        rel = f"logs/{lg.pod}/{lg.container}{'.previous' if lg.previous else ''}.log"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("".join(redact_text(x) + "\n" for x in lg.lines), encoding="utf-8")
        entries.append(
            LogEntry(pod=lg.pod, container=lg.container, previous=lg.previous, file=rel, truncated=lg.truncated)
        )
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        tool_version=__version__,
        namespace=snapshot.namespace,
        operator_namespace=snapshot.operator_namespace,
        collected_at=snapshot.collected_at,
        source=snapshot.source,
        kinds=sorted(snapshot.objects),
        collection_errors=list(snapshot.errors.values()),
        logs=entries,
    )
    (root / "manifest.yaml").write_text(
        yaml.safe_dump(manifest.model_dump(mode="json", exclude_none=True), sort_keys=False),
        encoding="utf-8",
    )
    return root
