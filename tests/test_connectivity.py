"""The connectivity matrix (section 3 of shared/docs/seldon-v2.md), row by row, as a user reads it.

Each test asserts what shows in a row: its verdict, the port dialled and the container port judged, the
evidence text, and the finding linked to the row. Network tests mutate the realistic `healthy` example
bundle (runtime, controller, envoy, gateways, namespaces, a default-deny plus allow policies); loopback
tests use the tenants of test_checks, built from the real Seldon v2.10.2 YAML.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import fixtures_seldon as fx
import pytest
import yaml
from test_checks import add_log, agent_line, logrus, server_pods, tenant

from bot.cluster.bundle import load_bundle
from bot.diagnosis.engine import diagnose
from bot.diagnosis.models import ConnectivityRow, Diagnosis, Finding
from bot.diagnosis.view import TenantView
from bot.playbooks import load_playbook
from bot.remediation.proposals import propose
from bot.snapshot import CollectionError, KubeObject, TenantSnapshot

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOK = load_playbook("diagnose")
SCHEDULER = {"app.kubernetes.io/name": "seldon-scheduler"}
ENVOY = {"app.kubernetes.io/name": "seldon-envoy"}
SERVER = {"seldon-server-name": "mlserver"}
CONTROLLER = {"control-plane": "v2-controller-manager"}
TO_SCHEDULER = [
    "controller-scheduler",
    "agent-scheduler/mlserver",
    "envoy-scheduler",
    "modelgateway-scheduler",
    "pipelinegateway-scheduler",
    "dataflow-engine-scheduler",
]
POLICY_ROWS = [*TO_SCHEDULER, "external-mesh", "envoy-agent/mlserver"]
LOOPBACK_ROWS = ["agent-inference/mlserver", "agent-rclone/mlserver"]
NOT_LOOPBACK = "NetworkPolicy does not apply to loopback"

# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------


@cache
def _bundle(name: str) -> TenantSnapshot:
    return load_bundle(ROOT / "examples" / name)


def example(name: str = "healthy") -> TenantSnapshot:
    """A private, mutable copy of an example bundle."""
    return _bundle(name).model_copy(deep=True)


def run(snap: TenantSnapshot) -> Diagnosis:
    return diagnose(snap, PLAYBOOK)


def rows(diag: Diagnosis) -> dict[str, ConnectivityRow]:
    return {r.id: r for r in diag.connectivity}


def text(row: ConnectivityRow) -> str:
    return "\n".join(e.summary for e in row.evidence)


def linked(diag: Diagnosis, row: ConnectivityRow) -> Finding:
    """The one finding linked to a row; it must be part of the diagnosis, not only of the row."""
    assert len(row.finding_ids) == 1, row.finding_ids
    return next(f for f in diag.findings if f.id == row.finding_ids[0])


def policy(snap: TenantSnapshot, name: str) -> KubeObject:
    return next(p for p in snap.of("networkpolicies") if p.name == name)


def put_policy(snap: TenantSnapshot, name: str, spec: dict[str, Any]) -> None:
    """Create or replace a NetworkPolicy in the tenant namespace (kubectl apply)."""
    doc = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": snap.namespace},
        "spec": spec,
    }
    drop_policy(snap, name)
    snap.objects["networkpolicies"].append(KubeObject.model_validate(doc))


def drop_policy(snap: TenantSnapshot, name: str) -> None:
    snap.objects["networkpolicies"] = [p for p in snap.of("networkpolicies") if p.name != name]


def scheduler_ports(snap: TenantSnapshot, *, keep: Callable[[Any], bool]) -> None:
    """Filter the ports of the first rule of allow-seldon-scheduler (the tenant-wide one)."""
    rule = policy(snap, "allow-seldon-scheduler").spec["ingress"][0]
    rule["ports"] = [p for p in rule["ports"] if keep(p["port"])]


def without_9005(snap: TenantSnapshot) -> None:
    scheduler_ports(snap, keep=lambda port: port != 9005)


def egress_deny_on_servers(snap: TenantSnapshot) -> None:
    put_policy(snap, "deny-egress-servers", {"podSelector": {"matchLabels": SERVER}, "policyTypes": ["Egress"]})


def controller_only_from_tenant(snap: TenantSnapshot) -> None:
    """9004 admitted from every pod of the tenant namespace, but from no other namespace."""
    allow = policy(snap, "allow-seldon-scheduler")
    allow.spec["ingress"] = [r for r in allow.spec["ingress"] if "namespaceSelector" not in r["from"][0]]


def envoy_without_9000(snap: TenantSnapshot) -> None:
    policy(snap, "allow-inference-to-envoy").spec["ingress"][0]["ports"] = [{"protocol": "TCP", "port": 9003}]


def replace_logs(snap: TenantSnapshot, container: str) -> None:
    snap.logs = [lg for lg in snap.logs if lg.container != container]


def apply_netpol_proposals(snap: TenantSnapshot, diag: Diagnosis) -> None:
    """What a human does with the proposals: `kubectl apply` each NetworkPolicy manifest."""
    for p in diag.proposals:
        if p.action == "create" and p.manifest and p.manifest["kind"] == "NetworkPolicy":
            put_policy(snap, p.manifest["metadata"]["name"], p.manifest["spec"])


# ----------------------------------------------------------------------------------------------
# Healthy baseline
# ----------------------------------------------------------------------------------------------

EXPECTED_PORTS = {
    "controller-scheduler": (9004, 9004),
    "agent-scheduler/mlserver": (9005, 9005),
    "envoy-scheduler": (9002, 9002),
    "modelgateway-scheduler": (9004, 9004),
    "pipelinegateway-scheduler": (9004, 9004),
    "dataflow-engine-scheduler": (9008, 9008),
    "external-mesh": (80, 9000),
    "envoy-agent/mlserver": (9000, 9001),
    "agent-inference/mlserver": (9500, None),
    "agent-rclone/mlserver": (5572, None),
}


def test_healthy_example_every_row_is_ok_on_the_documented_ports() -> None:
    diag = run(example())
    by_id = rows(diag)
    assert list(by_id) == list(EXPECTED_PORTS)
    assert {i: (r.port, r.target_port) for i, r in by_id.items()} == EXPECTED_PORTS
    assert {i: r.verdict for i, r in by_id.items()} == dict.fromkeys(EXPECTED_PORTS, "ok")
    assert all(r.finding_ids == [] for r in by_id.values())
    # The healthy tenant has a default-deny: "ok" must come from a rule that admits, not from no policy.
    agent = text(by_id["agent-scheduler/mlserver"])
    assert "ingress to pod seldon-scheduler-0 is isolated by" in agent and "retail-ml/default-deny-ingress" in agent
    assert "is admitted by retail-ml/allow-seldon-scheduler (ingress[0]" in agent
    assert "scheduler saw subscriptions from: mlserver:0, mlserver:1" in agent
    assert by_id["agent-scheduler/mlserver"].summary == "allowed, confirmed by logs"


# ----------------------------------------------------------------------------------------------
# agent -> scheduler (9005)
# ----------------------------------------------------------------------------------------------


def test_scheduler_ingress_without_9005_blocks_the_agents_and_nothing_else() -> None:
    snap = example()
    without_9005(snap)
    diag = run(snap)
    by_id = rows(diag)

    row = by_id["agent-scheduler/mlserver"]
    assert (row.verdict, row.port, row.target_port) == ("blocked", 9005, 9005)
    assert row.summary == "denied by NetworkPolicy (ingress) on port 9005"
    assert "no rule admits 9005/TCP from pod mlserver-" in text(row)
    found = linked(diag, row)
    assert found.code == "networkpolicy.blocks-path" and found.severity == "critical"
    assert found.data["direction"] == "ingress"
    assert (found.data["port"], found.data["protocol"]) == (9005, "TCP")
    assert found.data["target"]["selector"] == SCHEDULER
    assert found.data["peer"] == {"namespace": "retail-ml", "selector": SERVER}
    assert found.summary == "NetworkPolicy ingress blocks agent (mlserver) -> seldon-scheduler on port 9005/TCP"
    assert {i: r.verdict for i, r in by_id.items() if i != row.id} == {i: "ok" for i in EXPECTED_PORTS if i != row.id}


def test_egress_default_deny_on_server_pods_blocks_the_agents_and_proposes_one_egress_rule() -> None:
    snap = example()
    egress_deny_on_servers(snap)
    diag = run(snap)
    by_id = rows(diag)

    row = by_id["agent-scheduler/mlserver"]
    assert row.verdict == "blocked"
    assert row.summary == "denied by NetworkPolicy (egress) on port 9005"
    assert "egress from pod mlserver-" in text(row) and "retail-ml/deny-egress-servers" in text(row)
    found = linked(diag, row)
    assert found.data["direction"] == "egress" and found.data["port"] == 9005
    # Egress of the servers does not matter for paths that end at them.
    assert by_id["envoy-agent/mlserver"].verdict == "ok"

    proposals = [p for p in propose(diag.findings, TenantView(snap)) if p.finding_id == found.id]
    assert len(proposals) == 1
    proposal = proposals[0]
    assert (proposal.action, proposal.automatic) == ("create", False)
    assert proposal.target.kind == "NetworkPolicy" and proposal.target.namespace == "retail-ml"
    manifest = proposal.manifest
    assert manifest["metadata"]["namespace"] == "retail-ml"
    assert manifest["spec"] == {
        "podSelector": {"matchLabels": SERVER},
        "policyTypes": ["Egress"],
        "egress": [{"to": [{"podSelector": {"matchLabels": SCHEDULER}}], "ports": [{"port": 9005, "protocol": "TCP"}]}],
    }


# ----------------------------------------------------------------------------------------------
# controller -> scheduler (9004, from the operator namespace)
# ----------------------------------------------------------------------------------------------

FROM_OPERATOR_NS = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "seldon-mesh"}}}


@pytest.mark.parametrize(
    ("peer", "verdict"),
    [
        (None, "blocked"),  # only the tenant's pods are admitted on 9004
        ({"podSelector": {}}, "blocked"),  # a podSelector alone means the policy's own namespace
        (FROM_OPERATOR_NS, "ok"),
        ({**FROM_OPERATOR_NS, "podSelector": {"matchLabels": CONTROLLER}}, "ok"),
        ({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}, "blocked"),
    ],
    ids=["tenant-only", "podSelector-only", "namespaceSelector", "namespace-and-pod", "other-namespace"],
)
def test_controller_path_is_judged_from_the_operator_namespace(peer: dict[str, Any] | None, verdict: str) -> None:
    snap = example()
    controller_only_from_tenant(snap)
    if peer is not None:
        policy(snap, "allow-seldon-scheduler").spec["ingress"].append(
            {"from": [peer], "ports": [{"protocol": "TCP", "port": 9004}]}
        )
    by_id = rows(run(snap))
    row = by_id["controller-scheduler"]
    assert (row.verdict, row.port, row.target_port) == (verdict, 9004, 9004)
    assert "pods of Deployment seldon-v2-controller-manager" in text(row)
    assert by_id["agent-scheduler/mlserver"].verdict == "ok"  # tenant pods keep their 9005 either way


def test_controller_blocked_proposal_admits_the_controller_by_namespace() -> None:
    snap = example()
    controller_only_from_tenant(snap)
    diag = run(snap)
    row = rows(diag)["controller-scheduler"]
    found = linked(diag, row)
    assert found.data["direction"] == "ingress"
    assert found.data["peer"] == {"namespace": "seldon-mesh", "selector": CONTROLLER}
    [proposal] = [p for p in diag.proposals if p.finding_id == found.id]
    assert proposal.manifest["metadata"]["namespace"] == "retail-ml"
    assert proposal.manifest["spec"] == {
        "podSelector": {"matchLabels": SCHEDULER},
        "policyTypes": ["Ingress"],
        "ingress": [
            {
                "from": [{"podSelector": {"matchLabels": CONTROLLER}, **FROM_OPERATOR_NS}],
                "ports": [{"port": 9004, "protocol": "TCP"}],
            }
        ],
    }


def test_controller_unknown_is_not_reported_ok_under_a_deny_all_on_the_scheduler() -> None:
    snap = example()
    del snap.objects["operator_deployments"]
    drop_policy(snap, "allow-seldon-scheduler")  # the default-deny now isolates the scheduler completely
    by_id = rows(run(snap))
    assert by_id["agent-scheduler/mlserver"].verdict == "blocked"  # the policy does bite
    assert by_id["controller-scheduler"].verdict != "ok"


# ----------------------------------------------------------------------------------------------
# external -> seldon-mesh (Service 80 -> envoy 9000)
# ----------------------------------------------------------------------------------------------


def test_seldon_mesh_service_maps_80_to_the_envoy_container_port_9000() -> None:
    """Guard for the row below: the target port comes from the Service's named targetPort."""
    snap = example()
    svc = next(s for s in snap.of("services") if s.name == "seldon-mesh")
    port = next(p for p in svc.spec["ports"] if p["port"] == 80)
    envoy = next(p for p in snap.of("pods") if p.labels.get("app.kubernetes.io/name") == "seldon-envoy")
    declared = {p["name"]: p["containerPort"] for c in envoy.spec["containers"] for p in c.get("ports", [])}
    assert declared[port["targetPort"]] == 9000
    row = rows(run(snap))["external-mesh"]
    assert (row.port, row.target_port) == (80, 9000)


@pytest.mark.parametrize(
    ("port", "verdict"),
    [
        (9003, "blocked"),  # a policy on envoy without a 9000 rule
        (80, "blocked"),  # the Service port: policies match the pod's port, never the Service's
        (9000, "ok"),
        ("http", "ok"),  # envoy declares http = 9000
    ],
    ids=["no-9000-rule", "service-port-80", "container-port-9000", "named-http"],
)
def test_external_mesh_is_judged_on_the_envoy_container_port(port: int | str, verdict: str) -> None:
    snap = example()
    policy(snap, "allow-inference-to-envoy").spec["ingress"][0]["ports"] = [{"protocol": "TCP", "port": port}]
    diag = run(snap)
    row = rows(diag)["external-mesh"]
    assert (row.verdict, row.port, row.target_port) == (verdict, 80, 9000)
    assert "9000/TCP from external client" in text(row)
    if verdict == "blocked":
        assert row.summary == "denied by NetworkPolicy (ingress) on port 9000"
        found = linked(diag, row)
        assert found.data["peer"] == {"external": True} and found.data["port"] == 9000
        [proposal] = [p for p in diag.proposals if p.finding_id == found.id]
        assert proposal.manifest["spec"] == {
            "podSelector": {"matchLabels": ENVOY},
            "policyTypes": ["Ingress"],
            "ingress": [{"ports": [{"port": 9000, "protocol": "TCP"}]}],
        }
    else:
        assert row.finding_ids == []


# ----------------------------------------------------------------------------------------------
# Named ports
# ----------------------------------------------------------------------------------------------


def test_the_seldonconfig_scheduler_declares_agent_as_9005() -> None:
    """Guard: named-port verdicts below rely on this fact of the real SeldonConfig."""
    docs = yaml.safe_load_all((fx.RENDERED / "seldonconfig-default.yaml").read_text(encoding="utf-8"))
    config = next(d for d in docs if d and d.get("kind") == "SeldonConfig")
    scheduler = next(c for c in config["spec"]["components"] if c["name"] == "seldon-scheduler")
    ports = {p["name"]: p["containerPort"] for c in scheduler["podSpec"]["containers"] for p in c.get("ports", [])}
    assert ports["agent"] == 9005 and ports["xds"] == 9002 and "grpc" not in ports


@pytest.mark.parametrize(
    ("name", "verdict"),
    [
        ("agent", "ok"),
        ("grpc", "blocked"),  # the agent's own port name: the scheduler declares no such port
        ("xds", "blocked"),  # declared, but 9002
    ],
)
def test_named_port_resolves_against_the_scheduler_container(name: str, verdict: str) -> None:
    snap = example()
    without_9005(snap)
    policy(snap, "allow-seldon-scheduler").spec["ingress"][0]["ports"].append({"protocol": "TCP", "port": name})
    row = rows(run(snap))["agent-scheduler/mlserver"]
    assert row.verdict == verdict
    if verdict == "ok":
        assert "named port agent (9005/TCP on pod seldon-scheduler-0)" in text(row)


# ----------------------------------------------------------------------------------------------
# What was not collected
# ----------------------------------------------------------------------------------------------

FORBIDDEN = 'networkpolicies.networking.k8s.io is forbidden: User "bot" cannot list resource "networkpolicies"'


def not_collected(snap: TenantSnapshot) -> str:
    del snap.objects["networkpolicies"]
    return "NetworkPolicies not collected"


def forbidden(snap: TenantSnapshot) -> str:
    snap.errors["networkpolicies"] = CollectionError(
        kind="networkpolicies",
        code=403,
        reason="Forbidden",
        message=FORBIDDEN,
        missing_permission="list networkpolicies in namespace retail-ml",
    )
    return f"NetworkPolicies could not be read: {FORBIDDEN}"


@pytest.mark.parametrize("lose", [not_collected, forbidden], ids=["not-collected", "forbidden"])
def test_policies_unknown_leave_rows_unknown_unless_logs_settle_them(lose: Callable[[TenantSnapshot], str]) -> None:
    snap = example()
    without_9005(snap)  # would block 9005; unread, it must not count either way
    why = lose(snap)
    by_id = rows(run(snap))
    for row_id in POLICY_ROWS:
        assert why in text(by_id[row_id]), row_id
    settled = "agent-scheduler/mlserver"  # agents subscribed, per the scheduler log
    assert by_id[settled].verdict == "ok"
    assert {i: by_id[i].verdict for i in POLICY_ROWS if i != settled} == {
        i: "unknown" for i in POLICY_ROWS if i != settled
    }
    assert by_id["external-mesh"].summary == "NetworkPolicies unknown, no log evidence"
    assert {by_id[i].verdict for i in LOOPBACK_ROWS} == {"ok"}


def _no_logs(snap: TenantSnapshot) -> None:
    replace_logs(snap, "agent")
    replace_logs(snap, "scheduler")


def _failing_logs(snap: TenantSnapshot) -> None:
    _no_logs(snap)
    error = (
        'rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: '
        'dial tcp 10.43.88.14:9005: i/o timeout"'
    )
    for p in ("mlserver-0", "mlserver-1"):
        add_log(
            snap,
            p,
            "agent",
            agent_line("Connecting (non-blocking) to scheduler at seldon-scheduler:9005"),
            *[agent_line("Scheduler not ready", level="error", at=50 - i, error=error) for i in range(3)],
        )
    add_log(snap, "seldon-scheduler-0", "scheduler", logrus("Scheduler is ready", at=86000))


@pytest.mark.parametrize(
    ("logs", "verdict", "phrase"),
    [
        (_no_logs, "unknown", "NetworkPolicies not collected"),
        (_failing_logs, "blocked", "Scheduler not ready"),
    ],
    ids=["no-logs", "scheduler-not-ready"],
)
def test_agent_path_without_policies_follows_the_logs(
    logs: Callable[[TenantSnapshot], None], verdict: str, phrase: str
) -> None:
    snap = example()
    not_collected(snap)
    logs(snap)
    row = rows(run(snap))["agent-scheduler/mlserver"]
    assert row.verdict == verdict
    assert phrase in text(row)


# ----------------------------------------------------------------------------------------------
# Services and endpoints on the way
# ----------------------------------------------------------------------------------------------


def _drop_service(name: str) -> Callable[[TenantSnapshot], None]:
    def mutate(snap: TenantSnapshot) -> None:
        snap.objects["services"] = [s for s in snap.of("services") if s.name != name]

    return mutate


def _unready_endpoints(name: str) -> Callable[[TenantSnapshot], None]:
    def mutate(snap: TenantSnapshot) -> None:
        for es in snap.of("endpointslices"):
            if es.labels.get("kubernetes.io/service-name") == name:
                for ep in es.top("endpoints"):
                    ep["conditions"] = {"ready": False, "serving": False, "terminating": True}

    return mutate


@pytest.mark.parametrize(
    ("mutate", "affected", "summary", "evidence"),
    [
        (
            _drop_service("seldon-scheduler"),
            TO_SCHEDULER,
            "Service seldon-scheduler does not exist",
            "Service seldon-scheduler does not exist",
        ),
        (
            _unready_endpoints("seldon-scheduler"),
            TO_SCHEDULER,
            "seldon-scheduler has no ready endpoints",
            "seldon-scheduler has no ready endpoints",
        ),
        (
            _drop_service("seldon-mesh"),
            ["external-mesh"],
            "Service seldon-mesh does not exist",
            "Service seldon-mesh does not exist",
        ),
        (
            _unready_endpoints("seldon-mesh"),
            ["external-mesh"],
            "seldon-mesh has no ready endpoints",
            "seldon-mesh has no ready endpoints",
        ),
    ],
    ids=[
        "scheduler-service-missing",
        "scheduler-no-ready-endpoints",
        "mesh-service-missing",
        "mesh-no-ready-endpoints",
    ],
)
def test_missing_service_or_ready_endpoints_block_the_paths_through_it(
    mutate: Callable[[TenantSnapshot], None], affected: list[str], summary: str, evidence: str
) -> None:
    snap = example()
    mutate(snap)
    by_id = rows(run(snap))
    for row_id in affected:
        row = by_id[row_id]
        assert (row.verdict, row.summary) == ("blocked", summary), row_id
        assert evidence in text(row)
    assert {by_id[i].verdict for i in by_id if i not in affected} == {"ok"}


def test_scheduler_service_without_the_agent_port_blocks_the_agent_row() -> None:
    snap = example()
    svc = next(s for s in snap.of("services") if s.name == "seldon-scheduler")
    svc.spec["ports"] = [p for p in svc.spec["ports"] if p["port"] != 9005]
    diag = run(snap)
    assert any(f.code == "runtime.service-ports" for f in diag.findings)  # the check does see it
    assert rows(diag)["agent-scheduler/mlserver"].verdict != "ok"


def test_envoy_agent_row_sees_every_replica_service() -> None:
    snap = example()
    _drop_service("mlserver-1")(snap)
    snap.objects["endpointslices"] = [
        es for es in snap.of("endpointslices") if es.labels.get("kubernetes.io/service-name") != "mlserver-1"
    ]
    row = rows(run(snap))["envoy-agent/mlserver"]
    assert row.verdict != "ok"


# ----------------------------------------------------------------------------------------------
# Policies over more than one pod, and TLS
# ----------------------------------------------------------------------------------------------


def _ipblock_of_one_node(snap: TenantSnapshot) -> None:
    """9005 admitted from node-1's pod CIDR only: mlserver-0 lives there, mlserver-1 does not."""
    without_9005(snap)
    ips = {p.name: p.status["podIP"] for p in snap.of("pods")}
    assert ips["mlserver-0"].startswith("10.42.1.") and not ips["mlserver-1"].startswith("10.42.1.")
    put_policy(
        snap,
        "agents-from-node-1",
        {
            "podSelector": {"matchLabels": SCHEDULER},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"ipBlock": {"cidr": "10.42.1.0/24"}}], "ports": [{"port": 9005}]}],
        },
    )


def _egress_deny_on_one_replica(snap: TenantSnapshot) -> None:
    put_policy(
        snap,
        "quarantine-mlserver-1",
        {
            "podSelector": {"matchLabels": {"statefulset.kubernetes.io/pod-name": "mlserver-1"}},
            "policyTypes": ["Egress"],
        },
    )


@pytest.mark.parametrize(
    "mutate", [_ipblock_of_one_node, _egress_deny_on_one_replica], ids=["ipblock-one-node", "pod-name-selector"]
)
def test_a_policy_that_blocks_one_replica_is_not_ok(mutate: Callable[[TenantSnapshot], None]) -> None:
    snap = example()
    mutate(snap)
    _no_logs(snap)  # policies are the only evidence
    assert rows(run(snap))["agent-scheduler/mlserver"].verdict != "ok"


def test_agent_path_with_control_plane_tls_is_judged_on_9055() -> None:
    snap = example()
    for p in server_pods(snap):
        agent = next(c for c in p.spec["containers"] if c["name"] == "agent")
        agent["env"] = [e for e in agent["env"] if e["name"] != "CONTROL_PLANE_SECURITY_PROTOCOL"]
        agent["env"].append({"name": "CONTROL_PLANE_SECURITY_PROTOCOL", "value": "SSL"})
    scheduler_ports(snap, keep=lambda port: port != 9005)
    policy(snap, "allow-seldon-scheduler").spec["ingress"][0]["ports"].append({"protocol": "TCP", "port": 9055})
    row = rows(run(snap))["agent-scheduler/mlserver"]
    assert (row.verdict, row.port) == ("ok", 9055)


# ----------------------------------------------------------------------------------------------
# Applying the proposals opens the path
# ----------------------------------------------------------------------------------------------


def _both_directions(snap: TenantSnapshot) -> None:
    without_9005(snap)
    egress_deny_on_servers(snap)


@pytest.mark.parametrize(
    ("mutate", "row_id"),
    [
        (without_9005, "agent-scheduler/mlserver"),
        (egress_deny_on_servers, "agent-scheduler/mlserver"),
        (controller_only_from_tenant, "controller-scheduler"),
        (envoy_without_9000, "external-mesh"),
        (_both_directions, "agent-scheduler/mlserver"),
    ],
    ids=["ingress", "egress", "controller", "external", "ingress-and-egress"],
)
def test_applying_the_proposed_policies_turns_the_row_ok(mutate: Callable[[TenantSnapshot], None], row_id: str) -> None:
    snap = example()
    mutate(snap)
    diag = run(snap)
    assert rows(diag)[row_id].verdict == "blocked"
    apply_netpol_proposals(snap, diag)
    after = rows(run(snap))
    assert after[row_id].verdict == "ok", after[row_id].summary
    assert {r.verdict for r in after.values()} == {"ok"}


# ----------------------------------------------------------------------------------------------
# Loopback rows (agent -> inference server, agent -> rclone)
# ----------------------------------------------------------------------------------------------


def _agent_args(*args: str) -> dict[str, Any]:
    return fx.server(pod_spec={"containers": [{"name": "agent", "args": list(args)}]})


def _mlserver_env(value: str) -> dict[str, Any]:
    env = [{"name": "MLSERVER_HOST", "value": value}]
    return fx.server(pod_spec={"containers": [{"name": "mlserver", "env": env}]})


@pytest.mark.parametrize(
    ("server", "verdict", "summary", "dials", "finding"),
    [
        (
            _agent_args("--inference-host=10.1.2.3"),
            "blocked",
            "agent dials away from loopback",
            "agent dials 10.1.2.3:9500",
            "agent.inference-host-not-loopback@server/mlserver",
        ),
        (
            _mlserver_env("10.0.0.9"),
            "blocked",
            "MLServer bound to 10.0.0.9",
            "MLServer binds 10.0.0.9",
            "agent.mlserver-host@server/mlserver",
        ),
        (None, "ok", "loopback, default ports", "agent dials 0.0.0.0:9500", None),
        (
            _agent_args("--inference-host=127.0.0.1"),
            "ok",
            "loopback, default ports",
            "agent dials 127.0.0.1:9500",
            None,
        ),
    ],
    ids=["inference-host-ip", "mlserver-host-ip", "default", "inference-host-127"],
)
def test_agent_inference_row_follows_flags_and_env(
    server: dict[str, Any] | None, verdict: str, summary: str, dials: str, finding: str | None
) -> None:
    diag = run(tenant(server))
    row = rows(diag)["agent-inference/mlserver"]
    assert (row.verdict, row.summary, row.port, row.target) == (verdict, summary, 9500, "mlserver (loopback)")
    assert dials in text(row) and NOT_LOOPBACK in text(row)
    assert row.finding_ids == ([finding] if finding else [])
    if finding:
        assert any(f.id == finding and f.failure_mode == "F4" for f in diag.findings)


def test_loopback_rows_stay_ok_under_a_deny_all_policy() -> None:
    snap = example()
    put_policy(snap, "deny-all", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})
    by_id = rows(run(snap))
    assert by_id["agent-scheduler/mlserver"].verdict == "blocked"  # the policy does bite
    for row_id in LOOPBACK_ROWS:
        assert by_id[row_id].verdict == "ok", row_id
        assert NOT_LOOPBACK in text(by_id[row_id])
        assert "deny-all" not in text(by_id[row_id])


RCLONE_WAIT = "Waiting for Model Repository (rclone) service to become ready... next check in 3s"
RCLONE_ERROR = 'Post "http://0.0.0.0:5572/rc/noop": dial tcp 0.0.0.0:5572: connect: connection refused'


def _rclone_log(snap: TenantSnapshot, recovered: bool) -> None:
    lines = [
        agent_line(RCLONE_WAIT, at=90 - i, error=RCLONE_ERROR, name="AgentServiceManager", func="WaitReadySubServices")
        for i in range(3)
    ]
    if recovered:
        lines.append(agent_line("All critical agent subservices ready.", at=60, name="AgentServiceManager"))
    add_log(snap, "mlserver-1", "agent", *lines)


@pytest.mark.parametrize(
    ("recovered", "verdict", "summary"),
    [
        (False, "degraded", "agent waited for rclone"),
        (True, "ok", "loopback 0.0.0.0:5572"),
    ],
    ids=["waiting", "recovered"],
)
def test_agent_rclone_row_follows_the_agent_log(recovered: bool, verdict: str, summary: str) -> None:
    snap = tenant()
    _rclone_log(snap, recovered)
    row = rows(run(snap))["agent-rclone/mlserver"]
    assert (row.verdict, row.summary, row.port) == (verdict, summary, 5572)
    assert NOT_LOOPBACK in text(row)
    waiting = [e for e in row.evidence if e.log and "Model Repository (rclone)" in e.log.line]
    assert bool(waiting) is not recovered
    assert all(e.log.pod == "mlserver-1" and e.log.container == "agent" for e in waiting)


def test_degraded_rclone_row_links_the_rclone_finding() -> None:
    snap = tenant()
    _rclone_log(snap, recovered=False)
    diag = run(snap)
    assert any(f.id == "agent.rclone-not-ready@server/mlserver" for f in diag.findings)
    assert rows(diag)["agent-rclone/mlserver"].finding_ids == ["agent.rclone-not-ready@server/mlserver"]


@pytest.mark.parametrize("host", ["$(POD_IP)", "127.0.0.2"])
def test_a_working_inference_host_override_is_not_blocked(host: str) -> None:
    snap = tenant(_agent_args(f"--inference-host={host}"))
    for p in ("mlserver-0", "mlserver-1"):
        add_log(
            snap,
            p,
            "agent",
            agent_line("All critical agent subservices ready.", at=300, name="AgentServiceManager"),
            agent_line("Subscribed to scheduler", at=290),
        )
    diag = run(snap)
    assert not any(f.code.startswith("agent.inference") for f in diag.findings)
    row = rows(diag)["agent-inference/mlserver"]
    assert row.verdict != "blocked"


# ----------------------------------------------------------------------------------------------
# A namespace without a runtime
# ----------------------------------------------------------------------------------------------


def test_no_runtime_example_rows_to_the_scheduler_have_no_pods_behind_them() -> None:
    snap = example("no-runtime")
    assert snap.of("seldonruntimes") == []
    by_id = rows(run(snap))
    for row_id in ("controller-scheduler", "agent-scheduler/mlserver"):
        row = by_id[row_id]
        assert (row.verdict, row.summary) == ("blocked", "no pods behind seldon-scheduler"), row_id
        assert text(row) == "no pods or workload for seldon-scheduler"
        assert row.target == f"seldon-scheduler:{row.port}"
    assert (by_id["external-mesh"].verdict, by_id["external-mesh"].summary) == ("blocked", "no pods behind seldon-mesh")
    # No gateway or envoy workload exists, so there is no row claiming they reach anything.
    assert not {"envoy-scheduler", "modelgateway-scheduler", "dataflow-engine-scheduler"} & set(by_id)
