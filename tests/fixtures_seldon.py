"""Tenant snapshots built from the real Seldon v2.10.2 YAML (shared/seldon) and the operator's merge.

The Server and ServerConfig are the Helm-rendered ones; the StatefulSet and pods are what the operator
and the kubelet would make of them, so tests see the same probes, env and images as a real cluster.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from bot.diagnosis.view import TenantView
from bot.seldon.operator import render_statefulset
from bot.snapshot import KubeObject, TenantSnapshot

SELDON = Path(__file__).resolve().parents[2] / "shared" / "seldon"
RENDERED = SELDON / "rendered-v2.10.2"
TENANT = "financial-ml"
OPERATOR_NS = "seldon-mesh"
COLLECTED_AT = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def _rendered(file: str, kind: str, name: str) -> dict[str, Any]:
    docs = yaml.safe_load_all((RENDERED / file).read_text(encoding="utf-8"))
    doc = next(d for d in docs if d and d.get("kind") == kind and d["metadata"]["name"] == name)
    # Helm renders empty maps as `null`; the API server stores them as absent.
    doc["metadata"] = {k: v for k, v in doc["metadata"].items() if v is not None}
    doc["spec"] = {k: v for k, v in doc["spec"].items() if v is not None}
    return doc


def serverconfig(name: str = "mlserver") -> dict[str, Any]:
    doc = _rendered("serverconfig-mlserver.yaml", "ServerConfig", name)
    doc["metadata"].update(namespace=OPERATOR_NS, uid=f"uid-serverconfig-{name}")
    return doc


def server(
    name: str = "mlserver",
    *,
    replicas: int = 2,
    pod_spec: dict[str, Any] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    doc = _rendered("servers.yaml", "Server", name)
    doc["metadata"].update(namespace=TENANT, uid=f"uid-server-{name}", annotations=annotations or {})
    doc["spec"].update(replicas=replicas, maxReplicas=max(replicas, doc["spec"].get("maxReplicas", 1)))
    if pod_spec is not None:
        doc["spec"]["podSpec"] = pod_spec
    return doc


def _pod(statefulset: dict[str, Any], index: int) -> dict[str, Any]:
    template = statefulset["spec"]["template"]
    name = f"{statefulset['metadata']['name']}-{index}"
    spec = copy.deepcopy(template["spec"])
    spec["nodeName"] = f"node-{index}"
    statuses = [{"name": c["name"], "ready": True, "restartCount": 0, "image": c["image"]} for c in spec["containers"]]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": TENANT,
            "labels": {**template["metadata"]["labels"], "statefulset.kubernetes.io/pod-name": name},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "StatefulSet",
                    "controller": True,
                    "name": statefulset["metadata"]["name"],
                    "uid": "uid-sts",
                }
            ],
        },
        "spec": spec,
        "status": {
            "phase": "Running",
            "podIP": f"10.42.{index}.7",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": statuses,
        },
    }


def snapshot(
    server_doc: dict[str, Any] | None = None,
    config_doc: dict[str, Any] | None = None,
    extra: dict[str, list[dict[str, Any]]] | None = None,
) -> TenantSnapshot:
    """A tenant with one Server, its ServerConfig, the generated StatefulSet and one pod per replica."""
    server_doc = server_doc or server()
    config_doc = config_doc or serverconfig(server_doc["spec"]["serverConfig"])
    statefulset = render_statefulset(server_doc, config_doc)
    pods = [_pod(statefulset, i) for i in range(server_doc["spec"]["replicas"])]
    raw = {
        "servers": [server_doc],
        "serverconfigs": [config_doc],
        "statefulsets": [statefulset],
        "pods": pods,
        "networkpolicies": [],
        "models": [],
        **(extra or {}),
    }
    objects = {kind: [KubeObject.model_validate(o) for o in items] for kind, items in raw.items()}
    return TenantSnapshot(
        namespace=TENANT,
        operator_namespace=OPERATOR_NS,
        collected_at=COLLECTED_AT,
        source="test:fixtures_seldon",
        tool_version="test",
        objects=objects,
    )


def view(
    server_doc: dict[str, Any] | None = None,
    config_doc: dict[str, Any] | None = None,
    extra: dict[str, list[dict[str, Any]]] | None = None,
) -> TenantView:
    return TenantView(snapshot(server_doc, config_doc, extra))
