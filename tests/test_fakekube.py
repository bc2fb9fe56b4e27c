"""The fake API server, exercised only through the real `kubernetes` client over HTTP."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3
import yaml
from fakekube import FakeKube, FakeSeldonOperator
from fakekube.patch import PatchError, json_patch, merge_patch
from fixtures_seldon import OPERATOR_NS, TENANT, server, serverconfig
from kubernetes import client, config, dynamic
from kubernetes.client.exceptions import ApiException

ZERO = Path(__file__).resolve().parents[1] / "examples" / "zero-capacity"
NS = "risk-ml"
GROUP, VERSION = "mlops.seldon.io", "v1alpha1"
USER = "system:serviceaccount:seldon-mesh:seldon-chatops"
MERGE = "application/merge-patch+json"
Json = dict[str, Any]


def pod(name: str, labels: dict[str, str], containers: tuple[str, ...] = ("main",), ns: str = NS) -> Json:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"containers": [{"name": c, "image": f"img/{c}:1"} for c in containers]},
        "status": {"phase": "Running"},
    }


class Clients:
    def __init__(self, api: client.ApiClient) -> None:
        self.core, self.apps = client.CoreV1Api(api), client.AppsV1Api(api)
        self.custom, self.net = client.CustomObjectsApi(api), client.NetworkingV1Api(api)
        self.discovery, self.authz = client.DiscoveryV1Api(api), client.AuthorizationV1Api(api)
        self.coordination = client.CoordinationV1Api(api)

    def server(self, name: str = "mlserver", ns: str = TENANT) -> Json:
        return self.custom.get_namespaced_custom_object(GROUP, VERSION, ns, "servers", name)

    def patch_server(self, body: Any, name: str = "mlserver", **kw: Any) -> Json:
        return self.custom.patch_namespaced_custom_object(GROUP, VERSION, TENANT, "servers", name, body, **kw)


@pytest.fixture
def kube() -> Iterator[FakeKube]:
    with FakeKube() as fake:
        fake.seed(
            [
                pod("api-0", {"app": "api", "tier": "web"}),
                pod("api-1", {"app": "api", "tier": "web"}),
                pod("db-0", {"app": "db", "tier": "db"}),
                pod("batch-0", {"app": "batch"}, ns="other"),
                serverconfig(),
                server(replicas=2),
            ]
        )
        yield fake


@pytest.fixture
def k8s(kube: FakeKube, tmp_path: Path) -> Clients:
    cfg = client.Configuration()
    config.load_kube_config(
        config_file=str(kube.write_kubeconfig(tmp_path / "kubeconfig", namespace=NS)),
        client_configuration=cfg,
    )
    return Clients(client.ApiClient(cfg))


def failure(call: Callable[[], Any]) -> tuple[int, Json]:
    with pytest.raises(ApiException) as info:
        call()
    return info.value.status, json.loads(info.value.body)


# --- discovery and reads ---------------------------------------------------------------------------


def test_discovery_lists_seldon_kinds_and_subresources(k8s: Clients) -> None:
    groups = {g.name: g for g in client.ApisApi(k8s.core.api_client).get_api_versions().groups}
    assert groups[GROUP].preferred_version.group_version == "mlops.seldon.io/v1alpha1"
    seldon = {r.name: r for r in k8s.custom.get_api_resources(GROUP, VERSION).resources}
    assert {"servers", "serverconfigs", "models", "pipelines", "experiments", "seldonruntimes"} <= set(seldon)
    assert (seldon["servers"].kind, seldon["servers"].namespaced, seldon["servers"].short_names) == (
        "Server",
        True,
        ["mls"],
    )
    assert seldon["servers/status"].verbs == ["get", "patch", "update"]
    core = {r.name: r for r in k8s.core.get_api_resources().resources}
    assert core["pods/log"].verbs == ["get"] and core["namespaces"].namespaced is False
    assert "statefulsets/status" in {r.name for r in k8s.apps.get_api_resources().resources}
    assert client.VersionApi(k8s.core.api_client).get_code().git_version.startswith("v1.")


def test_list_with_label_and_field_selectors(k8s: Clients) -> None:
    def names(result: Any) -> list[str]:
        return [p.metadata.name for p in result.items]

    assert names(k8s.core.list_namespaced_pod(NS, label_selector="app in (api,db),tier!=db")) == [
        "api-0",
        "api-1",
    ]
    assert names(k8s.core.list_namespaced_pod(NS, label_selector="app=api", field_selector="metadata.name=api-1")) == [
        "api-1"
    ]
    assert names(k8s.core.list_pod_for_all_namespaces(label_selector="!tier")) == ["batch-0"]
    assert names(k8s.core.list_pod_for_all_namespaces(field_selector="metadata.namespace!=risk-ml")) == ["batch-0"]
    listed = k8s.core.list_namespaced_pod(NS, label_selector="tier", limit=1)  # limit is ignored
    assert len(listed.items) == 3 and int(listed.metadata.resource_version) > 0
    assert listed.items[0].kind is None  # built-in list items carry no apiVersion/kind, as on a real server
    servers = k8s.custom.list_namespaced_custom_object(
        GROUP, VERSION, TENANT, "servers", field_selector="metadata.name=mlserver"
    )
    assert servers["kind"] == "ServerList" and servers["items"][0]["kind"] == "Server"
    code, body = failure(lambda: k8s.core.list_namespaced_pod(NS, field_selector="spec.foo=x"))
    assert (code, body["message"]) == (400, "field label not supported: spec.foo")
    svc_label = {"kubernetes.io/service-name": "api"}
    k8s.discovery.create_namespaced_endpoint_slice(
        NS, {"metadata": {"name": "api-x", "labels": svc_label}, "addressType": "IPv4", "endpoints": []}
    )
    slices = k8s.discovery.list_namespaced_endpoint_slice(NS, label_selector="kubernetes.io/service-name=api")
    assert [s.metadata.name for s in slices.items] == ["api-x"]


def test_get_missing_object_is_404_with_status_body(k8s: Clients) -> None:
    code, body = failure(lambda: k8s.core.read_namespaced_pod("nope", NS))
    assert code == 404
    assert body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'pods "nope" not found',
        "reason": "NotFound",
        "details": {"name": "nope", "kind": "pods"},
        "code": 404,
    }
    code, body = failure(lambda: k8s.server("nope"))
    assert body["message"] == 'servers.mlops.seldon.io "nope" not found' and body["details"]["group"] == GROUP


# Minimal valid bodies of every kind the fake serves (custom resources need their schema's required fields).
KIND_BODIES: list[tuple[str, str, Json]] = [
    ("v1", "Namespace", {}),
    ("v1", "Pod", {"spec": {"containers": [{"name": "c", "image": "i"}]}}),
    ("v1", "Service", {"spec": {"ports": [{"port": 80}]}}),
    ("v1", "ConfigMap", {"data": {"k": "v"}}),
    ("v1", "Secret", {"type": "Opaque"}),
    ("v1", "ServiceAccount", {}),
    ("v1", "Event", {"involvedObject": {"kind": "Pod", "name": "x"}, "reason": "Test"}),
    ("v1", "LimitRange", {"spec": {"limits": []}}),
    ("apps/v1", "StatefulSet", {"spec": {"serviceName": "x", "selector": {"matchLabels": {"a": "b"}}}}),
    ("apps/v1", "Deployment", {"spec": {"selector": {"matchLabels": {"a": "b"}}}}),
    ("discovery.k8s.io/v1", "EndpointSlice", {"addressType": "IPv4", "endpoints": []}),
    ("networking.k8s.io/v1", "NetworkPolicy", {"spec": {"podSelector": {}}}),
    ("rbac.authorization.k8s.io/v1", "Role", {"rules": []}),
    ("rbac.authorization.k8s.io/v1", "RoleBinding", {"roleRef": {"kind": "Role", "name": "r"}}),
    ("coordination.k8s.io/v1", "Lease", {"spec": {"holderIdentity": "a"}}),
    (f"{GROUP}/{VERSION}", "Model", {"spec": {"storageUri": "gs://m"}}),
    (f"{GROUP}/{VERSION}", "Server", {"spec": {"serverConfig": "mlserver"}}),
    (f"{GROUP}/{VERSION}", "ServerConfig", {"spec": {"podSpec": {"containers": []}}}),
    (f"{GROUP}/{VERSION}", "Pipeline", {"spec": {"steps": [{"name": "m"}]}}),
    (f"{GROUP}/{VERSION}", "Experiment", {"spec": {"candidates": [{"name": "m", "weight": 1}]}}),
    (f"{GROUP}/{VERSION}", "SeldonRuntime", {"spec": {"seldonConfig": "default"}}),
    (f"{GROUP}/{VERSION}", "SeldonConfig", {"spec": {}}),
]


def test_dynamic_client_round_trips_every_kind(kube: FakeKube, tmp_path: Path) -> None:
    """The DynamicClient resolves kinds from our discovery documents, then creates, reads, lists, deletes."""
    dyn = dynamic.DynamicClient(kube.api_client(), cache_file=str(tmp_path / "discovery.json"))
    for api_version, kind, body in KIND_BODIES:
        resource = dyn.resources.get(api_version=api_version, kind=kind)
        namespace = NS if resource.namespaced else None
        name = f"t-{kind.lower()}"
        created = resource.create(body={"metadata": {"name": name}, **body}, namespace=namespace)
        assert (created.kind, created.metadata.name, created.metadata.uid) == (
            kind,
            name,
            created.metadata.uid,
        )
        assert resource.get(name=name, namespace=namespace).metadata.resourceVersion
        assert name in [i.metadata.name for i in resource.get(namespace=namespace).items]
        assert name in [i.metadata.name for i in resource.get().items]  # all namespaces
        resource.delete(name=name, namespace=namespace)
        with pytest.raises(dynamic.exceptions.NotFoundError):
            resource.get(name=name, namespace=namespace)


@pytest.mark.parametrize(
    ("status", "reason", "message"),
    [
        (401, "Unauthorized", "Unauthorized"),
        (
            403,
            "Forbidden",
            f'pods "api-0" is forbidden: User "{USER}" cannot get resource "pods" in API group "" in '
            'the namespace "risk-ml"',
        ),
        (404, "NotFound", 'pods "api-0" not found'),
        (
            409,
            "Conflict",
            'Operation cannot be fulfilled on pods "api-0": the object has been modified; please apply '
            "your changes to the latest version and try again",
        ),
        (
            422,
            "Invalid",
            'Pod "api-0" is invalid: metadata.name: Invalid value: "api-0": injected by fakekube',
        ),
        (500, "InternalError", "Internal error occurred: fakekube: injected fault"),
    ],
)
def test_injected_statuses_read_like_the_apiserver(
    k8s: Clients, kube: FakeKube, status: int, reason: str, message: str
) -> None:
    kube.add_fault(r"/pods/api-0$", status=status, times=1)
    code, body = failure(lambda: k8s.core.read_namespaced_pod("api-0", NS))
    assert (code, body["reason"], body["message"]) == (status, reason, message)
    assert k8s.core.read_namespaced_pod("api-0", NS).metadata.name == "api-0"


# RFC 7386 appendix A: (target, patch, result).
RFC7386 = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "result"), RFC7386)
def test_merge_patch_follows_rfc_7386(target: Any, patch: Any, result: Any) -> None:
    assert merge_patch(target, patch) == result


def test_json_patch_follows_rfc_6902() -> None:
    doc = {"foo": ["bar", "baz"], "a/b": 1, "m~n": 2}
    assert json_patch(doc, [{"op": "add", "path": "/foo/1", "value": "qux"}])["foo"] == ["bar", "qux", "baz"]
    assert json_patch(doc, [{"op": "remove", "path": "/a~1b"}, {"op": "test", "path": "/m~0n", "value": 2}]) == {
        "foo": ["bar", "baz"],
        "m~n": 2,
    }
    assert json_patch(doc, [{"op": "move", "from": "/foo/0", "path": "/foo/-"}])["foo"] == ["baz", "bar"]
    assert json_patch(doc, [{"op": "replace", "path": "", "value": [1]}]) == [1]
    for bad in (
        {"op": "test", "path": "/a~1b", "value": True},  # JSON: true is not 1
        {"op": "remove", "path": "/missing"},
        {"op": "add", "path": "/foo/3", "value": 0},
        {"op": "move", "from": "/foo", "path": "/foo/0"},
        {"op": "frobnicate", "path": "/foo"},
    ):
        with pytest.raises(PatchError):
            json_patch(doc, [bad])
    assert doc == {"foo": ["bar", "baz"], "a/b": 1, "m~n": 2}  # never mutated


# --- writes ----------------------------------------------------------------------------------------


def test_merge_patch_replaces_pod_spec_containers_wholesale(k8s: Clients) -> None:
    k8s.patch_server(
        {"spec": {"podSpec": {"containers": [{"name": "agent", "image": "a:1"}, {"name": "mlserver", "image": "m:1"}]}}}
    )
    before = k8s.server()
    patched = k8s.patch_server(
        {"spec": {"podSpec": {"containers": [{"name": "mlserver", "image": "m:2"}]}, "minReplicas": None}}
    )
    assert patched["spec"]["podSpec"]["containers"] == [{"name": "mlserver", "image": "m:2"}]
    assert "minReplicas" not in patched["spec"]  # null deletes
    assert patched["metadata"]["generation"] == before["metadata"]["generation"] + 1
    assert int(patched["metadata"]["resourceVersion"]) > int(before["metadata"]["resourceVersion"])


def test_json_patch_ops_and_failed_test_is_422(k8s: Clients, kube: FakeKube) -> None:
    ops = [
        {"op": "add", "path": "/spec/capabilities", "value": ["sklearn"]},
        {"op": "add", "path": "/spec/capabilities/-", "value": "xgboost"},
        {"op": "copy", "from": "/spec/replicas", "path": "/spec/maxReplicas"},
        {"op": "move", "from": "/spec/minReplicas", "path": "/spec/scalingSpec"},
        {"op": "remove", "path": "/spec/scalingSpec"},
        {"op": "test", "path": "/spec/replicas", "value": 2},
    ]
    spec = k8s.patch_server(ops, _content_type="application/json-patch+json")["spec"]
    assert (spec["capabilities"], spec["maxReplicas"], "minReplicas" in spec) == (
        ["sklearn", "xgboost"],
        2,
        False,
    )
    rv = k8s.server()["metadata"]["resourceVersion"]
    # patch.go answers a JSON patch that does not apply with NewGenericServerResponse(422): reason Invalid
    # and a generic message, not 409 (that is for resourceVersion conflicts).
    failing = [
        {"op": "replace", "path": "/spec/replicas", "value": 5},
        {"op": "test", "path": "/spec/replicas", "value": 3},
    ]
    code, body = failure(lambda: k8s.patch_server(failing, _content_type="application/json-patch+json"))
    assert (code, body) == (422, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "the server rejected our request due to an error in our request",
        "reason": "Invalid", "details": {}, "code": 422,
    })  # fmt: skip
    assert k8s.server()["metadata"]["resourceVersion"] == rv and k8s.server()["spec"]["replicas"] == 2


def test_strategic_merge_is_415_on_custom_resources_and_merges_by_name_on_built_ins(k8s: Clients) -> None:
    code, body = failure(
        lambda: k8s.patch_server({"spec": {"replicas": 3}}, _content_type="application/strategic-merge-patch+json")
    )
    assert (code, body["reason"]) == (415, "UnsupportedMediaType")
    assert "application/json-patch+json, application/merge-patch+json" in body["message"]
    containers = [
        {"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}]},
        {"name": "b", "image": "b:1"},
    ]
    k8s.apps.create_namespaced_stateful_set(
        NS,
        {
            "metadata": {"name": "web"},
            "spec": {
                "selector": {"matchLabels": {"app": "web"}},
                "serviceName": "web",
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": containers}},
            },
        },
    )
    # The client sends a dict body to a built-in kind as a strategic merge patch: containers and env
    # merge on their name instead of being replaced.
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "a", "env": [{"name": "Y", "value": "2"}]}]}}}}
    sts = k8s.apps.patch_namespaced_stateful_set("web", NS, patch)
    assert [(c.name, [e.name for e in c.env or []]) for c in sts.spec.template.spec.containers] == [
        ("a", ["X", "Y"]),
        ("b", []),
    ]
    assert sts.metadata.generation == 2
    sts = k8s.apps.patch_namespaced_stateful_set("web", NS, patch, _content_type=MERGE)
    assert [c.name for c in sts.spec.template.spec.containers] == ["a"]


def test_put_with_stale_resource_version_is_409_conflict(k8s: Clients) -> None:
    stale = k8s.server()
    k8s.patch_server({"metadata": {"labels": {"team": "risk"}}})
    stale["spec"]["replicas"] = 3
    code, body = failure(
        lambda: k8s.custom.replace_namespaced_custom_object(GROUP, VERSION, TENANT, "servers", "mlserver", stale)
    )
    assert (code, body["reason"]) == (409, "Conflict")
    assert body["message"] == (
        'Operation cannot be fulfilled on servers.mlops.seldon.io "mlserver": the object '
        "has been modified; please apply your changes to the latest version and try again"
    )
    code, body = failure(lambda: k8s.patch_server({"metadata": {"resourceVersion": "1"}, "spec": {"replicas": 3}}))
    assert (code, body["reason"]) == (409, "Conflict")
    del stale["metadata"]["resourceVersion"]  # custom resources refuse unconditional updates
    code, body = failure(
        lambda: k8s.custom.replace_namespaced_custom_object(GROUP, VERSION, TENANT, "servers", "mlserver", stale)
    )
    assert (code, body["message"]) == (
        422,
        'servers.mlops.seldon.io "mlserver" is invalid: metadata.resourceVersion: '
        "Invalid value: 0x0: must be specified for an update",
    )


def test_dry_run_all_changes_nothing(k8s: Clients, kube: FakeKube) -> None:
    rv = kube.store.resource_version
    cm = {"metadata": {"name": "cfg"}, "data": {"a": "1"}}
    created = k8s.core.create_namespaced_config_map(NS, cm, dry_run="All")
    assert created.metadata.uid and created.metadata.resource_version is None
    assert failure(lambda: k8s.core.read_namespaced_config_map("cfg", NS))[0] == 404
    assert k8s.patch_server({"spec": {"replicas": 5}}, dry_run="All")["spec"]["replicas"] == 5
    k8s.core.delete_namespaced_pod("api-0", NS, dry_run="All")
    replaced = k8s.server()
    replaced["spec"]["replicas"] = 4
    k8s.custom.replace_namespaced_custom_object(GROUP, VERSION, TENANT, "servers", "mlserver", replaced, dry_run="All")
    assert k8s.server()["spec"]["replicas"] == 2 and k8s.core.read_namespaced_pod("api-0", NS)
    assert kube.store.resource_version == rv


def test_status_subresource_and_generation_bookkeeping(k8s: Clients) -> None:
    start = k8s.server()
    labelled = k8s.patch_server({"metadata": {"labels": {"a": "b"}}, "status": {"loadedModels": 9}})
    assert labelled["metadata"]["generation"] == start["metadata"]["generation"]  # metadata is not spec
    assert "loadedModels" not in labelled.get("status", {})  # status ignored on the main resource
    code, body = failure(
        lambda: k8s.custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, TENANT, "servers", "mlserver", {"status": {"loadedModels": 3}}
        )
    )
    assert code == 422 and "status.replicas: Required value" in body["message"]  # the CRD schema requires it
    status = k8s.custom.patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        TENANT,
        "servers",
        "mlserver",
        {
            "spec": {"replicas": 7},
            "status": {"loadedModels": 3, "replicas": 2, "selector": "seldon-server-name=x"},
        },
    )
    assert (status["status"]["loadedModels"], status["spec"]["replicas"]) == (3, 2)  # spec ignored on /status
    assert status["metadata"]["generation"] == start["metadata"]["generation"]
    rvs = [int(o["metadata"]["resourceVersion"]) for o in (start, labelled, status)]
    assert rvs == sorted(set(rvs))
    unchanged = k8s.patch_server({"metadata": {"labels": {"a": "b"}}})  # a no-op write keeps resourceVersion
    assert unchanged["metadata"]["resourceVersion"] == status["metadata"]["resourceVersion"]


def test_create_conflict_validation_and_pruning(k8s: Clients) -> None:
    body = {"metadata": {"name": "p"}, "spec": {"podSelector": {}}}
    k8s.net.create_namespaced_network_policy(NS, body)
    code, reply = failure(lambda: k8s.net.create_namespaced_network_policy(NS, body))
    assert (code, reply["reason"], reply["message"]) == (
        409,
        "AlreadyExists",
        'networkpolicies.networking.k8s.io "p" already exists',
    )
    code, reply = failure(lambda: k8s.core.create_namespaced_config_map("missing", {"metadata": {"name": "c"}}))
    assert (code, reply["message"]) == (404, 'namespaces "missing" not found')
    code, reply = failure(lambda: k8s.core.create_namespaced_config_map(NS, {"metadata": {"name": "Bad_Name"}}))
    assert (code, reply["reason"]) == (422, "Invalid") and reply["message"].startswith('ConfigMap "Bad_Name" is')
    model = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Model",
        "metadata": {"name": "m"},
        "spec": {"storageUri": "gs://m", "requirements": ["sklearn"], "typo": 1},
    }
    created = k8s.custom.create_namespaced_custom_object(GROUP, VERSION, TENANT, "models", model)
    assert "typo" not in created["spec"] and created["metadata"]["generation"] == 1  # pruned, like the apiserver
    model["metadata"]["name"] = "strict"
    code, reply = failure(
        lambda: k8s.custom.create_namespaced_custom_object(
            GROUP, VERSION, TENANT, "models", model, field_validation="Strict"
        )
    )
    assert (code, reply["message"]) == (400, 'strict decoding error: unknown field "spec.typo"')


def test_delete_returns_object_or_status_and_collects_garbage(k8s: Clients, kube: FakeKube) -> None:
    k8s.core.create_namespaced_config_map(NS, {"metadata": {"name": "cfg"}})
    status = k8s.core.delete_namespaced_config_map("cfg", NS)
    assert (status["kind"], status["status"], status["details"]["name"], status["details"]["kind"]) == (
        "Status",
        "Success",
        "cfg",
        "configmaps",
    )
    FakeSeldonOperator(kube).reconcile(TENANT)
    assert kube.objects("pods") and kube.get_object("apps/v1", "StatefulSet", TENANT, "mlserver")
    deleted = k8s.custom.delete_namespaced_custom_object(GROUP, VERSION, TENANT, "servers", "mlserver")
    assert deleted["kind"] == "Server"
    assert kube.get_object("apps/v1", "StatefulSet", TENANT, "mlserver") is None  # owned -> collected
    assert not [p for p in kube.objects("pods") if p["metadata"]["namespace"] == TENANT]
    assert failure(lambda: k8s.core.delete_namespaced_config_map("cfg", NS))[0] == 404


# --- logs ------------------------------------------------------------------------------------------


def test_pod_logs_container_tail_previous(k8s: Clients, kube: FakeKube) -> None:
    kube.seed([pod("mlserver-0", {}, ("rclone", "agent", "mlserver"))])
    kube.set_log(NS, "mlserver-0", "agent", [f"line {i}" for i in range(5)])
    kube.set_log(NS, "mlserver-0", "agent", ["crashed"], previous=True)
    read = k8s.core.read_namespaced_pod_log
    code, body = failure(lambda: read("mlserver-0", NS))
    assert (code, body["reason"], body["message"]) == (
        400,
        "BadRequest",
        "a container name must be specified for pod mlserver-0, choose one of: [rclone agent mlserver]",
    )
    assert read("mlserver-0", NS, container="agent", tail_lines=2) == "line 3\nline 4\n"
    assert read("mlserver-0", NS, container="agent", previous=True) == "crashed\n"
    assert read("mlserver-0", NS, container="agent", limit_bytes=8) == "line 0\nl"
    assert read("api-0", NS) == ""  # a single container is implied
    code, body = failure(lambda: read("mlserver-0", NS, container="mlserver", previous=True))
    assert body["message"] == 'previous terminated container "mlserver" in pod "mlserver-0" not found'


# --- authorization ---------------------------------------------------------------------------------


def review(k8s: Clients, verb: str, resource: str, namespace: str, group: str = "") -> Json:
    body = {
        "spec": {"resourceAttributes": {"verb": verb, "resource": resource, "group": group, "namespace": namespace}}
    }
    return k8s.authz.create_self_subject_access_review(body).status.to_dict()


def test_access_review_and_denied_list_share_one_rule_set(k8s: Clients, kube: FakeKube) -> None:
    assert review(k8s, "list", "pods", NS)["allowed"] is True
    kube.deny("list", "pods", namespace=NS)
    kube.deny("list", "networkpolicies", group="networking.k8s.io")
    assert review(k8s, "list", "pods", NS)["allowed"] is False
    assert review(k8s, "get", "pods", NS)["allowed"] is True
    assert review(k8s, "list", "networkpolicies", "other", group="networking.k8s.io")["allowed"] is False
    code, body = failure(lambda: k8s.core.list_namespaced_pod(NS))
    assert (code, body["reason"], body["details"]) == (403, "Forbidden", {"kind": "pods"})
    assert body["message"] == (
        f'pods is forbidden: User "{USER}" cannot list resource "pods" in API group "" in the namespace "risk-ml"'
    )
    code, body = failure(lambda: k8s.core.list_pod_for_all_namespaces())
    assert body["message"].endswith('cannot list resource "pods" in API group "" at the cluster scope')
    assert k8s.core.list_namespaced_pod("other").items
    kube.deny_all()
    kube.allow("get", "pods", namespace=NS, subresource="log")
    assert review(k8s, "get", "pods", NS)["allowed"] is False
    assert k8s.core.read_namespaced_pod_log("api-0", NS) == ""
    kube.allow_all()
    assert k8s.core.list_namespaced_pod(NS).items


def test_unauthenticated_requests_get_401(kube: FakeKube) -> None:
    response = urllib3.PoolManager().request("GET", f"{kube.url}/api/v1/namespaces/{NS}/pods")
    assert response.status == 401 and json.loads(response.data)["reason"] == "Unauthorized"
    unknown = urllib3.PoolManager().request(
        "GET", f"{kube.url}/apis/nope/v1/things", headers={"Authorization": "Bearer x"}
    )
    assert unknown.status == 404 and json.loads(unknown.data)["kind"] == "Status"


# --- faults and accounting -------------------------------------------------------------------------


def test_fault_429_then_success(k8s: Clients, kube: FakeKube) -> None:
    kube.add_fault(r"/configmaps$", method="POST", status=429, times=1)
    with pytest.raises(ApiException) as info:
        k8s.core.create_namespaced_config_map(NS, {"metadata": {"name": "c"}})
    assert info.value.status == 429 and info.value.headers["Retry-After"] == "1"
    assert k8s.core.create_namespaced_config_map(NS, {"metadata": {"name": "c"}}).metadata.uid
    # urllib3's default Retry honours Retry-After on 429 for idempotent methods: a GET is retried
    # after one second without the caller noticing.
    kube.add_fault(r"/namespaces/risk-ml/pods$", method="GET", status=429, times=1)
    assert len(k8s.core.list_namespaced_pod(NS).items) == 3
    assert [r.status for r in kube.requests if r.path.endswith("/pods")][-2:] == [429, 200]


def test_fault_reset_raises_a_urllib3_error(k8s: Clients, kube: FakeKube) -> None:
    kube.add_fault(r"/pods$", reset=True)
    with pytest.raises(urllib3.exceptions.HTTPError):
        k8s.core.list_namespaced_pod(NS)
    resets = [r for r in kube.requests if r.status is None]
    assert len(resets) == 4  # urllib3's default Retry(3) retries an idempotent GET three times
    kube.clear_faults()
    assert k8s.core.list_namespaced_pod(NS).items


def test_latency_is_measurable(k8s: Clients, kube: FakeKube) -> None:
    kube.set_latency(0.05)
    kube.add_fault(r"/pods/api-0$", latency=0.1, times=1)
    started = time.perf_counter()
    k8s.core.read_namespaced_pod("api-0", NS)
    assert time.perf_counter() - started >= 0.15
    kube.set_latency(0)
    started = time.perf_counter()
    k8s.core.read_namespaced_pod("api-0", NS)
    assert time.perf_counter() - started < 0.1


def test_request_counting_under_concurrency(k8s: Clients, kube: FakeKube) -> None:
    kube.reset_requests()
    threads = [threading.Thread(target=k8s.core.list_namespaced_pod, args=(NS,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    k8s.patch_server({"metadata": {"labels": {"x": "y"}}})
    assert kube.request_count("GET", "/pods") == 8 and kube.request_count("PATCH") == 1
    last = kube.requests[-1]
    assert (last.method, last.content_type, last.status) == ("PATCH", MERGE, 200)
    kube.reset_requests()
    assert kube.request_count() == 0


# --- leases ----------------------------------------------------------------------------------------


def test_lease_create_update_conflict(k8s: Clients) -> None:
    api = k8s.coordination
    lease = {
        "metadata": {"name": "seldon-chatops"},
        "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15},
    }
    created = api.create_namespaced_lease(NS, lease)
    assert failure(lambda: api.create_namespaced_lease(NS, lease))[1]["reason"] == "AlreadyExists"
    created.spec.holder_identity = "b"
    renewed = api.replace_namespaced_lease("seldon-chatops", NS, created)
    assert renewed.spec.holder_identity == "b"
    created.spec.holder_identity = "c"  # still carries the old resourceVersion
    code, body = failure(lambda: api.replace_namespaced_lease("seldon-chatops", NS, created))
    assert (code, body["message"]) == (
        409,
        "Operation cannot be fulfilled on leases.coordination.k8s.io "
        '"seldon-chatops": the object has been modified; please apply your changes '
        "to the latest version and try again",
    )
    patched = api.patch_namespaced_lease("seldon-chatops", NS, {"spec": {"leaseTransitions": 1}}, _content_type=MERGE)
    assert (patched.spec.holder_identity, patched.spec.lease_transitions) == ("b", 1)
    patched.metadata.resource_version = None  # leases refuse unconditional updates
    assert failure(lambda: api.replace_namespaced_lease("seldon-chatops", NS, patched))[0] == 422
    fresh = {"metadata": {"name": "other"}, "spec": {"holderIdentity": "z"}}
    assert api.replace_namespaced_lease("other", NS, fresh).metadata.uid  # PUT creates a missing Lease
    assert api.read_namespaced_lease("other", NS).spec.holder_identity == "z"


# --- bundles and the operator hook -----------------------------------------------------------------


def test_seeded_tenant_serves_objects_and_logs_and_a_quiet_reconcile(kube: FakeKube, k8s: Clients) -> None:
    if ZERO.is_dir():
        kube.seed_bundle(ZERO)
        namespace = yaml.safe_load((ZERO / "manifest.yaml").read_text())["namespace"]
    else:
        namespace = TENANT
        FakeSeldonOperator(kube).reconcile(namespace)
        kube.set_log(namespace, "mlserver-0", "agent", ["started"])
    pods = {p.metadata.name: p.metadata.uid for p in k8s.core.list_namespaced_pod(namespace).items}
    assert "mlserver-0" in pods and k8s.server(ns=namespace)["spec"]["serverConfig"]
    assert k8s.core.read_namespaced_pod_log("mlserver-0", namespace, container="agent")
    rv = kube.store.resource_version
    assert FakeSeldonOperator(kube).reconcile(namespace) == {}  # the seeded state is adopted, not rolled
    assert kube.store.resource_version == rv
    assert {p.metadata.name: p.metadata.uid for p in k8s.core.list_namespaced_pod(namespace).items} == pods


def _rolled_recorder(kube: FakeKube) -> tuple[FakeSeldonOperator, list[tuple[str, str, list[str]]]]:
    calls: list[tuple[str, str, list[str]]] = []

    def rolled(namespace: str, server_name: str, pods: list[Json]) -> None:
        calls.append((namespace, server_name, [p["metadata"]["name"] for p in pods]))
        for p in pods:
            kube.set_log(namespace, p["metadata"]["name"], "agent", ["Subscribed to scheduler"])

    return FakeSeldonOperator(kube, operator_namespace=OPERATOR_NS, auto=True, on_pods_rolled=rolled), calls


def _pods(k8s: Clients) -> dict[str, tuple[str, str]]:
    listed = k8s.core.list_namespaced_pod(TENANT, label_selector="seldon-server-name=mlserver").items
    return {p.metadata.name: (p.metadata.uid, p.status.pod_ip) for p in listed}


def test_operator_rolls_pods_after_a_server_pod_spec_change(kube: FakeKube, k8s: Clients) -> None:
    operator, calls = _rolled_recorder(kube)
    operator.reconcile(TENANT)
    before, sts = _pods(k8s), k8s.apps.read_namespaced_stateful_set("mlserver", TENANT)
    assert sorted(before) == ["mlserver-0", "mlserver-1"] and sts.status.ready_replicas == 2
    k8s.patch_server(
        {"spec": {"podSpec": {"containers": [{"name": "mlserver", "resources": {"requests": {"memory": "2Gi"}}}]}}}
    )  # auto: the write triggers the reconcile
    after, rolled = _pods(k8s), k8s.apps.read_namespaced_stateful_set("mlserver", TENANT)
    assert all(after[n][0] != before[n][0] and after[n][1] != before[n][1] for n in before)
    assert rolled.metadata.generation == sts.metadata.generation + 1
    assert rolled.status.update_revision != sts.status.update_revision
    assert (
        rolled.status.current_revision,
        rolled.status.observed_generation,
        rolled.status.updated_replicas,
    ) == (rolled.status.update_revision, rolled.metadata.generation, 2)
    mlserver = next(
        c for c in k8s.core.read_namespaced_pod("mlserver-0", TENANT).spec.containers if c.name == "mlserver"
    )
    assert mlserver.resources.requests["memory"] == "2Gi"
    conditions = {c["type"]: c for c in k8s.server()["status"]["conditions"]}
    assert conditions["StatefulSetOrDeploymentReady"]["reason"] == "StatefulSet replicas matches desired replicas"
    assert conditions["Ready"]["status"] == "True"
    assert calls[-1] == (TENANT, "mlserver", ["mlserver-0", "mlserver-1"])
    assert k8s.core.read_namespaced_pod_log("mlserver-1", TENANT, container="agent") == "Subscribed to scheduler\n"


def test_operator_rolls_pods_after_a_restarted_at_annotation(kube: FakeKube, k8s: Clients) -> None:
    operator, calls = _rolled_recorder(kube)
    operator.reconcile(TENANT)
    before = _pods(k8s)
    calls.clear()
    stamp = {"kubectl.kubernetes.io/restartedAt": "2026-11-26T09:30:00Z"}
    k8s.apps.patch_namespaced_stateful_set(
        "mlserver",
        TENANT,
        {"spec": {"template": {"metadata": {"annotations": stamp}}}},
        _content_type="application/strategic-merge-patch+json",
    )
    after = _pods(k8s)
    assert all(after[n][0] != before[n][0] for n in before) and len(calls) == 1
    sts = k8s.apps.read_namespaced_stateful_set("mlserver", TENANT)
    assert sts.spec.template.metadata.annotations.items() >= stamp.items()  # the operator's diff keeps it
    assert operator.reconcile(TENANT) == {} and _pods(k8s) == after
    k8s.core.delete_namespaced_pod("mlserver-0", TENANT)  # the controller re-creates a deleted pod
    assert _pods(k8s)["mlserver-0"][0] != after["mlserver-0"][0]


def test_operator_scales_follows_serverconfig_and_reports_a_missing_one(kube: FakeKube, k8s: Clients) -> None:
    operator, calls = _rolled_recorder(kube)
    operator.reconcile(TENANT)
    before = _pods(k8s)
    k8s.patch_server({"spec": {"replicas": 3, "maxReplicas": 3}})
    after = _pods(k8s)
    assert sorted(after) == ["mlserver-0", "mlserver-1", "mlserver-2"]
    assert {n: after[n] for n in before} == before  # scaling does not roll the existing replicas
    assert k8s.core.read_namespaced_service("mlserver-2", TENANT).spec.cluster_ip == "None"
    k8s.custom.patch_namespaced_custom_object(
        GROUP, VERSION, OPERATOR_NS, "serverconfigs", "mlserver", {"metadata": {"labels": {"tier": "gold"}}}
    )  # copied to the pod template: every replica rolls
    assert all(_pods(k8s)[n][0] != after[n][0] for n in after) and calls[-1][2] == sorted(after)
    k8s.patch_server({"spec": {"serverConfig": "nope"}})
    conditions = {c["type"]: c for c in k8s.server()["status"]["conditions"]}
    assert conditions["Ready"]["status"] == "False"
    assert conditions["Ready"]["reason"].startswith('failed to get ServerConfig: serverconfigs.mlops.seldon.io "nope"')
