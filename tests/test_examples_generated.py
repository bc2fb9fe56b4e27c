"""The example bundles in examples/: reproducible from Seldon's YAML, loadable, and holding what
each scenario promises. The diagnosis of these bundles is tested with the engine, not here."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bot.cluster.bundle import load_bundle
from bot.snapshot import ALL_KINDS, KubeObject, TenantSnapshot

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "seldon"
NAMESPACES = {
    "healthy": "retail-ml",
    "zero-capacity": "financial-ml",
    "netpol-blocked": "risk-ml",
    "inference-host-pod-ip": "fraud-ml",
    "no-runtime": "marketing-ml",
}
NOT_ENOUGH = "Failed to schedule model as no matching server had enough suitable replicas"
NO_SERVERS = "Failed to schedule model as no matching servers are available"


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("examples_generate", EXAMPLES / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def bundles() -> dict[str, TenantSnapshot]:
    return {name: load_bundle(EXAMPLES / name) for name in NAMESPACES}


def cond(obj: KubeObject, type_: str) -> dict[str, Any]:
    return next(c for c in obj.status["conditions"] if c["type"] == type_)


def container(pod_spec: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in pod_spec["containers"] if c["name"] == name)


def server_pods(snap: TenantSnapshot) -> list[KubeObject]:
    return [p for p in snap.of("pods") if p.labels.get("seldon-server-name") == "mlserver"]


def lines(snap: TenantSnapshot, pod: str, container_: str, previous: bool = False) -> list[str]:
    log = snap.log(pod, container_, previous)
    assert log is not None, f"no {'previous ' if previous else ''}log for {pod}/{container_}"
    return log.lines


def ready(pod: KubeObject) -> bool:
    return cond(pod, "Ready")["status"] == "True"


# --- reproducible and loadable -------------------------------------------------------------------


def test_regenerating_gives_the_committed_files(tmp_path: Path) -> None:
    if not (SHARED / "rendered-v2.10.2").is_dir():
        pytest.skip(f"Seldon's rendered YAML is not available at {SHARED}")
    assert load_generator().main(["--shared", str(SHARED), "--out", str(tmp_path)]) == 0
    for name in NAMESPACES:
        generated, committed = files(tmp_path / name), files(EXAMPLES / name)
        assert sorted(generated) == sorted(committed), f"{name}: different files"
        changed = [f for f in generated if generated[f] != committed[f]]
        assert not changed, f"{name}: {changed} differ; run `python examples/generate.py`"


@pytest.mark.parametrize("name", NAMESPACES)
def test_example_loads_with_every_kind_collected(bundles: dict[str, TenantSnapshot], name: str) -> None:
    snap = bundles[name]
    assert snap.namespace == NAMESPACES[name]
    assert snap.operator_namespace == "seldon-mesh"
    assert snap.collected_at.isoformat() == "2026-11-26T09:15:00+00:00"
    assert all(snap.collected(kind) for kind in ALL_KINDS)
    assert {ns.name for ns in snap.of("namespaces")} == {NAMESPACES[name], "seldon-mesh"}
    assert snap.namespace_labels(NAMESPACES[name])["kubernetes.io/metadata.name"] == NAMESPACES[name]
    assert {c.name for c in snap.of("serverconfigs")} >= {"mlserver", "triton"}
    assert all(c.namespace == "seldon-mesh" for c in snap.of("serverconfigs"))
    controller = snap.get("operator_deployments", "seldon-v2-controller-manager")
    assert controller is not None and controller.labels["control-plane"] == "v2-controller-manager"
    assert controller.spec["template"]["spec"]["containers"][0]["image"].endswith("seldon-controller:2.10.2")
    for log in snap.logs:
        assert 1 <= len(log.lines) <= 60


@pytest.mark.parametrize("name", [n for n in NAMESPACES if n != "no-runtime"])
def test_runtime_examples_have_what_a_seldon_runtime_creates(bundles: dict[str, TenantSnapshot], name: str) -> None:
    snap = bundles[name]
    assert cond(snap.get("seldonruntimes", "seldon"), "Ready")["status"] == "True"
    assert snap.get("statefulsets", "seldon-scheduler") is not None
    assert {d.name for d in snap.of("deployments")} == {
        "seldon-envoy",
        "seldon-modelgateway",
        "seldon-pipelinegateway",
        "seldon-dataflow-engine",
        "hodometer",
    }
    scheduler = snap.get("services", "seldon-scheduler")
    assert {p["name"]: (p["port"], p["targetPort"]) for p in scheduler.spec["ports"]} == {
        "xds": (9002, "xds"),
        "scheduler": (9004, "scheduler"),
        "scheduler-mtls": (9044, "scheduler-mtls"),
        "agent": (9005, "agent"),
        "agent-mtls": (9055, "agent-mtls"),
        "dataflow": (9008, "dataflow"),
    }
    mesh = snap.get("services", "seldon-mesh")
    assert [(p["port"], p["targetPort"]) for p in mesh.spec["ports"]] == [(80, "http"), (9003, "envoy-stats")]
    for cm in ("seldon-agent", "seldon-tracing", "seldon-kafka", "seldon-scaling"):
        assert snap.get("configmaps", cm) is not None
    assert {"seldon-server", "seldon-scheduler", "hodometer"} <= {sa.name for sa in snap.of("serviceaccounts")}
    role = snap.get("roles", "agent-role")
    assert {
        "apiGroups": ["discovery.k8s.io"],
        "resources": ["endpointslices"],
        "verbs": ["list", "watch"],
    } in (role.top("rules"))
    slices = {s.labels["kubernetes.io/service-name"]: s for s in snap.of("endpointslices")}
    assert {"seldon-scheduler", "seldon-mesh", "mlserver-0", "mlserver-1"} <= set(slices)
    scheduler_pod = snap.get("pods", "seldon-scheduler-0")
    assert slices["seldon-scheduler"].top("endpoints")[0]["addresses"] == [scheduler_pod.status["podIP"]]
    assert snap.log("seldon-scheduler-0", "scheduler") is not None


def test_per_replica_services_point_at_their_pods(bundles: dict[str, TenantSnapshot]) -> None:
    snap = bundles["netpol-blocked"]
    for pod in server_pods(snap):
        svc = snap.get("services", pod.name)
        assert svc.spec["selector"] == {"statefulset.kubernetes.io/pod-name": pod.name}
        assert [(p["name"], p["port"]) for p in svc.spec["ports"]] == [
            ("http", 9000),
            ("grpc", 9500),
            ("agent", 9005),
        ]
        endpoint = next(s for s in snap.of("endpointslices") if s.labels["kubernetes.io/service-name"] == pod.name).top(
            "endpoints"
        )[0]
        assert endpoint["addresses"] == [pod.status["podIP"]]
        assert endpoint["conditions"] == {"ready": False, "serving": False, "terminating": False}
        assert endpoint["targetRef"]["name"] == pod.name


# --- healthy -------------------------------------------------------------------------------------


def test_healthy(bundles: dict[str, TenantSnapshot]) -> None:
    snap = bundles["healthy"]
    server = snap.get("servers", "mlserver")
    assert cond(server, "Ready")["status"] == "True"
    assert server.status["loadedModels"] == 3
    assert len(snap.of("models")) == 3
    for model in snap.of("models"):
        assert model.spec["memory"]
        assert (cond(model, "ModelReady")["status"], cond(model, "ModelReady")["message"]) == (
            "True",
            "ModelAvailable",
        )
    assert all(ready(p) for p in snap.of("pods"))
    assert admits(snap, "seldon-scheduler", 9005)
    agent = lines(snap, "mlserver-0", "agent")
    assert any("Setting memory request from env MEMORY_REQUEST with value 1073741824" in line for line in agent)
    assert any('msg="Subscribed to scheduler"' in line for line in agent)
    scheduler = lines(snap, "seldon-scheduler-0", "scheduler")
    assert any("Received agent subscribe request from mlserver:1" in line for line in scheduler)
    assert any("Updating state for model demand-forecast to Loaded" in line for line in scheduler)


# --- zero-capacity -------------------------------------------------------------------------------


def test_zero_capacity_pods_have_no_memory_request_on_mlserver(bundles: dict[str, TenantSnapshot]) -> None:
    snap = bundles["zero-capacity"]
    pods = server_pods(snap)
    assert sorted(p.name for p in pods) == ["mlserver-0", "mlserver-1"]
    for pod in pods:
        assert ready(pod)
        resources = container(pod.spec, "mlserver")["resources"]
        assert "memory" not in resources.get("requests", {}) and "memory" not in resources.get("limits", {})
        agent_env = {e["name"]: e for e in container(pod.spec, "agent")["env"]}
        assert agent_env["MEMORY_REQUEST"]["valueFrom"]["resourceFieldRef"]["containerName"] == "mlserver"
    assert snap.of("limitranges") == []


def test_zero_capacity_configuration(bundles: dict[str, TenantSnapshot]) -> None:
    snap = bundles["zero-capacity"]
    server = snap.get("servers", "mlserver")
    assert server.spec["serverConfig"] == "mlserver-burstable"
    assert [c["name"] for c in server.spec["podSpec"]["containers"]] == ["agent", "mlserver"]
    assert server.spec["podSpec"]["nodeSelector"] == {"workload-class": "ml-inference"}
    burstable = snap.get("serverconfigs", "mlserver-burstable")
    assert container(burstable.spec["podSpec"], "mlserver")["resources"] == {"requests": {"cpu": "100m"}}
    assert "ml-platform.example.com/owner" in burstable.metadata.annotations
    default = snap.get("serverconfigs", "mlserver")
    assert container(default.spec["podSpec"], "mlserver")["resources"]["requests"]["memory"] == "1Gi"
    assert cond(server, "Ready")["status"] == "True" and server.status["loadedModels"] == 1


def test_zero_capacity_models(bundles: dict[str, TenantSnapshot]) -> None:
    snap = bundles["zero-capacity"]
    for name in ("credit-risk", "fraud-detector"):
        model = snap.get("models", name)
        assert model.spec["memory"]
        ready_cond = cond(model, "ModelReady")
        assert (ready_cond["status"], ready_cond["message"], ready_cond["reason"]) == (
            "False",
            "ScheduleFailed",
            NOT_ENOUGH,
        )
        assert cond(model, "Ready")["status"] == "False"
    income = snap.get("models", "income-classifier")
    assert "memory" not in income.spec
    assert cond(income, "ModelReady")["message"] == "ModelAvailable" and income.status["availableReplicas"] == 1


def test_zero_capacity_logs(bundles: dict[str, TenantSnapshot]) -> None:
    snap = bundles["zero-capacity"]
    for pod in ("mlserver-0", "mlserver-1"):
        agent = lines(snap, pod, "agent")
        assert any('msg="Setting memory request from env MEMORY_REQUEST with value 0"' in line for line in agent)
        replica_config = next(line for line in agent if 'msg="replicaConfig ' in line)
        assert "memoryBytes" not in replica_config
        assert any('msg="All critical agent subservices ready."' in line for line in agent)
        assert any('msg="Subscribed to scheduler"' in line for line in agent)
    scheduler = lines(snap, "seldon-scheduler-0", "scheduler")
    assert any("Received agent subscribe request from mlserver:0" in line for line in scheduler)
    assert any("Received agent subscribe request from mlserver:1" in line for line in scheduler)
    warnings = [line for line in scheduler if f'msg="{NOT_ENOUGH}"' in line]
    assert warnings and all(
        "level=warning" in w and "Name=SimpleScheduler func=scheduleToServer" in w for w in warnings
    )
    assert {w.rsplit("model=", 1)[1] for w in warnings} == {"credit-risk", "fraud-detector"}


# --- netpol-blocked ------------------------------------------------------------------------------


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def admits(snap: TenantSnapshot, component: str, port: int) -> bool:
    """Some ingress rule of a policy selecting the component's pods allows `port`."""
    labels = {"app.kubernetes.io/name": component}
    for policy in snap.of("networkpolicies"):
        if not selects(policy.spec["podSelector"], labels):
            continue
        for rule in policy.spec.get("ingress") or []:
            if not rule.get("ports") or any(p.get("port") == port for p in rule["ports"]):
                return True
    return False


def test_netpol_blocked_policies_forget_the_agent_port(bundles: dict[str, TenantSnapshot]) -> None:
    snap = bundles["netpol-blocked"]
    deny = snap.get("networkpolicies", "default-deny-ingress")
    assert deny.spec["podSelector"] == {} and "ingress" not in deny.spec
    assert not admits(snap, "seldon-scheduler", 9005)
    for port in (9002, 9004, 9008):
        assert admits(snap, "seldon-scheduler", port)
    assert not any(
        p.get("port") == 9005
        for pol in snap.of("networkpolicies")
        for rule in pol.spec.get("ingress") or []
        for p in rule.get("ports") or []
    )


def test_netpol_blocked_state_and_logs(bundles: dict[str, TenantSnapshot]) -> None:
    snap = bundles["netpol-blocked"]
    for pod in server_pods(snap):
        assert pod.status["phase"] == "Running" and not ready(pod)
        statuses = {s["name"]: s["ready"] for s in pod.status["containerStatuses"]}
        assert statuses == {"agent": False, "mlserver": True, "rclone": True}
        agent = lines(snap, pod.name, "agent")
        assert any("Connecting (non-blocking) to scheduler at seldon-scheduler:9005" in line for line in agent)
        errors = [line for line in agent if 'msg="Scheduler not ready"' in line]
        assert errors and all("i/o timeout" in line for line in errors)
        assert any("Agent readiness failed, agent service manager is not ready" in line for line in agent)
    probes = [e for e in snap.of("events") if e.top("reason") == "Unhealthy"]
    assert probes and all("HTTP probe failed with statuscode: 503" in e.top("message") for e in probes)
    assert not any("subscribe request" in line for line in lines(snap, "seldon-scheduler-0", "scheduler"))
    server = snap.get("servers", "mlserver")
    assert cond(server, "Ready")["reason"] == "StatefulSet replicas does not match desired replicas"
    for model in snap.of("models"):
        assert (cond(model, "ModelReady")["message"], cond(model, "ModelReady")["reason"]) == (
            "ScheduleFailed",
            NO_SERVERS,
        )


# --- inference-host-pod-ip -----------------------------------------------------------------------


def test_inference_host_pinned_to_a_stale_pod_ip(bundles: dict[str, TenantSnapshot]) -> None:
    snap = bundles["inference-host-pod-ip"]
    server = snap.get("servers", "mlserver")
    assert server.spec["podSpec"] == {"containers": [{"name": "agent", "args": ["--inference-host=10.42.3.17"]}]}
    for pod in server_pods(snap):
        assert pod.status["podIP"] != "10.42.3.17"
        assert container(pod.spec, "agent")["args"][-1] == "--inference-host=10.42.3.17"
        agent = next(s for s in pod.status["containerStatuses"] if s["name"] == "agent")
        assert (agent["ready"], agent["restartCount"]) == (False, 3)
        assert agent["lastState"]["terminated"]["exitCode"] == 1
        assert sum(s["ready"] for s in pod.status["containerStatuses"]) == 2
        previous = lines(snap, pod.name, "agent", previous=True)
        assert any("dial tcp 10.42.3.17:9500: connect: connection refused" in line for line in previous)
        assert "Giving up on waiting for Inference Server service to become ready" in previous[-2]
        assert "level=fatal" in previous[-1] and "Inference Server" in previous[-1]
        assert "dial tcp 10.42.3.17:9500" in lines(snap, pod.name, "agent")[-1]
        mlserver = lines(snap, pod.name, "mlserver")
        assert any("gRPC server running on http://0.0.0.0:9500" in line for line in mlserver)
    assert cond(server, "Ready")["status"] == "False"
    for model in snap.of("models"):
        assert cond(model, "ModelReady")["reason"] == NO_SERVERS


# --- no-runtime ----------------------------------------------------------------------------------


def test_no_runtime(bundles: dict[str, TenantSnapshot]) -> None:
    snap = bundles["no-runtime"]
    assert snap.of("seldonruntimes") == [] and snap.of("pods") == [] and snap.logs == []
    assert snap.get("services", "seldon-scheduler") is None and snap.get("services", "seldon-mesh") is None
    assert snap.get("configmaps", "seldon-agent") is None
    assert snap.get("serviceaccounts", "seldon-server") is None and snap.get("roles", "agent-role") is None
    sts = snap.get("statefulsets", "mlserver")
    assert sts.spec["replicas"] == 1 and sts.status["readyReplicas"] == 0
    assert sts.spec["template"]["spec"]["serviceAccountName"] == "seldon-server"
    (event,) = snap.of("events")
    assert (event.top("type"), event.top("reason"), event.top("involvedObject")["name"]) == (
        "Warning",
        "FailedCreate",
        "mlserver",
    )
    assert 'serviceaccount "seldon-server" not found' in event.top("message")
    assert cond(snap.get("servers", "mlserver"), "Ready")["status"] == "False"
    for model in snap.of("models"):
        ready_cond = cond(model, "ModelReady")
        assert ready_cond["message"] == "ModelProgressing"
        assert "seldon-scheduler.marketing-ml" in ready_cond["reason"] and "no such host" in ready_cond["reason"]
