"""Pure evaluator of Kubernetes NetworkPolicies: is one network path allowed, and by which rule?

The diagnosis bot must tell a tenant *which* NetworkPolicy stops, say, the Seldon agent from reaching
the scheduler on 9005. This module re-implements the networking.k8s.io/v1 semantics on the plain API
dictionaries (camelCase, as the API server returns them) and records the policies and rules that
decided. It performs no I/O and keeps no state, so the checks can call it on a snapshot.

What it models: pod isolation per direction, union of the rules of all selecting policies, peers
(podSelector, namespaceSelector, both, ipBlock), ports (numeric, named, endPort ranges, protocols),
and the API server's defaulting of policyTypes. What it does not model, because NetworkPolicy leaves
it to the cluster: traffic from the pod's own node (always allowed), a pod talking to itself,
hostNetwork pods, and NAT done by Services or load balancers before the policy is applied.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

Direction = Literal["ingress", "egress"]

# Kubernetes sets this label on every namespace; namespaceSelectors commonly rely on it.
METADATA_NAME_LABEL = "kubernetes.io/metadata.name"

_POLICY_TYPE: Mapping[Direction, str] = MappingProxyType({"ingress": "Ingress", "egress": "Egress"})
_PEERS_KEY: Mapping[Direction, str] = MappingProxyType({"ingress": "from", "egress": "to"})
_PREPOSITION: Mapping[Direction, str] = MappingProxyType({"ingress": "from", "egress": "to"})
_CNI_NOTE = "CNI plugins differ on whether ipBlock applies to pod IPs"


def _valid_ip(value: str | None) -> str | None:
    """Reject malformed addresses at construction rather than mid-evaluation."""
    if value is not None:
        ipaddress.ip_address(value)
    return value


IpAddress = Annotated[str | None, AfterValidator(_valid_ip)]
# Kubernetes protocols are upper-case (TCP, UDP, SCTP); accept "tcp" from humans.
Protocol = Annotated[str, AfterValidator(str.upper)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ContainerPort(_Frozen):
    """One declared port of one container: named ports in policies resolve against these."""

    name: str | None = None
    port: int = Field(ge=1, le=65535)
    protocol: Protocol = "TCP"


class PodEndpoint(_Frozen):
    """A pod inside the cluster: selectors match its labels and its namespace's labels."""

    namespace: str
    labels: dict[str, str]
    ip: IpAddress = None
    ports: list[ContainerPort] = Field(default_factory=list)
    description: str = ""


class ExternalEndpoint(_Frozen):
    """A client outside the cluster: only ipBlock peers (or "any peer" rules) can admit it."""

    ip: IpAddress = None
    description: str = "external client"


Endpoint = PodEndpoint | ExternalEndpoint


class RuleMatch(_Frozen):
    """One rule of one policy that admits the traffic, so the bot can point at the exact YAML."""

    policy: str
    direction: Direction
    rule_index: int
    detail: str


class DirectionVerdict(_Frozen):
    """The verdict of one side (ingress on the target, egress on the source) with its reasons."""

    direction: Direction
    isolated: bool
    selecting_policies: list[str]
    admitted_by: list[RuleMatch]
    allowed: bool
    explanation: str


class PathVerdict(_Frozen):
    """Both sides together: traffic flows only if the source may send and the target may receive."""

    allowed: bool
    ingress: DirectionVerdict
    egress: DirectionVerdict | None
    explanation: str


@dataclass(frozen=True)
class _Flow:
    """The traffic under test as seen by the policies of one direction."""

    direction: Direction
    peer: Endpoint  # the other end: the source for ingress, the target for egress
    target: PodEndpoint  # named ports always resolve against the destination pod
    port: int
    protocol: str
    namespace_labels: Mapping[str, Mapping[str, str]]


# --------------------------------------------------------------------------- label selectors


def label_selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Whether a metav1.LabelSelector matches `labels`: `{}` matches everything, None nothing.

    None mirrors Kubernetes' LabelSelectorAsSelector(nil). NetworkPolicy peers treat an absent
    selector as "not specified"; that decision is taken by the caller, before calling this.
    """
    if selector is None:
        return False
    match_labels: Mapping[str, str] = selector.get("matchLabels") or {}
    if any(labels.get(key) != value for key, value in match_labels.items()):
        return False
    return all(_expression_matches(expr, labels) for expr in selector.get("matchExpressions") or [])


def _expression_matches(expression: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """One matchExpressions requirement; NotIn matches a missing key, as in Kubernetes."""
    key: str = expression["key"]
    values = expression.get("values") or []
    match expression["operator"]:
        case "In":
            return key in labels and labels[key] in values
        case "NotIn":
            return key not in labels or labels[key] not in values
        case "Exists":
            return key in labels
        case "DoesNotExist":
            return key not in labels
        case other:
            # The API server rejects any other operator, so this input cannot come from a cluster.
            raise ValueError(f"unknown label selector operator {other!r} for key {key!r}")


def _format_selector(selector: Mapping[str, Any]) -> str:
    """kubectl-style rendering (`app=x,tier in (a,b),!legacy`), `{}` when it selects everything."""
    match_labels: Mapping[str, str] = selector.get("matchLabels") or {}
    parts = [f"{key}={value}" for key, value in sorted(match_labels.items())]
    parts += [_format_expression(expr) for expr in selector.get("matchExpressions") or []]
    return ",".join(parts) if parts else "{}"


def _format_expression(expression: Mapping[str, Any]) -> str:
    key: str = expression["key"]
    operator: str = expression["operator"]
    values = ",".join(expression.get("values") or [])
    match operator:
        case "Exists":
            return key
        case "DoesNotExist":
            return f"!{key}"
        case "In":
            return f"{key} in ({values})"
        case "NotIn":
            return f"{key} notin ({values})"
        case _:
            return f"{key} {operator} ({values})"


def _namespace_labels(namespace: str, namespace_labels: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """Labels of a namespace, always including the name label that Kubernetes sets on each one."""
    return {**namespace_labels.get(namespace, {}), METADATA_NAME_LABEL: namespace}


# --------------------------------------------------------------------------- policies


def _spec(policy: Mapping[str, Any]) -> Mapping[str, Any]:
    return policy.get("spec") or {}


def _policy_namespace(policy: Mapping[str, Any]) -> str:
    """The namespace a policy lives in; the API always sets it, bare manifests fall back to default."""
    return (policy.get("metadata") or {}).get("namespace") or "default"


def policy_id(policy: Mapping[str, Any]) -> str:
    """`namespace/name`, the form used in verdicts so that a human can `kubectl get` it."""
    return f"{_policy_namespace(policy)}/{(policy.get('metadata') or {}).get('name', '?')}"


def policy_types(policy: Mapping[str, Any]) -> frozenset[str]:
    """Effective policyTypes, with the API server's defaulting for objects that omit them.

    Kubernetes (SetDefaults_NetworkPolicy) treats an absent or empty list as Ingress, plus Egress
    when spec.egress has at least one rule: `egress: []` alone does not isolate for egress.
    """
    spec = _spec(policy)
    declared = spec.get("policyTypes")
    if declared:
        return frozenset(declared)
    return frozenset({"Ingress", "Egress"}) if spec.get("egress") else frozenset({"Ingress"})


def selects(policy: Mapping[str, Any], pod: PodEndpoint) -> bool:
    """Whether the policy applies to the pod: same namespace and spec.podSelector matches."""
    if _policy_namespace(policy) != pod.namespace:
        return False
    # podSelector is a required struct in the API: absent means {} (every pod of the namespace).
    return label_selector_matches(_spec(policy).get("podSelector") or {}, pod.labels)


# --------------------------------------------------------------------------- peers


def _peer_matches(peer: Mapping[str, Any], policy_namespace: str, flow: _Flow) -> bool:
    """One `from`/`to` item: ipBlock by address, selectors only for pods inside the cluster."""
    ip_block = peer.get("ipBlock")
    if ip_block is not None:
        return _ip_block_matches(ip_block, flow.peer)
    if not isinstance(flow.peer, PodEndpoint):
        return False
    return _selectors_match(peer, policy_namespace, flow.peer, flow.namespace_labels)


def _selectors_match(
    peer: Mapping[str, Any],
    policy_namespace: str,
    pod: PodEndpoint,
    namespace_labels: Mapping[str, Mapping[str, str]],
) -> bool:
    """podSelector alone = policy's namespace; namespaceSelector alone = all pods; both = AND."""
    pod_selector = peer.get("podSelector")
    namespace_selector = peer.get("namespaceSelector")
    if pod_selector is None and namespace_selector is None:
        return False  # an empty peer is rejected by API validation; never let it admit traffic
    if namespace_selector is None:
        in_namespace = pod.namespace == policy_namespace
    else:
        labels = _namespace_labels(pod.namespace, namespace_labels)
        in_namespace = label_selector_matches(namespace_selector, labels)
    return in_namespace and (pod_selector is None or label_selector_matches(pod_selector, pod.labels))


def _ip_block_matches(block: Mapping[str, Any], endpoint: Endpoint) -> bool:
    """Address in cidr and in no `except`; an unknown external address only fits a /0 without except."""
    network = ipaddress.ip_network(block["cidr"], strict=False)
    excepts = [ipaddress.ip_network(cidr, strict=False) for cidr in block.get("except") or []]
    if endpoint.ip is None:
        return isinstance(endpoint, ExternalEndpoint) and network.prefixlen == 0 and not excepts
    address = ipaddress.ip_address(endpoint.ip)
    return address in network and not any(address in excluded for excluded in excepts)


def _describe_peer(peer: Mapping[str, Any], policy_namespace: str, flow: _Flow) -> str:
    ip_block = peer.get("ipBlock")
    if ip_block is not None:
        return _describe_ip_block(ip_block, flow.peer)
    pod_selector = peer.get("podSelector")
    namespace_selector = peer.get("namespaceSelector")
    if namespace_selector is None:
        return f"podSelector {_format_selector(pod_selector or {})} in namespace {policy_namespace}"
    if pod_selector is None:
        return f"namespaceSelector {_format_selector(namespace_selector)}"
    return f"podSelector {_format_selector(pod_selector)} in namespaceSelector {_format_selector(namespace_selector)}"


def _describe_ip_block(block: Mapping[str, Any], endpoint: Endpoint) -> str:
    text = f"ipBlock {block['cidr']}"
    excepts = block.get("except") or []
    if excepts:
        text += f" except [{', '.join(excepts)}]"
    if isinstance(endpoint, PodEndpoint):
        return f"{text} (matched on pod IP {endpoint.ip}; {_CNI_NOTE})"
    if endpoint.ip is None:
        return f"{text} (arbitrary external address)"
    return text


# --------------------------------------------------------------------------- ports


def _port_matches(spec: Mapping[str, Any], flow: _Flow) -> bool:
    """One NetworkPolicyPort: protocol (default TCP) and then number, range or named port."""
    if str(spec.get("protocol") or "TCP").upper() != flow.protocol:
        return False
    port: int | str | None = spec.get("port")
    if port is None:
        return True  # a protocol without a port means every port of that protocol
    if isinstance(port, str):
        return _named_port_resolves(port, flow)
    end_port: int | None = spec.get("endPort")
    if end_port is None:
        return flow.port == port
    return port <= flow.port <= end_port


def _named_port_resolves(name: str, flow: _Flow) -> bool:
    """A named port matches if the destination pod declares that name with this number and protocol."""
    return any(
        declared.name == name and declared.port == flow.port and declared.protocol == flow.protocol
        for declared in flow.target.ports
    )


def _describe_port(spec: Mapping[str, Any], flow: _Flow) -> str:
    protocol = str(spec.get("protocol") or "TCP").upper()
    port = spec.get("port")
    if port is None:
        return f"all {protocol} ports"
    if isinstance(port, str):
        return f"named port {port} ({flow.port}/{protocol} on {_describe(flow.target)})"
    end_port = spec.get("endPort")
    if end_port is None:
        return f"port {port}/{protocol}"
    return f"ports {port}-{end_port}/{protocol}"


# --------------------------------------------------------------------------- rules and directions


def _matching_peer(peers: Sequence[Mapping[str, Any]], policy_namespace: str, flow: _Flow) -> str | None:
    """Description of the first peer admitting the flow; an empty `from`/`to` admits any peer."""
    if not peers:
        return "any peer"
    for peer in peers:
        if _peer_matches(peer or {}, policy_namespace, flow):
            return _describe_peer(peer or {}, policy_namespace, flow)
    return None


def _matching_port(ports: Sequence[Mapping[str, Any]], flow: _Flow) -> str | None:
    """Description of the first port admitting the flow; an empty `ports` admits every port."""
    if not ports:
        return "all ports"
    for spec in ports:
        if _port_matches(spec or {}, flow):
            return _describe_port(spec or {}, flow)
    return None


def _match_rule(policy: Mapping[str, Any], index: int, rule: Mapping[str, Any], flow: _Flow) -> RuleMatch | None:
    """A rule admits the flow only if both one of its peers and one of its ports match."""
    peer_text = _matching_peer(rule.get(_PEERS_KEY[flow.direction]) or [], _policy_namespace(policy), flow)
    if peer_text is None:
        return None
    port_text = _matching_port(rule.get("ports") or [], flow)
    if port_text is None:
        return None
    detail = f"{_PREPOSITION[flow.direction]} {peer_text}, {port_text}"
    return RuleMatch(policy=policy_id(policy), direction=flow.direction, rule_index=index, detail=detail)


def _policy_matches(policy: Mapping[str, Any], flow: _Flow) -> list[RuleMatch]:
    rules = _spec(policy).get(flow.direction) or []
    candidates = (_match_rule(policy, index, rule or {}, flow) for index, rule in enumerate(rules))
    return [match for match in candidates if match is not None]


def _evaluate_direction(policies: Sequence[Mapping[str, Any]], subject: PodEndpoint, flow: _Flow) -> DirectionVerdict:
    """Isolation by any selecting policy of this type, then the union of all their rules."""
    policy_type = _POLICY_TYPE[flow.direction]
    selecting = [p for p in policies if selects(p, subject) and policy_type in policy_types(p)]
    matches = [match for policy in selecting for match in _policy_matches(policy, flow)]
    names = [policy_id(policy) for policy in selecting]
    allowed = not selecting or bool(matches)
    return DirectionVerdict(
        direction=flow.direction,
        isolated=bool(selecting),
        selecting_policies=names,
        admitted_by=matches,
        allowed=allowed,
        explanation=_explain_direction(subject, names, matches, flow),
    )


# --------------------------------------------------------------------------- explanations


def _describe(endpoint: Endpoint) -> str:
    """A short human name for an endpoint, from its description or else its identity."""
    if isinstance(endpoint, ExternalEndpoint):
        return f"{endpoint.description} {endpoint.ip}" if endpoint.ip else endpoint.description
    if endpoint.description:
        return endpoint.description
    labels = ",".join(f"{key}={value}" for key, value in sorted(endpoint.labels.items()))
    return f"pod {labels or '(no labels)'} in namespace {endpoint.namespace}"


def _explain_direction(subject: PodEndpoint, names: list[str], matches: list[RuleMatch], flow: _Flow) -> str:
    if not names:
        return f"no NetworkPolicy selects {_describe(subject)} for {flow.direction}: all traffic allowed"
    side = "ingress to" if flow.direction == "ingress" else "egress from"
    scope = f"{side} {_describe(subject)} is isolated by {', '.join(names)}"
    traffic = f"{flow.port}/{flow.protocol} {_PREPOSITION[flow.direction]} {_describe(flow.peer)}"
    if not matches:
        return f"{scope} and no rule admits {traffic}"
    rules = ", ".join(f"{m.policy} ({m.direction}[{m.rule_index}]: {m.detail})" for m in matches)
    return f"{scope}; {traffic} is admitted by {rules}"


def _explain_path(
    source: Endpoint, target: PodEndpoint, port: int, protocol: str, verdicts: list[DirectionVerdict]
) -> str:
    allowed = all(verdict.allowed for verdict in verdicts)
    reasons = [verdict.explanation for verdict in verdicts if allowed or not verdict.allowed]
    if isinstance(source, ExternalEndpoint):
        reasons.append("egress of an external client is not governed by NetworkPolicy")
    outcome = "allowed" if allowed else "denied"
    head = f"{port}/{protocol} from {_describe(source)} to {_describe(target)} is {outcome}"
    return f"{head}: {'; '.join(reasons)}"


# --------------------------------------------------------------------------- entry point


def evaluate_path(
    policies: Sequence[Mapping[str, Any]],
    namespace_labels: Mapping[str, Mapping[str, str]],
    source: Endpoint,
    target: PodEndpoint,
    port: int,
    protocol: str = "TCP",
) -> PathVerdict:
    """Whether `source` may open `port`/`protocol` (a container port of `target`) under `policies`.

    Ingress is evaluated on the target and, for in-cluster sources, egress on the source; the path
    is allowed only if both sides allow it. `namespace_labels` maps namespace name to its labels.
    """
    if not 1 <= port <= 65535:
        raise ValueError(f"port {port} is outside 1-65535")
    protocol = protocol.upper()
    ingress_flow = _Flow("ingress", source, target, port, protocol, namespace_labels)
    ingress = _evaluate_direction(policies, target, ingress_flow)
    egress: DirectionVerdict | None = None
    if isinstance(source, PodEndpoint):
        egress_flow = _Flow("egress", target, target, port, protocol, namespace_labels)
        egress = _evaluate_direction(policies, source, egress_flow)
    verdicts = [verdict for verdict in (egress, ingress) if verdict is not None]
    return PathVerdict(
        allowed=all(verdict.allowed for verdict in verdicts),
        ingress=ingress,
        egress=egress,
        explanation=_explain_path(source, target, port, protocol, verdicts),
    )
