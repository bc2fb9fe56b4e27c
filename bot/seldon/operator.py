"""What the Seldon Core v2 operator builds from a Server CR: pod spec merge, StatefulSet, Services.

Pure functions over API dictionaries that follow the operator's Go code
(operator/controllers/reconcilers/server/*.go and common/patch_utils.go, v2.10.x):

* the pod spec is the ServerConfig's `spec.podSpec` merged with the Server's `spec.podSpec` the way
  `mergo.Merge(dst, src, WithOverride, WithAppendSlice)` does it (see `merge_pod_spec`);
* `spec.capabilities` / `spec.extraCapabilities` then rewrite `SELDON_SERVER_CAPABILITIES`;
* the StatefulSet carries the `seldon.io/last-applied` annotation written by
  cisco-open/k8s-objectmatcher (base64 of a zip archive holding the object's JSON).

The product uses them to predict what a Server CR patch does to the pods; the example generator
uses them to derive realistic StatefulSets from the real Seldon YAML.
"""

from __future__ import annotations

import base64
import binascii
import copy
import gzip
import io
import json
import zipfile
from typing import Any

SERVER_API_VERSION = "mlops.seldon.io/v1alpha1"
LAST_APPLIED_ANNOTATION = "seldon.io/last-applied"
SERVER_NAME_LABEL = "seldon-server-name"
K8S_NAME_LABEL = "app.kubernetes.io/name"
SERVER_LABEL_VALUE = "seldon-server"
REPLICA_LABEL = "seldon-server-replica"
REPLICA_NAME_LABEL = "seldon-server-replica-name"
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
CAPABILITIES_ENV = "SELDON_SERVER_CAPABILITIES"

# Per-replica Service ports: (name, port, targetPort or None). Nothing listens on "agent" 9005.
REPLICA_SERVICE_PORTS: tuple[tuple[str, int, str | None], ...] = (
    ("http", 9000, "http"),
    ("grpc", 9500, "grpc"),
    ("agent", 9005, None),
)

# Name of the single entry inside the zip archive of the last-applied annotation.
_ZIP_ENTRY = "original"
# A fixed timestamp keeps the zip bytes deterministic (Go's archive/zip writes a zero time too).
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)

Json = dict[str, Any]


# --- pod spec merge -----------------------------------------------------------------------------


def _is_empty(value: Any) -> bool:
    """mergo's isEmptyValue: zero values in the override never overwrite (the merge cannot blank)."""
    return value is None or value is False or value == 0 or value == "" or value == [] or value == {}


def _merge_into(dst: Json, src: Json) -> None:
    """mergo WithOverride + WithAppendSlice: maps and structs merge per key, slices are appended,
    set scalars override. `src` must already be a private copy."""
    for key, value in src.items():
        if _is_empty(value):
            continue
        current = dst.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            _merge_into(current, value)
        elif isinstance(value, list) and isinstance(current, list):
            current.extend(value)
        else:
            dst[key] = value


def _merge_containers(existing: list[Json], overrides: list[Json]) -> list[Json]:
    """The operator's MergeContainers: override entries come first, in their order (merged into
    the same-named ServerConfig container, or added as they are), then the untouched ServerConfig
    containers. So a patched container moves to the front; Kubernetes does not care about order."""
    by_name = {c.get("name"): c for c in existing}
    merged: list[Json] = []
    for override in overrides:
        base = by_name.get(override.get("name"))
        if base is None:
            merged.append(copy.deepcopy(override))
            continue
        container = copy.deepcopy(base)
        _merge_into(container, copy.deepcopy(override))
        merged.append(container)
    named = {o.get("name") for o in overrides}
    merged.extend(copy.deepcopy(c) for c in existing if c.get("name") not in named)
    return merged


def merge_pod_spec(base: Json, override: Json | None) -> Json:
    """The operator's podSpec merge (MergePodSpecs). Inputs are never mutated.

    * `containers` are matched by name; a match is deep-merged (set scalars override, maps such as
      `resources.requests` merge per key, slices such as `env`, `args`, `command`, `ports` and
      `volumeMounts` are appended, so an overridden env var ends up twice and the last one wins);
      a container with a new name is added.
    * Every other pod-level slice is appended as is. That includes `initContainers`: the operator
      matches only `containers` by name, so an initContainer repeating a name is a duplicate.
    * Pod-level maps (`nodeSelector`, `securityContext`, ...) merge per key; scalars are overridden.
    * Empty values (`""`, `0`, `false`, `[]`, `{}`) in the override are ignored, as in mergo.
    """
    merged = copy.deepcopy(base)
    if not override:
        return merged
    rest = {k: v for k, v in override.items() if k != "containers"}
    _merge_into(merged, copy.deepcopy(rest))
    merged["containers"] = _merge_containers(base.get("containers") or [], override.get("containers") or [])
    return merged


def _apply_capabilities(pod_spec: Json, capabilities: list[str], extra: list[str]) -> None:
    """updateCapabilities: every SELDON_SERVER_CAPABILITIES entry, in every container, is rewritten.
    `capabilities` replaces the value; otherwise `extraCapabilities` (deprecated) is appended."""
    if not capabilities and not extra:
        return
    for container in pod_spec.get("containers") or []:
        for i, var in enumerate(container.get("env") or []):
            if var.get("name") != CAPABILITIES_ENV:
                continue
            value = ",".join(capabilities) if capabilities else f"{var.get('value', '')},{','.join(extra)}"
            container["env"][i] = {"name": CAPABILITIES_ENV, "value": value}


def server_pod_spec(server: Json, serverconfig: Json) -> Json:
    """ServerConfig `spec.podSpec` merged with Server `spec.podSpec`, then the capabilities rewrite."""
    spec = server.get("spec") or {}
    pod_spec = merge_pod_spec((serverconfig.get("spec") or {}).get("podSpec") or {}, spec.get("podSpec"))
    _apply_capabilities(pod_spec, list(spec.get("capabilities") or []), list(spec.get("extraCapabilities") or []))
    return pod_spec


# --- generated objects --------------------------------------------------------------------------


def owner_reference(owner: Json) -> Json:
    """controllerutil.SetControllerReference: controller and blockOwnerDeletion are both true."""
    meta = owner.get("metadata") or {}
    ref: Json = {
        "apiVersion": owner.get("apiVersion", SERVER_API_VERSION),
        "kind": owner.get("kind", "Server"),
        "name": meta.get("name"),
    }
    if meta.get("uid"):
        ref["uid"] = meta["uid"]
    ref.update(controller=True, blockOwnerDeletion=True)
    return ref


def _replicas(server: Json) -> int:
    replicas = (server.get("spec") or {}).get("replicas")
    return 1 if replicas is None else int(replicas)


def _merged_meta_maps(server: Json, serverconfig: Json, field: str) -> dict[str, str]:
    """utils.MergeMaps(server, serverConfig): on a clash the ServerConfig's value wins."""
    return {
        **((server.get("metadata") or {}).get(field) or {}),
        **((serverconfig.get("metadata") or {}).get(field) or {}),
    }


def render_statefulset(server: Json, serverconfig: Json) -> Json:
    """The StatefulSet `<server>` the operator creates (StatefulSet mode, the default).

    Server and ServerConfig labels and annotations are copied to the StatefulSet and to the pod
    template, which is why Helm labels of those CRs show up on the pods. The last-applied
    annotation is the one written at creation, before the owner reference is set.
    """
    meta = server.get("metadata") or {}
    name, namespace = meta.get("name"), meta.get("namespace")
    labels = {**_merged_meta_maps(server, serverconfig, "labels"), K8S_NAME_LABEL: SERVER_LABEL_VALUE}
    annotations = _merged_meta_maps(server, serverconfig, "annotations")
    spec: Json = {
        "replicas": _replicas(server),
        "selector": {"matchLabels": {SERVER_NAME_LABEL: name}},
        "template": {
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": {SERVER_NAME_LABEL: name, K8S_NAME_LABEL: SERVER_LABEL_VALUE, **labels},
                **({"annotations": dict(annotations)} if annotations else {}),
            },
            "spec": server_pod_spec(server, serverconfig),
        },
        "serviceName": name,
        "podManagementPolicy": "Parallel",
    }
    templates = (serverconfig.get("spec") or {}).get("volumeClaimTemplates") or []
    if templates:
        spec["volumeClaimTemplates"] = [
            {"metadata": {"name": t.get("name")}, "spec": copy.deepcopy(t.get("spec") or {})} for t in templates
        ]
    retention = (server.get("spec") or {}).get("statefulSetPersistentVolumeClaimRetentionPolicy")
    if retention:
        spec["persistentVolumeClaimRetentionPolicy"] = copy.deepcopy(retention)
    statefulset: Json = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": namespace, "labels": labels, "annotations": annotations},
        "spec": spec,
    }
    annotations[LAST_APPLIED_ANNOTATION] = encode_last_applied(statefulset)
    statefulset["metadata"]["ownerReferences"] = [owner_reference(server)]
    return statefulset


def render_replica_services(server: Json) -> list[Json]:
    """The headless Services `<server>-<i>` through which envoy reaches each replica's agent."""
    meta = server.get("metadata") or {}
    name = meta.get("name")
    services = []
    for i in range(_replicas(server)):
        replica = f"{name}-{i}"
        ports = [
            {"port": port, **({"targetPort": target} if target else {}), "name": port_name}
            for port_name, port, target in REPLICA_SERVICE_PORTS
        ]
        services.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {
                    "name": replica,
                    "namespace": meta.get("namespace"),
                    "labels": {REPLICA_LABEL: name, REPLICA_NAME_LABEL: replica},
                    "ownerReferences": [owner_reference(server)],
                },
                "spec": {"clusterIP": "None", "selector": {POD_NAME_LABEL: replica}, "ports": ports},
            }
        )
    return services


# --- seldon.io/last-applied ---------------------------------------------------------------------


def _without_zero_values(value: Any) -> Any:
    """k8s-objectmatcher DeleteNullInJson: drops nulls, "" and false (numbers stay), and maps that
    become empty; maps that were empty to begin with stay."""
    if isinstance(value, dict):
        kept = {}
        for key, item in value.items():
            if item is None or item is False or item == "":
                continue
            if isinstance(item, dict) and item:
                item = _without_zero_values(item)
                if not item:
                    continue
            elif isinstance(item, list | dict):
                item = _without_zero_values(item)
            kept[key] = item
        return kept
    if isinstance(value, list):
        return [_without_zero_values(v) for v in value]
    return value


def _go_json(value: Any) -> str:
    """encoding/json output for a map: sorted keys, compact, HTML characters escaped."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def encode_last_applied(obj: Json) -> str:
    """The annotation value Annotator.SetLastAppliedAnnotation writes for `obj`.

    The object is serialised without the annotation itself; Go always emits the StatefulSet status
    counters, so an unset status reads as `{"availableReplicas":0,"replicas":0}` like the real one.
    """
    desired = copy.deepcopy(obj)
    annotations = (desired.get("metadata") or {}).get("annotations")
    if annotations is not None:
        annotations.pop(LAST_APPLIED_ANNOTATION, None)
        if not annotations:
            desired["metadata"].pop("annotations")
    if desired.get("kind") == "StatefulSet":
        desired.setdefault("status", {"replicas": 0, "availableReplicas": 0})
    payload = _go_json(_without_zero_values(desired)).encode("utf-8")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo(_ZIP_ENTRY, date_time=_ZIP_DATE)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.create_system = 0  # as Go writes it; Python would otherwise record the host OS
        archive.writestr(info, payload)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _unpack(raw: bytes) -> bytes:
    if raw.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            names = archive.namelist()
            if not names:
                raise ValueError("last-applied annotation: empty zip archive")
            return archive.read(_ZIP_ENTRY if _ZIP_ENTRY in names else names[0])
    if raw.startswith(b"\x1f\x8b"):
        return gzip.decompress(raw)
    return raw


def decode_last_applied(value: str) -> Json:
    """Read a last-applied annotation back: base64 of zip (k8s-objectmatcher ≥1.6) or of gzip, or
    plain JSON (older objectmatcher). Raises ValueError when it is none of these."""
    text = value.strip()
    if text.startswith("{"):
        raw = text.encode("utf-8")
    else:
        try:
            raw = _unpack(base64.b64decode(text, validate=True))
        except (binascii.Error, zipfile.BadZipFile, OSError, EOFError) as exc:
            raise ValueError(f"last-applied annotation is not base64 zip, gzip or JSON: {exc}") from exc
    try:
        decoded = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"last-applied annotation does not hold JSON: {exc}") from exc
    if not isinstance(decoded, dict):
        raise ValueError("last-applied annotation does not hold a JSON object")
    return decoded
