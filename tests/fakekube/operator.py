"""FakeSeldonOperator: the Seldon operator, the StatefulSet controller and the kubelet, as one
deterministic test hook over a FakeKube.

`reconcile(namespace)` does, in order:

1. Seldon operator: each Server + its ServerConfig (in the operator namespace) renders the desired
   StatefulSet with bot.seldon.operator.render_statefulset. Like the operator's objectmatcher check,
   the StatefulSet is replaced only when the desired object changed (its `seldon.io/last-applied`
   annotation differs) or a desired field drifted on the live object; fields only the live object
   has, such as a `kubectl.kubernetes.io/restartedAt` template annotation, survive until then.
   Per-replica headless Services are created (and removed on scale-down).
2. StatefulSet controller: a pod template change is a new revision; pods not on it are deleted and
   re-created from the template (same names, new uid and podIP), highest ordinal first; missing
   pods are created, surplus ordinals removed. StatefulSet status follows.
3. kubelet: new pods start Running and Ready with fresh container statuses and no logs.
4. Server status: Ready / StatefulSetOrDeploymentReady with the operator's free-text reasons.

Then `on_pods_rolled(namespace, server_name, pods)` runs for every StatefulSet whose pods changed, so
a test can add logs or flip Model statuses. With `auto=True` reconcile also runs after every HTTP
write to a Server, a ServerConfig or a StatefulSet, and after a pod is deleted.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.seldon.operator import (
    LAST_APPLIED_ANNOTATION,
    POD_NAME_LABEL,
    REPLICA_LABEL,
    SERVER_NAME_LABEL,
    render_replica_services,
    render_statefulset,
)

from .api import WriteEvent
from .fake import FakeKube
from .resources import ResourceType

Json = dict[str, Any]
PodsRolled = Callable[[str, str, list[Json]], None]
REVISION_LABEL = "controller-revision-hash"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
READY_REASON = "StatefulSet replicas matches desired replicas"
NOT_READY_REASON = "StatefulSet replicas does not match desired replicas"
_POD_CONDITIONS = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")


def _digest(*parts: object, length: int = 64) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:length]


def revision_name(sts_name: str, template: Json) -> str:
    """`<sts>-<hash of the template>`, the shape of a ControllerRevision name."""
    return f"{sts_name}-{_digest(json.dumps(template, sort_keys=True), length=10)}"


def _is_zero(value: Any) -> bool:
    return value is None or value is False or value == ""


def covers(live: Any, desired: Any) -> bool:
    """Every field the desired object sets has that value on the live object (which may hold more,
    e.g. server defaults). Lists match position by position, or by unique `name` in any order."""
    if isinstance(desired, dict):
        return isinstance(live, dict) and all(covers(live.get(k), v) for k, v in desired.items() if not _is_zero(v))
    if isinstance(desired, list):
        if not isinstance(live, list) or len(live) != len(desired):
            return False
        if all(covers(a, b) for a, b in zip(live, desired, strict=True)):
            return True
        names = [d.get("name") for d in desired if isinstance(d, dict)]
        if len(names) != len(desired) or None in names or len(set(names)) != len(names):
            return False  # only unique names identify items regardless of order
        by_name = {item.get("name"): item for item in live if isinstance(item, dict)}
        return all(covers(by_name.get(d["name"]), d) for d in desired)
    return live == desired


def _drifted(live: Json, desired: Json) -> bool:
    applied = ((live.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED_ANNOTATION)
    return applied != desired["metadata"]["annotations"].get(LAST_APPLIED_ANNOTATION) or not covers(
        live.get("spec"), desired.get("spec")
    )


def qos_class(spec: Json) -> str:
    containers = spec.get("containers") or []
    resources = [c.get("resources") or {} for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    guaranteed = all(
        all(k in (r.get("limits") or {}) for k in ("cpu", "memory"))
        and all((r.get("requests") or {}).get(k, v) == v for k, v in (r.get("limits") or {}).items())
        for r in resources
    )
    return "Guaranteed" if guaranteed else "Burstable"


def _ready(pod: Json) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


@dataclass
class _Revision:
    template: Json
    name: str
    adopted: str  # the revision pods without a controller-revision-hash label are taken to run


class FakeSeldonOperator:
    def __init__(
        self,
        kube: FakeKube,
        *,
        operator_namespace: str = "seldon-mesh",
        auto: bool = False,
        on_pods_rolled: PodsRolled | None = None,
    ) -> None:
        self.kube, self.operator_namespace, self.on_pods_rolled = kube, operator_namespace, on_pods_rolled
        self._types = {
            n: kube.registry.resolve(n) for n in ("servers", "serverconfigs", "statefulsets", "pods", "services")
        }
        self._revisions: dict[tuple[str, str], _Revision] = {}
        self._errors: dict[tuple[str, str], str] = {}
        self._pod_numbers = itertools.count(10)
        if auto:
            kube.on_write(self._on_write)

    # --- entry points ----------------------------------------------------------------------------

    def reconcile(self, namespace: str) -> dict[str, list[Json]]:
        """One full pass over the namespace; returns the re-created pods by Server (or StatefulSet) name."""
        rolled: dict[str, list[Json]] = {}
        with self.kube.store.lock:
            self._adopt(namespace)
            for server in self._list("servers", namespace):
                self._reconcile_server(server)
            for sts in self._list("statefulsets", namespace):
                pods = self._sync_statefulset(sts)
                if pods:
                    rolled[self._owner_name(sts)] = pods
            for server in self._list("servers", namespace):
                self._update_server_status(server)
        for name, pods in rolled.items():  # outside the lock: the callback may call the API
            if self.on_pods_rolled is not None:
                self.on_pods_rolled(namespace, name, pods)
        return rolled

    def _on_write(self, event: WriteEvent) -> None:
        plural, sub = event.rt.plural, event.subresource
        if event.rt.group == "mlops.seldon.io" and plural == "serverconfigs":
            for namespace in sorted({s["metadata"]["namespace"] for s in self.kube.objects("servers")}):
                self.reconcile(namespace)
        elif (
            event.namespace
            and not sub
            and (plural in ("servers", "statefulsets") or (plural == "pods" and event.verb.startswith("delete")))
        ):
            self.reconcile(event.namespace)

    # --- helpers ---------------------------------------------------------------------------------

    def _type(self, name: str) -> ResourceType:
        return self._types[name]

    def _list(self, name: str, namespace: str, accept: Callable[[Json], bool] | None = None) -> list[Json]:
        return self.kube.store.list(self._type(name), namespace, accept)[0]

    def _set_status(self, name: str, obj: Json, status: Json) -> None:
        meta = obj["metadata"]
        self.kube.store.patch(
            self._type(name),
            meta.get("namespace"),
            meta["name"],
            lambda current: {**current, "status": status},
            subresource="status",
        )

    @staticmethod
    def _owner_name(sts: Json) -> str:
        refs = sts["metadata"].get("ownerReferences") or []
        return next((r["name"] for r in refs if r.get("kind") == "Server"), sts["metadata"]["name"])

    # --- 1. Seldon operator ----------------------------------------------------------------------

    def _reconcile_server(self, server: Json) -> None:
        meta, store = server["metadata"], self.kube.store
        key = (meta["namespace"], meta["name"])
        config_name = (server.get("spec") or {}).get("serverConfig") or ""
        config = store.find(self._type("serverconfigs"), self.operator_namespace, config_name)
        if config is None:
            self._errors[key] = f'failed to get ServerConfig: serverconfigs.mlops.seldon.io "{config_name}" not found'
            return
        self._errors.pop(key, None)
        desired = render_statefulset(server, config)
        live = store.find(self._type("statefulsets"), *key)
        if live is None:
            store.create(self._type("statefulsets"), key[0], desired)
        elif _drifted(live, desired):
            desired["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
            store.update(self._type("statefulsets"), key[0], key[1], desired)  # a full Update, like the operator
        self._sync_replica_services(server)

    def _sync_replica_services(self, server: Json) -> None:
        namespace, name = server["metadata"]["namespace"], server["metadata"]["name"]
        wanted = {svc["metadata"]["name"]: svc for svc in render_replica_services(server)}
        services = self._type("services")
        for svc_name, svc in wanted.items():
            if self.kube.store.find(services, namespace, svc_name) is None:
                self.kube.store.create(services, namespace, svc)
        for svc in self._list(
            "services", namespace, lambda o: (o["metadata"].get("labels") or {}).get(REPLICA_LABEL) == name
        ):
            if svc["metadata"]["name"] not in wanted:
                self.kube.store.delete(services, namespace, svc["metadata"]["name"])

    # --- 2. StatefulSet controller ---------------------------------------------------------------

    def _adopt(self, namespace: str) -> None:
        """Remember the template every StatefulSet runs now, so existing pods are not rolled."""
        for sts in self._list("statefulsets", namespace):
            key = (namespace, sts["metadata"]["name"])
            if key not in self._revisions:
                template = copy.deepcopy(sts["spec"]["template"])
                name = (sts.get("status") or {}).get("updateRevision") or revision_name(key[1], template)
                self._revisions[key] = _Revision(template, name, name)

    def _revision(self, sts: Json) -> str:
        key = (sts["metadata"]["namespace"], sts["metadata"]["name"])
        revision = self._revisions.setdefault(key, _Revision({}, "", ""))
        template = sts["spec"]["template"]
        if template != revision.template:
            revision.template, revision.name = copy.deepcopy(template), revision_name(key[1], template)
        return revision.name

    def _sync_statefulset(self, sts: Json) -> list[Json]:
        namespace, name = sts["metadata"]["namespace"], sts["metadata"]["name"]
        revision, adopted = self._revision(sts), self._revisions[(namespace, name)].adopted
        replicas = int(sts["spec"].get("replicas", 1))
        store, pods_type = self.kube.store, self._type("pods")
        rolled = []
        for index in reversed(range(replicas)):  # the controller updates the highest ordinal first
            pod_name = f"{name}-{index}"
            pod = store.find(pods_type, namespace, pod_name)
            if pod is not None and (pod["metadata"].get("labels") or {}).get(REVISION_LABEL, adopted) == revision:
                continue
            if pod is not None:
                store.delete(pods_type, namespace, pod_name)
            self.kube.logs.clear_pod(namespace, pod_name)
            rolled.append(store.create(pods_type, namespace, self._pod(sts, index, revision), seed=True))
        self._remove_surplus(sts, replicas)
        self._set_statefulset_status(sts, replicas, revision)
        return sorted(rolled, key=lambda p: p["metadata"]["name"])

    def _remove_surplus(self, sts: Json, replicas: int) -> None:
        namespace, name = sts["metadata"]["namespace"], sts["metadata"]["name"]
        uid = sts["metadata"].get("uid")
        for pod in self._list(
            "pods",
            namespace,
            lambda o: any(r.get("uid") == uid for r in o["metadata"].get("ownerReferences") or []),
        ):
            ordinal = pod["metadata"]["name"].removeprefix(f"{name}-")
            if ordinal.isdigit() and int(ordinal) >= replicas:
                self.kube.store.delete(self._type("pods"), namespace, pod["metadata"]["name"])

    def _set_statefulset_status(self, sts: Json, replicas: int, revision: str) -> None:
        namespace, name = sts["metadata"]["namespace"], sts["metadata"]["name"]
        pods = [
            p
            for i in range(replicas)
            if (p := self.kube.store.find(self._type("pods"), namespace, f"{name}-{i}")) is not None
        ]
        ready = sum(1 for p in pods if _ready(p))
        updated = sum(1 for p in pods if (p["metadata"].get("labels") or {}).get(REVISION_LABEL) == revision)
        current = self.kube.store.get(self._type("statefulsets"), namespace, name)
        status = {
            "observedGeneration": current["metadata"].get("generation", 1),
            "replicas": len(pods),
            "readyReplicas": ready,
            "currentReplicas": len(pods),
            "updatedReplicas": updated,
            "availableReplicas": ready,
            "currentRevision": revision,
            "updateRevision": revision,
            "collisionCount": 0,
        }
        self._set_status("statefulsets", current, status)

    # --- 3. kubelet ------------------------------------------------------------------------------

    def _pod(self, sts: Json, index: int, revision: str) -> Json:
        template, name = sts["spec"]["template"], f"{sts['metadata']['name']}-{index}"
        template_meta = template.get("metadata") or {}
        spec = copy.deepcopy(template.get("spec") or {})
        spec.update(hostname=name, subdomain=sts["spec"].get("serviceName", ""), nodeName=f"fake-node-{index % 3}")
        labels = {
            **(template_meta.get("labels") or {}),
            REVISION_LABEL: revision,
            POD_NAME_LABEL: name,
            POD_INDEX_LABEL: str(index),
        }
        owner = {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "name": sts["metadata"]["name"],
            "uid": sts["metadata"].get("uid", ""),
            "controller": True,
            "blockOwnerDeletion": True,
        }
        meta: Json = {
            "name": name,
            "namespace": sts["metadata"]["namespace"],
            "labels": labels,
            "ownerReferences": [owner],
        }
        if template_meta.get("annotations"):
            meta["annotations"] = dict(template_meta["annotations"])
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": meta,
            "spec": spec,
            "status": self._running_status(spec, index),
        }

    def _running_status(self, spec: Json, index: int) -> Json:
        number, now = next(self._pod_numbers), self.kube.store.now()
        pod_ip, host_ip = f"10.244.{number // 250}.{number % 250 + 2}", f"10.0.0.{index % 3 + 11}"

        def container(c: Json, init: bool) -> Json:
            image = c.get("image", "")
            state = (
                {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": now, "finishedAt": now}}
                if init
                else {"running": {"startedAt": now}}
            )
            return {
                "name": c.get("name"),
                "image": image,
                "imageID": f"{image.split(':')[0]}@sha256:{_digest(image)}",
                "containerID": f"containerd://{_digest(number, c.get('name'))}",
                "ready": True,
                "started": not init,
                "restartCount": 0,
                "state": state,
                "lastState": {},
            }

        status: Json = {
            "phase": "Running",
            "hostIP": host_ip,
            "hostIPs": [{"ip": host_ip}],
            "podIP": pod_ip,
            "podIPs": [{"ip": pod_ip}],
            "startTime": now,
            "qosClass": qos_class(spec),
            "conditions": [{"type": t, "status": "True", "lastTransitionTime": now} for t in _POD_CONDITIONS],
            "containerStatuses": [container(c, False) for c in spec.get("containers") or []],
        }
        if spec.get("initContainers"):
            status["initContainerStatuses"] = [container(c, True) for c in spec["initContainers"]]
        return status

    # --- 4. Server status ------------------------------------------------------------------------

    def _update_server_status(self, server: Json) -> None:
        meta = server["metadata"]
        key = (meta["namespace"], meta["name"])
        sts = self.kube.store.find(self._type("statefulsets"), *key)
        desired = int((server.get("spec") or {}).get("replicas", 1))
        ready = int(((sts or {}).get("status") or {}).get("readyReplicas") or 0)
        ok = key not in self._errors and sts is not None and ready >= desired
        reason = self._errors.get(key) or (READY_REASON if ok else NOT_READY_REASON)
        old = server.get("status") or {}
        status = {
            **old,
            "conditions": [self._condition(old, t, ok, reason) for t in ("Ready", "StatefulSetOrDeploymentReady")],
            "replicas": desired,
            "selector": f"{SERVER_NAME_LABEL}={meta['name']}",
            "observedGeneration": meta.get("generation", 1),
        }
        status.setdefault("loadedModels", 0)
        self._set_status("servers", server, status)

    def _condition(self, old_status: Json, kind: str, ok: bool, reason: str) -> Json:
        value = "True" if ok else "False"
        previous: Json = next((c for c in old_status.get("conditions") or [] if c.get("type") == kind), {})
        since = previous.get("lastTransitionTime") if previous.get("status") == value else None
        return {
            "lastTransitionTime": since or self.kube.store.now(),
            "reason": reason,
            "status": value,
            "type": kind,
        }
