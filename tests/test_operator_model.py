"""bot.seldon.operator against the real v2.10.2 ServerConfig: the pod spec merge, capabilities,
the StatefulSet, its last-applied annotation and the per-replica Services."""

from __future__ import annotations

import base64
import copy
import gzip
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.seldon.operator import (
    LAST_APPLIED_ANNOTATION,
    decode_last_applied,
    encode_last_applied,
    merge_pod_spec,
    render_replica_services,
    render_statefulset,
    server_pod_spec,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "seldon"
RENDERED = SHARED / "rendered-v2.10.2"
MLSERVER_CAPABILITIES = (
    "mlserver,alibi-detect,alibi-explain,huggingface,lightgbm,mlflow,python,sklearn,spark-mlib,xgboost"
)

Json = dict[str, Any]


@pytest.fixture(scope="module")
def serverconfig() -> Json:
    if not RENDERED.is_dir():
        pytest.skip(f"Seldon's rendered YAML is not available at {RENDERED}")
    text = (RENDERED / "serverconfig-mlserver.yaml").read_text(encoding="utf-8")
    config = next(d for d in yaml.safe_load_all(text) if d)
    config["metadata"]["labels"] = {"app.kubernetes.io/managed-by": "Helm"}
    return config


def server(pod_spec: Json | None = None, **spec: Any) -> Json:
    return {
        "apiVersion": "mlops.seldon.io/v1alpha1",
        "kind": "Server",
        "metadata": {
            "name": "mlserver",
            "namespace": "financial-ml",
            "uid": "3c1a54fc-f557-52ee-bb4b-6b7a957a3e3d",
            "labels": {"team": "risk"},
            "annotations": {"owner": "risk-platform"},
        },
        "spec": {"serverConfig": "mlserver", **({"podSpec": pod_spec} if pod_spec else {}), **spec},
    }


def container(spec: Json, name: str) -> Json:
    return next(c for c in spec["containers"] if c["name"] == name)


def env(spec: Json, container_name: str, var: str) -> list[Any]:
    return [e.get("value", e.get("valueFrom")) for e in container(spec, container_name)["env"] if e["name"] == var]


# --- merge_pod_spec ------------------------------------------------------------------------------


def test_env_is_appended_and_the_last_duplicate_wins(serverconfig: Json) -> None:
    base = serverconfig["spec"]["podSpec"]
    merged = merge_pod_spec(
        base,
        {
            "containers": [
                {
                    "name": "agent",
                    "env": [{"name": "SELDON_LOG_LEVEL", "value": "debug"}, {"name": "EXTRA", "value": "1"}],
                }
            ]
        },
    )

    assert env(merged, "agent", "SELDON_LOG_LEVEL") == ["info", "debug"]  # Kubernetes uses the last one
    assert env(merged, "agent", "EXTRA") == ["1"]
    assert len(container(merged, "agent")["env"]) == len(container(base, "agent")["env"]) + 2
    # everything else of the agent stays as the ServerConfig has it
    assert container(merged, "agent")["image"] == "docker.io/seldonio/seldon-agent:2.10.2"
    assert container(merged, "agent")["readinessProbe"] == container(base, "agent")["readinessProbe"]


def test_resources_merge_per_key(serverconfig: Json) -> None:
    merged = merge_pod_spec(
        serverconfig["spec"]["podSpec"],
        {
            "containers": [
                {
                    "name": "mlserver",
                    "resources": {"requests": {"memory": "2Gi"}, "limits": {"memory": "2Gi"}},
                }
            ]
        },
    )

    assert container(merged, "mlserver")["resources"] == {
        "limits": {"memory": "2Gi"},
        "requests": {"cpu": "100m", "memory": "2Gi"},
    }


def test_args_command_ports_and_mounts_are_appended(serverconfig: Json) -> None:
    merged = merge_pod_spec(
        serverconfig["spec"]["podSpec"],
        {
            "containers": [
                {
                    "name": "agent",
                    "command": ["--verbose"],
                    "args": ["--inference-host=10.42.3.17"],
                    "ports": [{"name": "debug", "containerPort": 7777}],
                    "volumeMounts": [{"name": "extra", "mountPath": "/extra"}],
                }
            ]
        },
    )
    agent = container(merged, "agent")

    assert agent["args"] == ["--tracing-config-path=/mnt/tracing/tracing.json", "--inference-host=10.42.3.17"]
    assert agent["command"] == ["/bin/agent", "--verbose"]
    assert [p["name"] for p in agent["ports"]] == ["grpc", "http", "metrics", "readiness-port", "debug"]
    assert agent["volumeMounts"][-1] == {"name": "extra", "mountPath": "/extra"}


def test_new_container_is_added_and_overridden_ones_come_first(serverconfig: Json) -> None:
    """MergeContainers lists the override's containers first, then the untouched ServerConfig ones."""
    merged = merge_pod_spec(
        serverconfig["spec"]["podSpec"],
        {
            "containers": [
                {"name": "mlserver", "env": [{"name": "MLSERVER_PARALLEL_WORKERS", "value": "2"}]},
                {"name": "log-shipper", "image": "fluent/fluent-bit:3.1"},
            ]
        },
    )

    assert [c["name"] for c in merged["containers"]] == ["mlserver", "log-shipper", "rclone", "agent"]
    assert container(merged, "log-shipper") == {"name": "log-shipper", "image": "fluent/fluent-bit:3.1"}
    assert env(merged, "mlserver", "MLSERVER_PARALLEL_WORKERS") == ["1", "2"]


def test_pod_level_slices_append_and_maps_merge(serverconfig: Json) -> None:
    base = serverconfig["spec"]["podSpec"]
    merged = merge_pod_spec(
        base,
        {
            "containers": [],
            "volumes": [{"name": "extra", "emptyDir": {}}],
            "initContainers": [{"name": "init", "image": "busybox"}],
            "nodeSelector": {"workload-class": "ml-inference"},
            "securityContext": {"runAsUser": 2000},
            "terminationGracePeriodSeconds": 300,
        },
    )

    assert [v["name"] for v in merged["volumes"]] == [*(v["name"] for v in base["volumes"]), "extra"]
    assert merged["initContainers"] == [{"name": "init", "image": "busybox"}]
    assert merged["nodeSelector"] == {"workload-class": "ml-inference"}
    assert merged["securityContext"] == {
        "fsGroup": 1000,
        "runAsGroup": 1000,
        "runAsNonRoot": True,
        "runAsUser": 2000,
    }
    assert merged["terminationGracePeriodSeconds"] == 300
    assert [c["name"] for c in merged["containers"]] == ["rclone", "agent", "mlserver"]


def test_init_containers_are_not_matched_by_name() -> None:
    """Only `containers` are keyed by name; other slices (initContainers too) are plain appends."""
    base = {"containers": [], "initContainers": [{"name": "init", "image": "a"}]}
    merged = merge_pod_spec(base, {"initContainers": [{"name": "init", "image": "b"}]})

    assert merged["initContainers"] == [{"name": "init", "image": "a"}, {"name": "init", "image": "b"}]


def test_empty_values_cannot_blank_a_field(serverconfig: Json) -> None:
    base = serverconfig["spec"]["podSpec"]
    merged = merge_pod_spec(
        base,
        {
            "serviceAccountName": "",
            "terminationGracePeriodSeconds": 0,
            "securityContext": {"runAsNonRoot": False},
            "containers": [{"name": "mlserver", "image": "", "resources": {}}],
        },
    )

    assert merged["serviceAccountName"] == "seldon-server"
    assert merged["terminationGracePeriodSeconds"] == 120
    assert merged["securityContext"]["runAsNonRoot"] is True
    assert container(merged, "mlserver")["image"] == "docker.io/seldonio/mlserver:1.7.1"
    assert container(merged, "mlserver")["resources"] == container(base, "mlserver")["resources"]


def test_inputs_are_not_mutated(serverconfig: Json) -> None:
    base = serverconfig["spec"]["podSpec"]
    override = {
        "containers": [{"name": "agent", "env": [{"name": "X", "value": "1"}]}],
        "volumes": [{"name": "extra", "emptyDir": {}}],
    }
    before = copy.deepcopy((base, override))

    merged = merge_pod_spec(base, override)
    container(merged, "agent")["env"].append({"name": "Y", "value": "2"})
    container(merged, "rclone")["args"].append("--changed")

    assert (base, override) == before


def test_no_override_returns_a_copy(serverconfig: Json) -> None:
    base = serverconfig["spec"]["podSpec"]
    merged = merge_pod_spec(base, None)

    assert merged == base
    assert merged is not base and merged["containers"] is not base["containers"]


# --- server_pod_spec: capabilities -------------------------------------------------------------


def test_server_pod_spec_without_overrides_is_the_serverconfig(serverconfig: Json) -> None:
    assert server_pod_spec(server(), serverconfig) == serverconfig["spec"]["podSpec"]


def test_capabilities_replace_the_agent_value(serverconfig: Json) -> None:
    spec = server_pod_spec(server(capabilities=["sklearn", "custom"]), serverconfig)

    assert env(spec, "agent", "SELDON_SERVER_CAPABILITIES") == ["sklearn,custom"]


def test_capabilities_rewrite_every_duplicate(serverconfig: Json) -> None:
    pod_spec = {"containers": [{"name": "agent", "env": [{"name": "SELDON_SERVER_CAPABILITIES", "value": "mlserver"}]}]}
    spec = server_pod_spec(server(pod_spec, capabilities=["sklearn"]), serverconfig)

    assert env(spec, "agent", "SELDON_SERVER_CAPABILITIES") == ["sklearn", "sklearn"]


def test_extra_capabilities_are_appended(serverconfig: Json) -> None:
    spec = server_pod_spec(server(extraCapabilities=["gpu", "llm"]), serverconfig)

    assert env(spec, "agent", "SELDON_SERVER_CAPABILITIES") == [f"{MLSERVER_CAPABILITIES},gpu,llm"]


def test_capabilities_win_over_extra_capabilities(serverconfig: Json) -> None:
    spec = server_pod_spec(server(capabilities=["sklearn"], extraCapabilities=["gpu"]), serverconfig)

    assert env(spec, "agent", "SELDON_SERVER_CAPABILITIES") == ["sklearn"]


# --- render_statefulset --------------------------------------------------------------------------


def test_statefulset_owner_reference_labels_and_shape(serverconfig: Json) -> None:
    pod_spec = {"containers": [{"name": "mlserver", "resources": {"requests": {"memory": "2Gi"}}}]}
    retention = {"whenDeleted": "Delete", "whenScaled": "Retain"}
    sts = render_statefulset(
        server(pod_spec, replicas=2, statefulSetPersistentVolumeClaimRetentionPolicy=retention), serverconfig
    )
    meta, spec = sts["metadata"], sts["spec"]

    assert (sts["apiVersion"], sts["kind"], meta["name"], meta["namespace"]) == (
        "apps/v1",
        "StatefulSet",
        "mlserver",
        "financial-ml",
    )
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "mlops.seldon.io/v1alpha1",
            "kind": "Server",
            "name": "mlserver",
            "uid": "3c1a54fc-f557-52ee-bb4b-6b7a957a3e3d",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    # Server and ServerConfig labels are copied, which is how Helm's label reaches the pods
    assert meta["labels"] == {
        "team": "risk",
        "app.kubernetes.io/managed-by": "Helm",
        "app.kubernetes.io/name": "seldon-server",
    }
    assert spec["template"]["metadata"]["labels"] == {
        "seldon-server-name": "mlserver",
        "app.kubernetes.io/name": "seldon-server",
        "team": "risk",
        "app.kubernetes.io/managed-by": "Helm",
    }
    assert spec["template"]["metadata"]["annotations"] == {"owner": "risk-platform"}
    assert meta["annotations"]["owner"] == "risk-platform"
    assert spec["selector"] == {"matchLabels": {"seldon-server-name": "mlserver"}}
    assert (spec["serviceName"], spec["podManagementPolicy"], spec["replicas"]) == ("mlserver", "Parallel", 2)
    assert spec["persistentVolumeClaimRetentionPolicy"] == retention
    assert spec["volumeClaimTemplates"] == [
        {
            "metadata": {"name": "mlserver-models"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        }
    ]
    assert container(spec["template"]["spec"], "mlserver")["resources"]["requests"] == {
        "cpu": "100m",
        "memory": "2Gi",
    }


def test_statefulset_replicas_default_to_one(serverconfig: Json) -> None:
    sts = render_statefulset(server(), serverconfig)

    assert sts["spec"]["replicas"] == 1
    assert "persistentVolumeClaimRetentionPolicy" not in sts["spec"]


# --- seldon.io/last-applied ----------------------------------------------------------------------


def test_last_applied_is_a_base64_zip_of_the_desired_object(serverconfig: Json) -> None:
    sts = render_statefulset(server(replicas=2), serverconfig)
    raw = base64.b64decode(sts["metadata"]["annotations"][LAST_APPLIED_ANNOTATION])

    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        assert archive.namelist() == ["original"]
        desired = json.loads(archive.read("original"))

    assert desired == decode_last_applied(sts["metadata"]["annotations"][LAST_APPLIED_ANNOTATION])
    assert LAST_APPLIED_ANNOTATION not in desired["metadata"].get("annotations", {})
    assert "ownerReferences" not in desired["metadata"]  # written before the controller reference
    assert desired["metadata"]["labels"] == sts["metadata"]["labels"]
    assert desired["spec"]["replicas"] == 2
    assert desired["status"] == {"availableReplicas": 0, "replicas": 0}
    # k8s-objectmatcher drops empty strings and false: AGENT_TLS_SECRET_NAME keeps only its name
    assert {"name": "AGENT_TLS_SECRET_NAME"} in container(desired["spec"]["template"]["spec"], "agent")["env"]
    live = container(sts["spec"]["template"]["spec"], "agent")
    assert [e["name"] for e in container(desired["spec"]["template"]["spec"], "agent")["env"]] == [
        e["name"] for e in live["env"]
    ]


def test_last_applied_round_trip() -> None:
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x", "annotations": {"a": "<b>"}},
        "data": {"k": "v", "n": 0},
    }

    assert decode_last_applied(encode_last_applied(obj)) == obj


def test_last_applied_is_deterministic(serverconfig: Json) -> None:
    first = render_statefulset(server(), serverconfig)["metadata"]["annotations"][LAST_APPLIED_ANNOTATION]
    second = render_statefulset(server(), serverconfig)["metadata"]["annotations"][LAST_APPLIED_ANNOTATION]

    assert first == second


def test_decode_accepts_gzip_and_plain_json() -> None:
    obj = {"kind": "StatefulSet", "spec": {"replicas": 3}}
    text = json.dumps(obj)

    assert decode_last_applied(base64.b64encode(gzip.compress(text.encode())).decode()) == obj
    assert decode_last_applied(base64.b64encode(text.encode()).decode()) == obj
    assert decode_last_applied(text) == obj


@pytest.mark.parametrize(
    "value",
    [
        "not base64 at all!",
        base64.b64encode(b"PK\x03\x04 broken").decode(),
        base64.b64encode(b"[1, 2]").decode(),
    ],
)
def test_decode_rejects_anything_else(value: str) -> None:
    with pytest.raises(ValueError):
        decode_last_applied(value)


# --- render_replica_services ---------------------------------------------------------------------


def test_replica_services() -> None:
    services = render_replica_services(server(replicas=2))

    assert [s["metadata"]["name"] for s in services] == ["mlserver-0", "mlserver-1"]
    svc = services[1]
    assert svc["metadata"]["namespace"] == "financial-ml"
    assert svc["metadata"]["labels"] == {
        "seldon-server-replica": "mlserver",
        "seldon-server-replica-name": "mlserver-1",
    }
    assert svc["metadata"]["ownerReferences"][0]["kind"] == "Server"
    assert svc["spec"]["clusterIP"] == "None"
    assert svc["spec"]["selector"] == {"statefulset.kubernetes.io/pod-name": "mlserver-1"}
    assert svc["spec"]["ports"] == [
        {"port": 9000, "targetPort": "http", "name": "http"},
        {"port": 9500, "targetPort": "grpc", "name": "grpc"},
        {"port": 9005, "name": "agent"},
    ]


def test_replica_services_default_to_one_replica() -> None:
    assert [s["metadata"]["name"] for s in render_replica_services(server())] == ["mlserver-0"]
