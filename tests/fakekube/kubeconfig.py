"""A kubeconfig pointing at the fake: plain HTTP on loopback, bearer-token user."""

from __future__ import annotations

from pathlib import Path

import yaml


def kubeconfig(server: str, *, context: str, namespace: str | None, token: str) -> dict[str, object]:
    ctx: dict[str, str] = {"cluster": context, "user": context}
    if namespace:
        ctx["namespace"] = namespace
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": server}}],
        "users": [{"name": context, "user": {"token": token}}],
        "contexts": [{"name": context, "context": ctx}],
        "current-context": context,
        "preferences": {},
    }


def write_kubeconfig(
    path: Path, server: str, *, context: str = "fake", namespace: str | None = None, token: str = "fake-token"
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    config = kubeconfig(server, context=context, namespace=namespace, token=token)
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path
