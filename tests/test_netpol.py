"""Tests of the NetworkPolicy evaluator against Kubernetes semantics, on API-shaped dictionaries."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from bot.diagnosis.netpol import (
    ContainerPort,
    ExternalEndpoint,
    PathVerdict,
    PodEndpoint,
    evaluate_path,
    label_selector_matches,
    policy_types,
    selects,
)

TENANT = "financial-ml"


def netpol(name: str, spec: dict[str, Any], namespace: str = TENANT) -> dict[str, Any]:
    """A NetworkPolicy as `kubectl get networkpolicy -o json` shows it."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}", "resourceVersion": "1"},
        "spec": spec,
    }


SCHEDULER = PodEndpoint(
    namespace=TENANT,
    labels={"app.kubernetes.io/name": "seldon-scheduler", "app.kubernetes.io/managed-by": "seldon-core"},
    ip="10.42.1.15",
    ports=[
        ContainerPort(name="xds", port=9002),
        ContainerPort(name="scheduler", port=9004),
        ContainerPort(name="agent", port=9005),
    ],
    description="pod seldon-scheduler-0",
)
MLSERVER = PodEndpoint(
    namespace=TENANT,
    labels={"app.kubernetes.io/name": "mlserver", "seldon-server-name": "mlserver"},
    ip="10.42.2.7",
    ports=[ContainerPort(name="http", port=9000), ContainerPort(name="grpc", port=9500)],
    description="pod mlserver-0",
)
ENVOY_IN_TENANT = PodEndpoint(
    namespace=TENANT, labels={"app.kubernetes.io/name": "seldon-envoy"}, description="pod seldon-envoy-0"
)
ENVOY_IN_MESH = PodEndpoint(
    namespace="seldon-mesh", labels={"app.kubernetes.io/name": "seldon-envoy"}, description="pod envoy-x"
)
OPERATOR_IN_MESH = PodEndpoint(
    namespace="seldon-mesh", labels={"control-plane": "seldon-controller-manager"}, description="pod op"
)
MLSERVER_ELSEWHERE = MLSERVER.model_copy(update={"namespace": "team-b", "description": "pod b/mlserver-0"})

DEFAULT_DENY_INGRESS = netpol("default-deny", {"podSelector": {}, "policyTypes": ["Ingress"]})
DEFAULT_DENY_EGRESS = netpol("deny-egress", {"podSelector": {}, "policyTypes": ["Egress"]})
SCHEDULER_SELECTOR = {"matchLabels": {"app.kubernetes.io/name": "seldon-scheduler"}}
SERVER_SELECTOR = {"matchLabels": {"seldon-server-name": "mlserver"}}


def allow_to_scheduler(name: str, ingress: list[dict[str, Any]]) -> dict[str, Any]:
    return netpol(name, {"podSelector": SCHEDULER_SELECTOR, "policyTypes": ["Ingress"], "ingress": ingress})


def to_scheduler(
    policies: list[dict[str, Any]],
    source: PodEndpoint | ExternalEndpoint = MLSERVER,
    port: int = 9005,
    protocol: str = "TCP",
    namespace_labels: dict[str, dict[str, str]] | None = None,
) -> PathVerdict:
    return evaluate_path(policies, namespace_labels or {}, source, SCHEDULER, port, protocol)


# --------------------------------------------------------------------------- isolation basics


def test_no_policies_allows_everything() -> None:
    verdict = to_scheduler([])
    assert verdict.allowed
    assert not verdict.ingress.isolated and verdict.ingress.selecting_policies == []
    assert verdict.egress is not None and not verdict.egress.isolated
    assert verdict.ingress.explanation == (
        "no NetworkPolicy selects pod seldon-scheduler-0 for ingress: all traffic allowed"
    )


def test_default_deny_ingress_denies_and_names_the_policy() -> None:
    verdict = to_scheduler([DEFAULT_DENY_INGRESS])
    assert not verdict.allowed
    assert verdict.ingress.isolated
    assert verdict.ingress.selecting_policies == ["financial-ml/default-deny"]
    assert verdict.ingress.admitted_by == []
    assert verdict.ingress.explanation == (
        "ingress to pod seldon-scheduler-0 is isolated by financial-ml/default-deny "
        "and no rule admits 9005/TCP from pod mlserver-0"
    )
    assert verdict.egress is not None and verdict.egress.allowed  # default-deny has no Egress type


def test_default_deny_plus_allow_from_same_namespace_pod_selector() -> None:
    allow = allow_to_scheduler("allow-servers", [{"from": [{"podSelector": SERVER_SELECTOR}]}])
    verdict = to_scheduler([DEFAULT_DENY_INGRESS, allow])
    assert verdict.allowed
    assert verdict.ingress.selecting_policies == ["financial-ml/default-deny", "financial-ml/allow-servers"]
    [match] = verdict.ingress.admitted_by
    assert (match.policy, match.direction, match.rule_index) == ("financial-ml/allow-servers", "ingress", 0)
    assert match.detail == "from podSelector seldon-server-name=mlserver in namespace financial-ml, all ports"


def test_pod_selector_peer_does_not_reach_into_other_namespaces() -> None:
    allow = allow_to_scheduler("allow-servers", [{"from": [{"podSelector": SERVER_SELECTOR}]}])
    verdict = to_scheduler([allow], source=MLSERVER_ELSEWHERE)
    assert not verdict.allowed
    assert verdict.ingress.selecting_policies == ["financial-ml/allow-servers"]
    assert verdict.ingress.admitted_by == []


def test_several_policies_are_unioned() -> None:
    by_port = allow_to_scheduler("allow-9005", [{"ports": [{"protocol": "TCP", "port": 9005}]}])
    by_peer = allow_to_scheduler("allow-tenant-pods", [{"from": [{"podSelector": {}}]}])
    verdict = to_scheduler([DEFAULT_DENY_INGRESS, by_port, by_peer])
    assert verdict.allowed
    assert [m.policy for m in verdict.ingress.admitted_by] == [
        "financial-ml/allow-9005",
        "financial-ml/allow-tenant-pods",
    ]
    assert verdict.ingress.admitted_by[0].detail == "from any peer, port 9005/TCP"
    assert "financial-ml/default-deny" in verdict.ingress.explanation


def test_policy_in_other_namespace_does_not_select_the_pod() -> None:
    foreign = netpol("default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}, "team-b")
    assert not selects(foreign, SCHEDULER)
    verdict = to_scheduler([foreign])
    assert verdict.allowed
    assert verdict.ingress.selecting_policies == []
    assert verdict.egress is not None and verdict.egress.selecting_policies == []


def test_empty_pod_selector_selects_every_pod_of_its_namespace() -> None:
    assert all(selects(DEFAULT_DENY_INGRESS, pod) for pod in (SCHEDULER, MLSERVER, ENVOY_IN_TENANT))
    assert not selects(DEFAULT_DENY_INGRESS, ENVOY_IN_MESH)
    narrow = allow_to_scheduler("only-scheduler", [])
    assert selects(narrow, SCHEDULER) and not selects(narrow, MLSERVER)


def test_policy_types_egress_only_leaves_ingress_open() -> None:
    policy = netpol(
        "egress-only",
        {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "ingress": [{"from": [{"ipBlock": {"cidr": "1.2.3.4/32"}}]}],
        },
    )
    verdict = to_scheduler([policy], source=ExternalEndpoint())
    assert verdict.allowed
    assert not verdict.ingress.isolated
    assert verdict.egress is None


# --------------------------------------------------------------------------- namespaceSelector and peers


def test_namespace_selector_only_admits_every_pod_of_matching_namespaces() -> None:
    allow = allow_to_scheduler(
        "allow-mesh",
        [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "seldon-mesh"}}}]}],
    )
    admitted = to_scheduler([allow], source=OPERATOR_IN_MESH)
    assert admitted.allowed
    assert admitted.ingress.admitted_by[0].detail == (
        "from namespaceSelector kubernetes.io/metadata.name=seldon-mesh, all ports"
    )
    denied = to_scheduler([allow], source=MLSERVER)
    assert not denied.allowed and denied.ingress.selecting_policies == ["financial-ml/allow-mesh"]


def test_namespace_labels_from_map_keep_the_name_label() -> None:
    selector = {"matchLabels": {"team": "platform", "kubernetes.io/metadata.name": "seldon-mesh"}}
    allow = allow_to_scheduler("allow-platform", [{"from": [{"namespaceSelector": selector}]}])
    labels = {"seldon-mesh": {"team": "platform"}}
    verdict = to_scheduler([allow], source=OPERATOR_IN_MESH, namespace_labels=labels)
    assert verdict.allowed
    assert verdict.ingress.admitted_by[0].policy == "financial-ml/allow-platform"
    assert not to_scheduler([allow], source=OPERATOR_IN_MESH).allowed  # without the map: no team label


ENVOY_SELECTOR = {"matchLabels": {"app.kubernetes.io/name": "seldon-envoy"}}
MESH_SELECTOR = {"matchLabels": {"kubernetes.io/metadata.name": "seldon-mesh"}}
# One dash: a single peer carrying both selectors means "envoy pods IN the seldon-mesh namespace".
AND_PEER = allow_to_scheduler(
    "and-peer", [{"from": [{"namespaceSelector": MESH_SELECTOR, "podSelector": ENVOY_SELECTOR}]}]
)
# Two dashes: two peers mean "any pod of seldon-mesh OR envoy pods of the policy's own namespace".
OR_PEERS = allow_to_scheduler(
    "or-peers", [{"from": [{"namespaceSelector": MESH_SELECTOR}, {"podSelector": ENVOY_SELECTOR}]}]
)


@pytest.mark.parametrize(
    ("source", "allowed"),
    [(ENVOY_IN_MESH, True), (OPERATOR_IN_MESH, False), (ENVOY_IN_TENANT, False)],
)
def test_namespace_and_pod_selector_in_one_peer_is_an_and(source: PodEndpoint, allowed: bool) -> None:
    verdict = to_scheduler([AND_PEER], source=source)
    assert verdict.allowed is allowed
    detail = (
        "from podSelector app.kubernetes.io/name=seldon-envoy "
        "in namespaceSelector kubernetes.io/metadata.name=seldon-mesh, all ports"
    )
    assert [m.detail for m in verdict.ingress.admitted_by] == ([detail] if allowed else [])


@pytest.mark.parametrize(
    ("source", "detail_prefix"),
    [
        (ENVOY_IN_MESH, "from namespaceSelector"),
        (OPERATOR_IN_MESH, "from namespaceSelector"),
        (ENVOY_IN_TENANT, "from podSelector app.kubernetes.io/name=seldon-envoy in namespace financial-ml"),
    ],
)
def test_separate_peers_are_an_or(source: PodEndpoint, detail_prefix: str) -> None:
    verdict = to_scheduler([OR_PEERS], source=source)
    assert verdict.allowed
    [match] = verdict.ingress.admitted_by
    assert match.policy == "financial-ml/or-peers" and match.detail.startswith(detail_prefix)


# --------------------------------------------------------------------------- label selectors


@pytest.mark.parametrize(
    ("expression", "labels", "expected"),
    [
        ({"key": "tier", "operator": "In", "values": ["a", "b"]}, {"tier": "b"}, True),
        ({"key": "tier", "operator": "In", "values": ["a", "b"]}, {"tier": "c"}, False),
        ({"key": "tier", "operator": "In", "values": ["a"]}, {}, False),
        ({"key": "tier", "operator": "NotIn", "values": ["a"]}, {"tier": "b"}, True),
        ({"key": "tier", "operator": "NotIn", "values": ["a"]}, {"tier": "a"}, False),
        ({"key": "tier", "operator": "NotIn", "values": ["a"]}, {}, True),  # missing key matches NotIn
        ({"key": "tier", "operator": "Exists"}, {"tier": ""}, True),
        ({"key": "tier", "operator": "Exists"}, {"other": "x"}, False),
        ({"key": "tier", "operator": "DoesNotExist"}, {"other": "x"}, True),
        ({"key": "tier", "operator": "DoesNotExist"}, {"tier": "a"}, False),
    ],
)
def test_match_expressions_operators(expression: dict[str, Any], labels: dict[str, str], expected: bool) -> None:
    assert label_selector_matches({"matchExpressions": [expression]}, labels) is expected


def test_match_labels_and_expressions_are_anded_and_null_differs_from_empty() -> None:
    selector = {
        "matchLabels": {"app": "x"},
        "matchExpressions": [{"key": "legacy", "operator": "DoesNotExist"}],
    }
    assert label_selector_matches(selector, {"app": "x"})
    assert not label_selector_matches(selector, {"app": "x", "legacy": "true"})
    assert not label_selector_matches(selector, {"legacy": "true"})
    assert label_selector_matches({}, {"anything": "at-all"})
    assert not label_selector_matches(None, {"anything": "at-all"})


def test_match_expressions_in_a_policy_selector() -> None:
    selector = {
        "matchExpressions": [
            {"key": "seldon-server-name", "operator": "In", "values": ["mlserver", "triton"]},
            {"key": "canary", "operator": "DoesNotExist"},
        ]
    }
    allow = allow_to_scheduler("allow-servers", [{"from": [{"podSelector": selector}]}])
    verdict = to_scheduler([allow])
    assert verdict.allowed
    assert verdict.ingress.admitted_by[0].detail.startswith(
        "from podSelector seldon-server-name in (mlserver,triton),!canary in namespace financial-ml"
    )
    canary = MLSERVER.model_copy(update={"labels": {**MLSERVER.labels, "canary": "1"}})
    assert not to_scheduler([allow], source=canary).allowed


def test_unknown_operator_is_rejected_loudly() -> None:
    with pytest.raises(ValueError, match="Matches"):
        label_selector_matches({"matchExpressions": [{"key": "a", "operator": "Matches"}]}, {"a": "b"})


# --------------------------------------------------------------------------- ports


def test_named_port_matches_the_target_container_port() -> None:
    allow = allow_to_scheduler("allow-agent", [{"ports": [{"protocol": "TCP", "port": "agent"}]}])
    verdict = to_scheduler([allow], port=9005)
    assert verdict.allowed
    assert verdict.ingress.admitted_by[0].detail == (
        "from any peer, named port agent (9005/TCP on pod seldon-scheduler-0)"
    )


def test_named_port_with_another_number_does_not_match() -> None:
    allow = allow_to_scheduler("allow-agent", [{"ports": [{"port": "agent"}]}])
    verdict = to_scheduler([allow], port=9004)  # "agent" is 9005 on the scheduler, not 9004
    assert not verdict.allowed
    assert verdict.ingress.selecting_policies == ["financial-ml/allow-agent"]
    assert verdict.ingress.admitted_by == []


def test_named_port_absent_on_the_target_does_not_match() -> None:
    allow = allow_to_scheduler("allow-metrics", [{"ports": [{"port": "metrics"}]}])
    verdict = to_scheduler([allow], port=9005)
    assert not verdict.allowed
    assert "no rule admits 9005/TCP" in verdict.ingress.explanation


@pytest.mark.parametrize(("port", "allowed"), [(9005, True), (9004, False)])
def test_numeric_port(port: int, allowed: bool) -> None:
    allow = allow_to_scheduler("allow-9005", [{"ports": [{"protocol": "TCP", "port": 9005}]}])
    verdict = to_scheduler([allow], port=port)
    assert verdict.allowed is allowed
    assert [m.detail for m in verdict.ingress.admitted_by] == (["from any peer, port 9005/TCP"] if allowed else [])


@pytest.mark.parametrize(("port", "allowed"), [(8999, False), (9000, True), (9005, True), (9010, True), (9011, False)])
def test_end_port_range_is_inclusive(port: int, allowed: bool) -> None:
    allow = allow_to_scheduler("allow-range", [{"ports": [{"protocol": "TCP", "port": 9000, "endPort": 9010}]}])
    verdict = to_scheduler([allow], port=port)
    assert verdict.allowed is allowed
    assert [m.detail for m in verdict.ingress.admitted_by] == (
        ["from any peer, ports 9000-9010/TCP"] if allowed else []
    )


@pytest.mark.parametrize(("protocol", "allowed"), [("TCP", False), ("UDP", True), ("udp", True)])
def test_protocol_must_match(protocol: str, allowed: bool) -> None:
    allow = allow_to_scheduler("allow-udp", [{"ports": [{"protocol": "UDP", "port": 9005}]}])
    verdict = to_scheduler([allow], protocol=protocol)
    assert verdict.allowed is allowed
    assert [m.policy for m in verdict.ingress.admitted_by] == (["financial-ml/allow-udp"] if allowed else [])


def test_protocol_without_port_admits_every_port_of_that_protocol() -> None:
    allow = allow_to_scheduler("allow-tcp", [{"ports": [{"protocol": "TCP"}]}])
    assert to_scheduler([allow], port=9004).ingress.admitted_by[0].detail == "from any peer, all TCP ports"
    assert not to_scheduler([allow], port=9004, protocol="UDP").allowed


# --------------------------------------------------------------------------- ipBlock and external clients

POD_CIDR_RULE = [{"from": [{"ipBlock": {"cidr": "10.42.0.0/16", "except": ["10.42.2.0/24"]}}]}]


def test_ip_block_with_except_on_pod_ips() -> None:
    allow = allow_to_scheduler("allow-pod-cidr", POD_CIDR_RULE)
    envoy = ENVOY_IN_MESH.model_copy(update={"ip": "10.42.1.30"})
    verdict = to_scheduler([allow], source=envoy)
    assert verdict.allowed
    detail = verdict.ingress.admitted_by[0].detail
    assert detail.startswith("from ipBlock 10.42.0.0/16 except [10.42.2.0/24]")
    assert "CNI plugins differ on whether ipBlock applies to pod IPs" in detail
    excluded = to_scheduler([allow], source=MLSERVER)  # 10.42.2.7 sits in the except range
    assert not excluded.allowed and excluded.ingress.admitted_by == []


def test_ip_block_cannot_match_a_pod_without_known_ip() -> None:
    allow = allow_to_scheduler("allow-all-ips", [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}])
    verdict = to_scheduler([allow], source=ENVOY_IN_MESH)
    assert not verdict.allowed
    assert verdict.ingress.selecting_policies == ["financial-ml/allow-all-ips"]


@pytest.mark.parametrize(
    ("peer", "allowed"),
    [
        ({"ipBlock": {"cidr": "0.0.0.0/0"}}, True),
        ({"ipBlock": {"cidr": "::/0"}}, True),
        ({"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}, False),
        ({"ipBlock": {"cidr": "203.0.113.0/24"}}, False),
        ({"namespaceSelector": {}}, False),
        ({"podSelector": {}}, False),
    ],
)
def test_external_source_without_ip(peer: dict[str, Any], allowed: bool) -> None:
    allow = allow_to_scheduler("allow-lb", [{"from": [peer]}])
    verdict = to_scheduler([allow], source=ExternalEndpoint())
    assert verdict.allowed is allowed
    assert verdict.egress is None
    if allowed:
        assert verdict.ingress.admitted_by[0].detail.endswith("(arbitrary external address), all ports")
    else:
        assert "no rule admits 9005/TCP from external client" in verdict.ingress.explanation


@pytest.mark.parametrize(
    ("ip", "allowed"),
    [("203.0.113.10", True), ("198.51.100.1", False), ("2001:db8::1", True), ("2001:db8:1::1", False)],
)
def test_external_source_with_ip_ipv4_and_ipv6(ip: str, allowed: bool) -> None:
    allow = allow_to_scheduler(
        "allow-lb",
        [
            {"from": [{"ipBlock": {"cidr": "203.0.113.0/24"}}]},
            {"from": [{"ipBlock": {"cidr": "2001:db8::/32", "except": ["2001:db8:1::/48"]}}]},
        ],
    )
    verdict = to_scheduler([allow], source=ExternalEndpoint(ip=ip))
    assert verdict.allowed is allowed
    expected_rule = [0] if ":" not in ip else [1]
    assert [m.rule_index for m in verdict.ingress.admitted_by] == (expected_rule if allowed else [])


def test_rule_without_from_admits_external_clients() -> None:
    allow = allow_to_scheduler("allow-any", [{"ports": [{"port": 9005}]}])
    verdict = to_scheduler([allow], source=ExternalEndpoint())
    assert verdict.allowed
    assert verdict.ingress.admitted_by[0].detail == "from any peer, port 9005/TCP"
    assert "egress of an external client is not governed by NetworkPolicy" in verdict.explanation


# --------------------------------------------------------------------------- egress, policyTypes defaulting


def test_policy_types_omitted_with_egress_rules_isolates_egress() -> None:
    only_dns = netpol(
        "only-dns",
        {
            "podSelector": SERVER_SELECTOR,
            "egress": [{"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}],
        },
    )
    assert policy_types(only_dns) == {"Ingress", "Egress"}
    verdict = to_scheduler([only_dns])
    assert not verdict.allowed
    assert verdict.egress is not None and verdict.egress.selecting_policies == ["financial-ml/only-dns"]
    assert verdict.ingress.allowed  # the policy selects mlserver, not the scheduler


def test_policy_types_omitted_without_egress_rules_is_ingress_only() -> None:
    ingress_only = netpol("ingress-only", {"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}]})
    empty_egress = netpol("empty-egress", {"podSelector": {}, "egress": []})
    assert policy_types(ingress_only) == {"Ingress"}
    assert policy_types(empty_egress) == {"Ingress"}  # API server defaulting: egress needs a rule
    verdict = to_scheduler([ingress_only])
    assert verdict.allowed
    assert verdict.egress is not None and not verdict.egress.isolated
    assert verdict.ingress.admitted_by[0].policy == "financial-ml/ingress-only"


def test_egress_default_deny_on_source_blocks_although_ingress_allows() -> None:
    allow = allow_to_scheduler("allow-servers", [{"from": [{"podSelector": SERVER_SELECTOR}]}])
    verdict = to_scheduler([DEFAULT_DENY_EGRESS, allow])
    assert not verdict.allowed
    assert verdict.ingress.allowed and verdict.ingress.admitted_by[0].policy == "financial-ml/allow-servers"
    assert verdict.egress is not None and not verdict.egress.allowed
    assert verdict.egress.selecting_policies == ["financial-ml/deny-egress"]
    assert verdict.explanation == (
        "9005/TCP from pod mlserver-0 to pod seldon-scheduler-0 is denied: egress from pod mlserver-0 "
        "is isolated by financial-ml/deny-egress and no rule admits 9005/TCP to pod seldon-scheduler-0"
    )


def test_egress_rule_resolves_named_port_on_the_destination_pod() -> None:
    allow_egress = netpol(
        "servers-to-scheduler",
        {
            "podSelector": SERVER_SELECTOR,
            "policyTypes": ["Egress"],
            "egress": [
                {"to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "other"}}}]},
                {
                    "to": [{"namespaceSelector": {}, "podSelector": SCHEDULER_SELECTOR}],
                    "ports": [{"protocol": "TCP", "port": "agent"}],
                },
            ],
        },
    )
    verdict = to_scheduler([DEFAULT_DENY_EGRESS, allow_egress])
    assert verdict.allowed
    assert verdict.egress is not None
    [match] = verdict.egress.admitted_by
    assert (match.policy, match.direction, match.rule_index) == (
        "financial-ml/servers-to-scheduler",
        "egress",
        1,
    )
    assert match.detail.startswith(
        "to podSelector app.kubernetes.io/name=seldon-scheduler in namespaceSelector {}, named port agent"
    )
    assert not to_scheduler([DEFAULT_DENY_EGRESS, allow_egress], port=9004).allowed  # "agent" is 9005


# --------------------------------------------------------------------------- input validation


def test_invalid_inputs_are_rejected() -> None:
    with pytest.raises(ValidationError):
        PodEndpoint(namespace=TENANT, labels={}, ip="10.42.1.999")
    with pytest.raises(ValueError, match="outside"):
        to_scheduler([], port=70000)
