"""TenantSnapshot: everything the diagnosis needs about one tenant namespace, read once.

The snapshot is the only input of `bot.diagnosis`. It is filled either from a support bundle
(`bot.cluster.bundle`) or from a live cluster, and carries its own collection time so that the
engine never reads a clock. Kubernetes objects are kept as their API dictionaries behind a thin
typed wrapper: the checks read a few dozen fields, and a generated model of every Kubernetes type
would cost more than it explains.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# Kinds read from the tenant namespace, by the key used in the snapshot and the bundle.
# Value: (apiVersion, Kind).
TENANT_KINDS: dict[str, tuple[str, str]] = {
    "seldonruntimes": ("mlops.seldon.io/v1alpha1", "SeldonRuntime"),
    "servers": ("mlops.seldon.io/v1alpha1", "Server"),
    "models": ("mlops.seldon.io/v1alpha1", "Model"),
    "pipelines": ("mlops.seldon.io/v1alpha1", "Pipeline"),
    "experiments": ("mlops.seldon.io/v1alpha1", "Experiment"),
    "statefulsets": ("apps/v1", "StatefulSet"),
    "deployments": ("apps/v1", "Deployment"),
    "pods": ("v1", "Pod"),
    "services": ("v1", "Service"),
    "endpointslices": ("discovery.k8s.io/v1", "EndpointSlice"),
    "networkpolicies": ("networking.k8s.io/v1", "NetworkPolicy"),
    "events": ("v1", "Event"),
    "limitranges": ("v1", "LimitRange"),
    # Metadata only (data is dropped at collection): presence is what F7 needs.
    "configmaps": ("v1", "ConfigMap"),
    "serviceaccounts": ("v1", "ServiceAccount"),
    "roles": ("rbac.authorization.k8s.io/v1", "Role"),
}

# Kinds read from the operator's namespace (default `seldon-mesh`).
OPERATOR_KINDS: dict[str, tuple[str, str]] = {
    "serverconfigs": ("mlops.seldon.io/v1alpha1", "ServerConfig"),
    "operator_deployments": ("apps/v1", "Deployment"),
}

# Namespaces are cluster-scoped: the tenant's and the operator's, for namespaceSelector labels.
CLUSTER_KINDS: dict[str, tuple[str, str]] = {"namespaces": ("v1", "Namespace")}

ALL_KINDS: dict[str, tuple[str, str]] = {**TENANT_KINDS, **OPERATOR_KINDS, **CLUSTER_KINDS}

# Containers whose logs the checks read. Anything else is not collected.
LOGGED_CONTAINERS = ("agent", "rclone", "mlserver", "triton", "scheduler")


class OwnerReference(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    api_version: str = Field("", alias="apiVersion")
    kind: str
    name: str
    uid: str = ""
    controller: bool = False


class ObjectMeta(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    name: str
    namespace: str | None = None
    uid: str | None = None
    resource_version: str | None = Field(None, alias="resourceVersion")
    generation: int | None = None
    creation_timestamp: datetime | None = Field(None, alias="creationTimestamp")
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    owner_references: list[OwnerReference] = Field(default_factory=list, alias="ownerReferences")


class KubeObject(BaseModel):
    """A Kubernetes object: typed metadata, the rest as the API returned it."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    api_version: str = Field(alias="apiVersion")
    kind: str
    metadata: ObjectMeta
    spec: dict[str, Any] = Field(default_factory=dict)
    status: dict[str, Any] = Field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def namespace(self) -> str | None:
        return self.metadata.namespace

    @property
    def labels(self) -> dict[str, str]:
        return self.metadata.labels

    def top(self, key: str, default: Any = None) -> Any:
        """A top-level field outside spec/status (EndpointSlice.endpoints, Event.reason, ...)."""
        return (self.model_extra or {}).get(key, default)

    def to_dict(self) -> dict[str, Any]:
        # exclude_defaults: what was absent stays absent, so a bundle round trip is lossless.
        return self.model_dump(by_alias=True, exclude_defaults=True, mode="json")


class CollectionError(BaseModel):
    """Why one kind (or one log) could not be read. Shown to the user as is."""

    kind: str
    message: str
    code: int | None = None
    reason: str | None = None
    # For 403s: the exact permission that is missing, e.g. "list pods in namespace financial-ml".
    missing_permission: str | None = None


class ContainerLog(BaseModel):
    pod: str
    container: str
    previous: bool = False
    lines: list[str] = Field(default_factory=list)
    truncated: bool = False


class TenantSnapshot(BaseModel):
    namespace: str
    operator_namespace: str = "seldon-mesh"
    collected_at: datetime
    source: str = Field(description="'bundle:<path>' or 'live:<context>'")
    tool_version: str
    objects: dict[str, list[KubeObject]] = Field(default_factory=dict)
    logs: list[ContainerLog] = Field(default_factory=list)
    errors: dict[str, CollectionError] = Field(default_factory=dict)

    # -- accessors the checks use; a kind that was not collected reads as empty --

    def of(self, kind: str) -> list[KubeObject]:
        return self.objects.get(kind, [])

    def collected(self, kind: str) -> bool:
        return kind in self.objects and kind not in self.errors

    def get(self, kind: str, name: str) -> KubeObject | None:
        return next((o for o in self.of(kind) if o.name == name), None)

    def namespace_labels(self, namespace: str) -> dict[str, str]:
        """Labels of a namespace; Kubernetes always sets `kubernetes.io/metadata.name`."""
        ns = self.get("namespaces", namespace)
        labels = dict(ns.labels) if ns else {}
        labels.setdefault("kubernetes.io/metadata.name", namespace)
        return labels

    def log(self, pod: str, container: str, previous: bool = False) -> ContainerLog | None:
        return next(
            (lg for lg in self.logs if lg.pod == pod and lg.container == container and lg.previous == previous),
            None,
        )
