"""FakeKube: a stateful fake Kubernetes API server for tests, reached over real HTTP on loopback.

with FakeKube() as kube:
    kube.seed_bundle(Path("examples/zero-capacity"))
    kube.write_kubeconfig(tmp_path / "kubeconfig", namespace="financial-ml")
    ...  # the product talks to kube.url through the real `kubernetes` client
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import kubernetes
import yaml

from .api import App, WriteEvent, WriteListener
from .authz import DEFAULT_USER, Authorizer, Rule
from .faults import Faults
from .handlers import Handlers
from .kubeconfig import kubeconfig, write_kubeconfig
from .podlogs import PodLogs
from .resources import BUILTIN_TYPES, Registry, ResourceType, default_crd_dir, load_crd_types
from .server import HttpServer, RecordedRequest
from .store import Store

Json = dict[str, Any]
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _bypass_proxies_for_loopback() -> None:
    """The kubernetes client honours HTTP(S)_PROXY; make sure loopback never goes through one."""
    for name in ("NO_PROXY", "no_proxy"):
        current = [h for h in os.environ.get(name, "").split(",") if h]
        if "127.0.0.1" not in current:
            os.environ[name] = ",".join([*current, "127.0.0.1", "localhost"])


class FakeKube:
    def __init__(
        self,
        crd_dir: Path | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        user: str = DEFAULT_USER,
    ) -> None:
        self.registry = Registry(BUILTIN_TYPES + load_crd_types(crd_dir or default_crd_dir()))
        self.store = Store(clock)
        self.logs = PodLogs()
        self.authz = Authorizer(user)
        self.faults = Faults()
        self.requests: list[RecordedRequest] = []
        self._requests_lock = threading.Lock()
        handlers = Handlers(self.store, self.logs, self.authz)
        self.app = App(self.registry, handlers, self.authz, self.faults, lambda: self.url.removeprefix("http://"))
        self._http: HttpServer | None = None

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeKube:
        if self._http is None:
            _bypass_proxies_for_loopback()
            self._http = HttpServer(self.app, self._record)
            self._http.start()
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.stop()
            self._http = None

    def __enter__(self) -> FakeKube:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._http is None:
            raise RuntimeError("FakeKube is not started")
        return self._http.url

    # --- clients ---------------------------------------------------------------------------------

    def write_kubeconfig(
        self, path: Path, *, context: str = "fake", namespace: str | None = None, token: str = "fake-token"
    ) -> Path:
        return write_kubeconfig(path, self.url, context=context, namespace=namespace, token=token)

    def api_client(self, token: str = "fake-token") -> kubernetes.client.ApiClient:
        cfg = kubernetes.client.Configuration()
        config = kubeconfig(self.url, context="fake", namespace=None, token=token)
        kubernetes.config.load_kube_config_from_dict(config, client_configuration=cfg)
        cfg.proxy = None
        return kubernetes.client.ApiClient(cfg)

    # --- state -----------------------------------------------------------------------------------

    def _type(self, api_version: str, kind: str) -> ResourceType:
        rt = self.registry.by_kind(api_version, kind)
        if rt is None:
            raise KeyError(f"fakekube serves no {kind} in {api_version}")
        return rt

    def seed(self, objects: Iterable[Json]) -> None:
        """Store objects as given (status included), like restoring etcd; missing namespaces are created."""
        for obj in objects:
            rt = self._type(obj.get("apiVersion", ""), obj.get("kind", ""))
            self.store.create(rt, (obj.get("metadata") or {}).get("namespace"), obj, seed=True)

    def seed_bundle(self, bundle_dir: Path) -> None:
        """Every objects/<kind>.yaml list and every logs/<pod>/<container>[.previous].log of a bundle."""
        files = sorted((bundle_dir / "objects").glob("*.yaml"), key=lambda p: (p.stem != "namespaces", p.stem))
        for file in files:
            self.seed(yaml.load(file.read_text(encoding="utf-8"), Loader=_LOADER) or [])
        manifest_file = bundle_dir / "manifest.yaml"
        manifest = yaml.safe_load(manifest_file.read_text(encoding="utf-8")) if manifest_file.is_file() else {}
        for log in sorted((bundle_dir / "logs").glob("*/*.log")):
            stem = log.name.removesuffix(".log")
            container, previous = stem.removesuffix(".previous"), stem.endswith(".previous")
            namespace = self._pod_namespace(log.parent.name, (manifest or {}).get("namespace"))
            self.set_log(
                namespace,
                log.parent.name,
                container,
                log.read_text(encoding="utf-8", errors="replace").splitlines(),
                previous,
            )

    def _pod_namespace(self, pod: str, preferred: str | None) -> str:
        namespaces = [p["metadata"]["namespace"] for p in self.objects("pods") if p["metadata"]["name"] == pod]
        if preferred and (preferred in namespaces or not namespaces):
            return preferred
        return namespaces[0] if namespaces else "default"

    def set_log(self, namespace: str, pod: str, container: str, lines: list[str], previous: bool = False) -> None:
        self.logs.set(namespace, pod, container, lines, previous)

    def get_object(self, api_version: str, kind: str, namespace: str | None, name: str) -> Json | None:
        return self.store.find(self._type(api_version, kind), namespace, name)

    def objects(self, kind: str) -> list[Json]:
        """All objects of a kind (`pods`, `Pod`, `po`, `servers.mlops.seldon.io`) in every namespace."""
        return self.store.list(self.registry.resolve(kind), None)[0]

    def set_status(self, api_version: str, kind: str, namespace: str | None, name: str, status: Json) -> Json:
        """Replace an object's status as its controller would (a write, but not through HTTP)."""
        return self.store.patch(
            self._type(api_version, kind),
            namespace,
            name,
            lambda obj: {**obj, "status": status},
            subresource="status",
        )

    def on_write(self, listener: Callable[[WriteEvent], None]) -> None:
        """Call `listener` after every committed write made through HTTP."""
        self.app.listeners.append(listener)

    # --- authorization ---------------------------------------------------------------------------

    def allow_all(self) -> None:
        self.authz.reset(default_allow=True)

    def deny_all(self) -> None:
        """Least privilege: only what `allow` grants (and no `deny` takes back) is permitted."""
        self.authz.reset(default_allow=False)

    def allow(self, verb: str, resource: str, *, group: str = "", namespace: str | None = None,
              subresource: str = "") -> None:
        self.authz.add(Rule(verb, resource, group, namespace, subresource), allow=True)

    def deny(self, verb: str, resource: str, *, group: str = "", namespace: str | None = None,
             subresource: str = "") -> None:
        self.authz.add(Rule(verb, resource, group, namespace, subresource), allow=False)

    # --- faults ----------------------------------------------------------------------------------

    def add_fault(
        self,
        path: str,
        *,
        method: str | None = None,
        status: int | None = None,
        latency: float = 0.0,
        reset: bool = False,
        times: int | None = None,
    ) -> None:
        self.faults.add(path, method=method, status=status, latency=latency, reset=reset, times=times)

    def set_latency(self, seconds: float) -> None:
        self.faults.latency = seconds

    def clear_faults(self) -> None:
        self.faults.clear()

    # --- request accounting ----------------------------------------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._requests_lock:
            self.requests.append(request)

    def request_count(self, method: str | None = None, path_contains: str | None = None) -> int:
        with self._requests_lock:
            return sum(
                1
                for r in self.requests
                if (method is None or r.method == method.upper()) and (path_contains is None or path_contains in r.path)
            )

    def reset_requests(self) -> None:
        with self._requests_lock:
            self.requests.clear()


__all__ = ["FakeKube", "WriteListener"]
