"""Scaffolding for tests/test_executor.py: a seeded fake cluster, the fake operator, a fake clock.

The executor, the rollout wait, the retries and the live verifier all take their clock and sleep as
arguments: `FakeClock` advances time only when something sleeps, so a 600 s rollout timeout passes in
microseconds and the sequence of sleeps is visible to the test.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from fakekube import FakeKube, FakeSeldonOperator, RecordedRequest

from bot.cluster.collector import Collector, Limits
from bot.diagnosis.engine import diagnose
from bot.diagnosis.models import Diagnosis, Proposal
from bot.playbooks import Playbook, load_playbook
from bot.remediation.events import Actor, AuditEvent, CollectingSink
from bot.remediation.executor import Execution, Executor, Timing
from bot.remediation.kube import KubeTarget
from bot.remediation.verify import LiveVerifier
from bot.seldon.quantity import to_bytes
from bot.snapshot import TenantSnapshot

Json = dict[str, Any]
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SERVERS = ("mlops.seldon.io/v1alpha1", "Server")
STATEFULSETS = ("apps/v1", "StatefulSet")
SERVER_PATH = "/apis/mlops.seldon.io/v1alpha1/namespaces/{ns}/servers/{name}"
STS_PATH = "/apis/apps/v1/namespaces/{ns}/statefulsets/{name}"
MEMORY_LINE = "Setting memory request from env MEMORY_REQUEST with value {}"
FAST = Limits(timeout=2.0, retries=2, backoff=0.01)
START = datetime(2026, 11, 26, 10, 0, 0, tzinfo=UTC)
ALICE = Actor(id="U0ALICE", name="alice")
BOB = Actor(id="U0BOB", name="bob")


_PROPOSALS: dict[tuple[str, str, str], Proposal] = {}


class FakeClock:
    """Monotonic seconds and wall time that move only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def wall(self) -> datetime:
        return START + timedelta(seconds=self.now)


def logrus(msg: str, level: str = "info", at: str = "2026-11-26T10:00:05Z", **fields: str) -> str:
    quoted = " ".join(f'{k}="{v}"' for k, v in fields.items())
    return f'time="{at}" level={level} msg="{msg}"' + (f" {quoted}" if quoted else "")


def example_log(example: str, pod: str, container: str) -> list[str]:
    return (EXAMPLES / example / "logs" / pod / f"{container}.log").read_text(encoding="utf-8").splitlines()


def capacity_log(example: str, pod: str, value: int) -> list[str]:
    """The example's agent log of `pod`, as a restarted agent would write it with capacity `value`."""
    prefix = MEMORY_LINE.format("")
    return [
        logrus(MEMORY_LINE.format(value)) if prefix in line else line for line in example_log(example, pod, "agent")
    ]


@dataclass
class Cluster:
    """One tenant on the fake API server, with the bot's reads and the executor wired to it."""

    kube: FakeKube
    namespace: str
    example: str
    clock: FakeClock = field(default_factory=FakeClock)
    sink: CollectingSink = field(default_factory=CollectingSink)
    playbook: Playbook = field(default_factory=lambda: load_playbook("diagnose"))
    operator: FakeSeldonOperator | None = None
    rolled: list[tuple[str, list[str]]] = field(default_factory=list)
    kube_sleeps: list[float] = field(default_factory=list)
    pristine: bool = True  # seeded as the example is, with no edit

    def __post_init__(self) -> None:
        self.api = self.kube.api_client()
        self.seed_version = self.kube.store.resource_version

    # --- the bot's side ---------------------------------------------------------------------------

    def collect(self) -> TenantSnapshot:
        return Collector(self.api, limits=FAST, sleep=lambda _: None).collect(self.namespace)

    def diagnose(self) -> Diagnosis:
        return diagnose(self.collect(), self.playbook)

    def proposal(self, code: str, *, live: bool = False) -> Proposal:
        """The proposal for finding `code` from a diagnosis through the fake API server.

        While nothing was written since seeding (the global resourceVersion did not move), the
        diagnosis is the one of the pristine example and is reused across tests unless `live`.
        """
        key = (self.example, self.namespace, code)
        unchanged = self.pristine and self.kube.store.resource_version == self.seed_version
        if live or not unchanged or key not in _PROPOSALS:
            diag = self.diagnose()
            found = [p for p in diag.proposals if p.finding_id.split("@")[0] == code]
            assert found, f"no {code} proposal; got {[p.finding_id for p in diag.proposals]}"
            if not unchanged:
                return found[0]
            _PROPOSALS[key] = found[0]
        return _PROPOSALS[key].model_copy(deep=True)

    def target(self, timeout: float = 10.0) -> KubeTarget:
        return KubeTarget(self.api, timeout=timeout, sleep=self.kube_sleeps.append)

    def verifier(self, timeout: float = 60.0) -> LiveVerifier:
        return LiveVerifier(
            self.collect,
            self.playbook,
            timeout=timeout,
            interval=5.0,
            clock=self.clock.monotonic,
            sleep=self.clock.sleep,
        )

    def executor(
        self,
        *,
        verify: bool = True,
        rollout_timeout: float = 120.0,
        verify_timeout: float = 60.0,
        kube_timeout: float = 10.0,
    ) -> Executor:
        return Executor(
            self.target(kube_timeout),
            self.sink,
            self.verifier(verify_timeout) if verify else None,
            timing=Timing(rollout_timeout=rollout_timeout, interval=2.0),
            clock=self.clock.wall,
            monotonic=self.clock.monotonic,
            sleep=self.clock.sleep,
        )

    def run(self, proposal: Proposal, *, executor: Executor | None = None, **kwargs: Any) -> Execution:
        kwargs.setdefault("actor", ALICE)
        kwargs.setdefault("approver", BOB)
        kwargs.setdefault("correlation_id", "run-test")
        return (executor or self.executor()).run(proposal, **kwargs)

    # --- the cluster's side -----------------------------------------------------------------------

    def start_operator(self, on_rolled: Callable[[str, list[Json]], None] | None = None) -> FakeSeldonOperator:
        def rolled(namespace: str, server: str, pods: list[Json]) -> None:
            self.rolled.append((server, [p["metadata"]["name"] for p in pods]))
            if on_rolled is not None:
                on_rolled(server, pods)

        self.operator = FakeSeldonOperator(self.kube, auto=True, on_pods_rolled=rolled)
        self.operator.reconcile(self.namespace)  # adopt the seeded pods (rolls them only if the seed drifted)
        return self.operator

    def start_seldon(self, *, schedules: bool = True) -> FakeSeldonOperator:
        """The operator rolls the pods; each new agent logs the memory request its pod really has, and
        (when `schedules`) the scheduler then loads the Models once the capacity is not zero."""

        def rolled(server: str, pods: list[Json]) -> None:
            capacity = {p["metadata"]["name"]: memory_request(p) for p in pods}
            self.set_agent_logs(pods, lambda name: capacity_log(self.example, name, capacity[name]))
            if schedules and all(capacity.values()):
                self.models_available()

        return self.start_operator(rolled)

    def obj(self, api_version: str, kind: str, name: str) -> Json:
        found = self.kube.get_object(api_version, kind, self.namespace, name)
        assert found is not None, f"{kind} {name} is gone"
        return found

    def server(self, name: str = "mlserver") -> Json:
        return self.obj(*SERVERS, name)

    def statefulset(self, name: str = "mlserver") -> Json:
        return self.obj(*STATEFULSETS, name)

    def pods(self) -> dict[str, str]:
        return {
            p["metadata"]["name"]: p["metadata"]["uid"]
            for p in self.kube.objects("pods")
            if p["metadata"]["namespace"] == self.namespace and p["metadata"]["name"].startswith("mlserver-")
        }

    def models_available(self) -> None:
        """What the scheduler and the controller do once the agents offer memory."""
        for model in self.kube.objects("models"):
            if model["metadata"]["namespace"] != self.namespace:
                continue
            ready = [
                {"type": t, "status": "True", "message": "ModelAvailable", "lastTransitionTime": "2026-11-26T10:00:09Z"}
                for t in ("ModelReady", "Ready")
            ]
            status = {**(model.get("status") or {}), "conditions": ready, "availableReplicas": 1}
            self.kube.set_status(model["apiVersion"], "Model", self.namespace, model["metadata"]["name"], status)

    def set_agent_logs(self, pods: list[Json], lines: Callable[[str], list[str]]) -> None:
        for pod in pods:
            name = pod["metadata"]["name"]
            self.kube.set_log(self.namespace, name, "agent", lines(name))

    # --- request accounting -----------------------------------------------------------------------

    def requests(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        return [
            r
            for r in list(self.kube.requests)
            if (method is None or r.method == method) and (path is None or r.path == path)
        ]

    def server_path(self, name: str = "mlserver") -> str:
        return SERVER_PATH.format(ns=self.namespace, name=name)

    def sts_path(self, name: str = "mlserver") -> str:
        return STS_PATH.format(ns=self.namespace, name=name)

    def writes(self, path: str) -> list[RecordedRequest]:
        """PATCH/PUT/POST/DELETE requests on `path` that were not dry runs."""
        return [
            r
            for r in self.requests(path=path)
            if r.method in ("PATCH", "PUT", "POST", "DELETE") and r.query.get("dryRun") != "All"
        ]

    def dry_runs(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests("PATCH", path) if r.query.get("dryRun") == "All"]


@functools.cache
def _bundle(example: str) -> tuple[str, list[list[Json]], list[tuple[str, str, list[str], bool]]]:
    """An example bundle parsed once per session: what FakeKube.seed_bundle would store."""
    root = EXAMPLES / example
    namespace = load_yaml(root / "manifest.yaml")["namespace"]
    files = sorted((root / "objects").glob("*.yaml"), key=lambda p: (p.stem != "namespaces", p.stem))
    objects = [yaml.load(f.read_text(encoding="utf-8"), Loader=_LOADER) or [] for f in files]
    logs = []
    for log in sorted((root / "logs").glob("*/*.log")):
        stem = log.name.removesuffix(".log")
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
        logs.append((log.parent.name, stem.removesuffix(".previous"), lines, stem.endswith(".previous")))
    return namespace, objects, logs


def seed_example(kube: FakeKube, example: str) -> None:
    """FakeKube.seed_bundle without parsing the YAML again for every test (all pods are in the tenant)."""
    namespace, objects, logs = _bundle(example)
    for items in objects:
        kube.seed(copy.deepcopy(items))
    for pod, container, lines, previous in logs:
        kube.set_log(namespace, pod, container, list(lines), previous)


def seeded(kube: FakeKube, example: str, namespace: str, *, edit: Callable[[Json], None] | None = None) -> Cluster:
    """Seed an example bundle; `edit` may change the seeded Server `mlserver` before anyone reads it."""
    seed_example(kube, example)
    if edit is not None:
        server = kube.get_object(*SERVERS, namespace, "mlserver")
        assert server is not None
        edit(server)
        kube.seed([server])  # a seed overwrites, keeping the resourceVersion
    return Cluster(kube, namespace, example, pristine=edit is None)


def memory_request(pod: Json) -> int:
    """MEMORY_REQUEST as the downward API resolves it for the pod's mlserver container (0 when unset)."""
    mlserver = next(c for c in pod["spec"]["containers"] if c["name"] == "mlserver")
    return to_bytes(((mlserver.get("resources") or {}).get("requests") or {}).get("memory") or "0")


def containers(obj: Json) -> dict[str, Json]:
    """`spec.podSpec.containers` of a Server by name."""
    return {c["name"]: c for c in (obj.get("spec") or {}).get("podSpec", {}).get("containers") or []}


def steps(events: list[AuditEvent]) -> list[tuple[str, str]]:
    return [(e.step, e.outcome) for e in events]


def event_text(events: list[AuditEvent]) -> str:
    return "\n".join(json.dumps(e.model_dump(mode="json"), sort_keys=True) for e in events)


def body(request: RecordedRequest) -> Json:
    return json.loads(request.body or b"{}")


def make_zombie(kube: FakeKube, namespace: str, pod: str = "mlserver-0") -> None:
    """F9 on a healthy tenant: the agent of `pod` subscribed, then gave up after an MLServer outage.

    Its log ends in the readiness handler failing for good; the agent container runs but is not
    ready, so the pod is not Ready, the StatefulSet has one ready replica and the kubelet reports 404s.
    """
    lines = example_log("healthy", pod, "agent")
    lines += [
        logrus(
            "Waiting for Inference Server service to become ready... next check in 4s",
            at="2026-11-26T08:59:20Z",
            Name="AgentServiceManager",
            error="rpc error: code = Unavailable desc = connection refused",
        ),
        logrus(
            "Giving up on waiting for Inference Server service to become ready; service marked as failed",
            level="error",
            at="2026-11-26T08:59:50Z",
            Name="AgentServiceManager",
        ),
        logrus("Shutting down stream to scheduler", at="2026-11-26T08:59:51Z", Name="Client"),
        logrus("Stopping", at="2026-11-26T08:59:51Z", Name="AgentServiceManager"),
        *[
            logrus(
                "Agent readiness HTTP handler failed, target not set",
                level="warning",
                at=f"2026-11-26T09:0{i}:00Z",
                Name="ReadinessService",
            )
            for i in range(3)
        ],
    ]
    kube.set_log(namespace, pod, "agent", lines)
    live = kube.get_object("v1", "Pod", namespace, pod)
    assert live is not None
    status = live["status"]
    for cs in status["containerStatuses"]:
        if cs["name"] == "agent":
            cs["ready"] = False
    for condition in status["conditions"]:
        if condition["type"] in ("Ready", "ContainersReady"):
            condition.update(status="False", reason="ContainersNotReady", lastTransitionTime="2026-11-26T08:59:51Z")
    kube.set_status("v1", "Pod", namespace, pod, status)
    sts = kube.get_object(*STATEFULSETS, namespace, "mlserver")
    assert sts is not None
    kube.set_status(*STATEFULSETS, namespace, "mlserver", {**sts["status"], "readyReplicas": 1, "availableReplicas": 1})
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{pod}.zombie", "namespace": namespace},
        "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": pod, "namespace": namespace},
        "reason": "Unhealthy",
        "message": "Readiness probe failed: HTTP probe failed with statuscode: 404",
        "type": "Warning",
        "count": 40,
        "firstTimestamp": "2026-11-26T08:59:55Z",
        "lastTimestamp": "2026-11-26T09:14:55Z",
    }
    kube.seed([event])


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))
