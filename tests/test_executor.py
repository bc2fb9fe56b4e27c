"""The remediation executor end to end: the real `kubernetes` client against the fake API server, with
FakeSeldonOperator playing the Seldon operator, the StatefulSet controller and the kubelet.

Issue 4 "Done when": zero-capacity tenant -> proposal -> preflight -> dry-run diff -> apply ->
simulated rollout -> verified; a conflict, an RBAC denial, a rollout timeout with rollback, a restart
of a stuck agent; patches valid for the real Server CRD schema. Time is a FakeClock: nothing here
waits for real seconds except the one write-timeout test.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from executor_helpers import (
    ALICE,
    BOB,
    EXAMPLES,
    START,
    Cluster,
    body,
    capacity_log,
    containers,
    event_text,
    example_log,
    make_zombie,
    seeded,
    steps,
)
from fakekube import FakeKube
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from bot.cli import main
from bot.remediation.executor import applied_state, required_permissions
from bot.remediation.proposals import RESTARTED_AT

NS = "financial-ml"
ZOMBIE_NS = "retail-ml"
CAPACITY = "capacity.memory-request-missing"
GROUP, VERSION = "mlops.seldon.io", "v1alpha1"
GI = 2**30
Json = dict[str, Any]


@pytest.fixture
def kube() -> Iterator[FakeKube]:
    with FakeKube() as fake:
        yield fake


@pytest.fixture
def zero(kube: FakeKube) -> Cluster:
    """The zero-capacity tenant; no operator yet (each test decides how the cluster reacts)."""
    return seeded(kube, "zero-capacity", NS)


@pytest.fixture
def zombie(kube: FakeKube) -> Cluster:
    """The healthy tenant with the F9 zombie agent on mlserver-0; the operator restarts agents healthy."""
    cluster = seeded(kube, "healthy", ZOMBIE_NS)
    make_zombie(kube, ZOMBIE_NS)
    cluster.start_operator(
        lambda _server, pods: cluster.set_agent_logs(pods, lambda name: example_log("healthy", name, "agent"))
    )
    return cluster


def custom(cluster: Cluster) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(cluster.api)


def human_edit(cluster: Cluster, patch: Json) -> Json:
    """Someone else changes the Server through the API (a colleague, Helm, GitOps)."""
    return custom(cluster).patch_namespaced_custom_object(
        GROUP, VERSION, cluster.namespace, "servers", "mlserver", patch, _content_type="application/merge-patch+json"
    )


def on_step(prefix: str, action: Any) -> Any:
    """An on_progress callback running `action` once, when the step with this prefix is emitted."""
    done: list[bool] = []

    def progress(line: str) -> None:
        if line.startswith(prefix) and not done:
            done.append(True)
            action()

    return progress


def memory(server: Json) -> Json:
    return containers(server)["mlserver"].get("resources") or {}


def assert_untouched(cluster: Cluster, before: Json) -> None:
    after = cluster.server()
    assert after["spec"] == before["spec"]
    assert cluster.writes(cluster.server_path()) == [], "no non-dry-run write reached the Server"


def test_cached_seeding_stores_what_seed_bundle_stores(kube: FakeKube) -> None:
    """executor_helpers.seed_example parses each example once; it must store the same objects and logs."""
    seeded(kube, "zero-capacity", NS)
    with FakeKube() as reference:
        reference.seed_bundle(EXAMPLES / "zero-capacity")
        for kind in ("namespaces", "pods", "servers", "serverconfigs", "statefulsets", "models", "events"):
            assert kube.objects(kind) == reference.objects(kind), kind
        agent = client.CoreV1Api(kube.api_client()).read_namespaced_pod_log("mlserver-0", NS, container="agent")
        assert agent == client.CoreV1Api(reference.api_client()).read_namespaced_pod_log(
            "mlserver-0", NS, container="agent"
        )
        assert kube.store.resource_version == reference.store.resource_version


# ----------------------------------------------------------------------------------------------
# 1. The whole loop
# ----------------------------------------------------------------------------------------------


def test_zero_capacity_whole_loop_is_preflighted_dry_run_applied_rolled_out_and_verified(zero: Cluster) -> None:
    zero.start_seldon()
    assert zero.rolled == [], "the seeded pods are adopted as they are"
    before, sts_before, pods_before = zero.server(), zero.statefulset(), zero.pods()
    proposal = zero.proposal(CAPACITY, live=True)
    assert zero.proposal(CAPACITY, live=True).id == proposal.id, "proposal ids are stable across diagnoses"
    assert (proposal.action, str(proposal.target)) == ("patch", "Server financial-ml/mlserver")
    assert applied_state(zero.target(), proposal) == "not-applied"
    zero.kube.reset_requests()

    at_dry_run: list[Json] = []
    progress: list[str] = []

    def watch(line: str) -> None:
        progress.append(line)
        if line.startswith("dry-run:"):
            at_dry_run.append(zero.server())

    result = zero.run(proposal, on_progress=watch)

    # What the user is told.
    assert result.result == "fixed", result.message
    assert result.message == f"finding {proposal.finding_id} is gone and the symptoms it explained cleared"
    assert result.verification is not None and result.verification.fixed
    evidence = [e.summary for e in result.verification.evidence]
    assert "Models ready: 3/3" in evidence
    assert f"Setting memory request from env MEMORY_REQUEST with value {GI}" in evidence
    assert "+          memory: 1Gi" in result.diff and result.diff.startswith("--- Server mlserver (live)")

    # Preflight: one SelfSubjectAccessReview per permission, all before the first PATCH.
    reviews = zero.requests("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews")
    asked = {
        (a["verb"], a["resource"], a.get("group", ""), a.get("name"))
        for a in (body(r)["spec"]["resourceAttributes"] for r in reviews)
    }
    assert asked == {
        ("get", "servers", GROUP, "mlserver"),
        ("patch", "servers", GROUP, "mlserver"),
        ("get", "statefulsets", "apps", "mlserver"),
        ("list", "pods", "", None),
        ("list", "models", GROUP, None),
    }
    order = list(zero.kube.requests)
    first_patch = next(i for i, r in enumerate(order) if r.method == "PATCH")
    assert all(order.index(r) < first_patch for r in reviews)

    # Dry run: a PATCH with dryRun=All that changed nothing, then the real PATCH with the precondition.
    [dry] = zero.dry_runs(zero.server_path())
    [real] = zero.writes(zero.server_path())
    assert order.index(dry) < order.index(real)
    assert at_dry_run == [before], "the dry run left the Server as it was"
    assert real.content_type == "application/merge-patch+json"
    assert body(real)["metadata"] == {"resourceVersion": proposal.target_resource_version}
    assert body(real)["spec"] == body(dry)["spec"] == proposal.patch["spec"]

    # Apply: the whole containers list was written back, with the new request and nothing lost.
    after = zero.server()
    live = containers(after)
    assert memory(after) == {"requests": {"memory": "1Gi"}, "limits": {"memory": "1Gi"}}
    assert live["agent"]["env"] == [{"name": "SELDON_LOG_LEVEL", "value": "info"}]
    assert live["mlserver"]["env"] == [{"name": "MLSERVER_PARALLEL_WORKERS", "value": "2"}]
    assert after["spec"]["podSpec"]["nodeSelector"] == before["spec"]["podSpec"]["nodeSelector"]
    assert {k: v for k, v in after["spec"].items() if k != "podSpec"} == {
        k: v for k, v in before["spec"].items() if k != "podSpec"
    }

    # Rollout: the operator changed the StatefulSet and every pod was re-created with the request.
    sts = zero.statefulset()
    assert sts["metadata"]["generation"] > sts_before["metadata"]["generation"]
    assert sts["status"]["observedGeneration"] == sts["metadata"]["generation"]
    assert sts["status"]["currentRevision"] == sts["status"]["updateRevision"] != sts_before["status"]["updateRevision"]
    assert zero.rolled == [("mlserver", ["mlserver-0", "mlserver-1"])]
    pods_after = zero.pods()
    assert set(pods_after) == set(pods_before) and all(pods_after[n] != pods_before[n] for n in pods_before)
    pod = zero.kube.get_object("v1", "Pod", NS, "mlserver-0")
    assert pod is not None
    mlserver = next(c for c in pod["spec"]["containers"] if c["name"] == "mlserver")
    assert mlserver["resources"]["requests"]["memory"] == "1Gi"

    # Audit: every step, in order, one correlation id, who and what on each event.
    events = zero.sink.events
    assert events == result.events
    sequence = steps(events)
    assert sequence[:4] == [("requested", "ok"), ("preflight", "ok"), ("dry-run", "ok"), ("applied", "ok")]
    assert sequence[-2:] == [("rollout", "ok"), ("verified", "fixed")]
    assert set(sequence[4:-2]) <= {("rollout", "in-progress")}
    for event in events:
        assert event.correlation_id == "run-test"
        assert (event.actor, event.approver) == (ALICE, BOB)
        assert (event.proposal_id, event.target, event.tenant) == (proposal.id, proposal.target, NS)
        assert event.patch_summary == proposal.title
        assert event.duration_ms is not None and event.duration_ms >= 0
    assert events[2].data["diff"] == result.diff
    assert f"resourceVersion {proposal.target_resource_version} -> " in events[3].detail
    assert events[-1].data["attempts"] == 1
    assert any(line.startswith("rollout: StatefulSet financial-ml/mlserver") for line in progress)
    text = event_text(events)
    assert "fake-token" not in text and "Bearer" not in text
    assert zero.clock.sleeps == [], "the operator rolled at once: nobody waited"

    assert applied_state(zero.target(), proposal) == "applied"


def test_the_applied_server_is_valid_for_the_server_crd_schema(zero: Cluster) -> None:
    """The fake prunes unknown fields like the apiserver (a Warning header, or 400 with Strict): the patch
    the executor sent is accepted under fieldValidation=Strict and is stored exactly, nothing pruned."""
    zero.start_seldon()
    proposal = zero.proposal(CAPACITY)
    assert zero.run(proposal).result == "fixed"
    [real] = zero.writes(zero.server_path())
    sent = body(real)
    assert containers(zero.server()) == {c["name"]: c for c in sent["spec"]["podSpec"]["containers"]}
    # RecordedRequest keeps no response headers, so the Warning header cannot be asserted directly:
    # replay the same body with fieldValidation=Strict, which turns every would-be warning into a 400.
    replay = {"spec": sent["spec"]}
    strict = {"dry_run": "All", "field_validation": "Strict", "_content_type": "application/merge-patch+json"}
    custom(zero).patch_namespaced_custom_object(GROUP, VERSION, NS, "servers", "mlserver", replay, **strict)
    typo = json.loads(json.dumps(replay))
    typo["spec"]["podSpec"]["containers"][1]["resource"] = {"requests": {"memory": "1Gi"}}
    with pytest.raises(ApiException) as rejected:  # the check has teeth: an unknown field is refused
        custom(zero).patch_namespaced_custom_object(GROUP, VERSION, NS, "servers", "mlserver", typo, **strict)
    assert rejected.value.status == 400 and "unknown field" in rejected.value.body


def test_dry_run_only_changes_nothing(zero: Cluster) -> None:
    before = zero.server()
    proposal = zero.proposal(CAPACITY)
    result = zero.run(proposal, dry_run=True)
    assert (result.result, result.message) == ("dry-run", "dry run only: nothing was changed")
    assert "+          memory: 1Gi" in result.diff
    assert steps(result.events) == [("requested", "ok"), ("preflight", "ok"), ("dry-run", "ok")]
    assert len(zero.dry_runs(zero.server_path())) == 1
    assert_untouched(zero, before)
    assert applied_state(zero.target(), proposal) == "not-applied"


# ----------------------------------------------------------------------------------------------
# 2. Optimistic concurrency
# ----------------------------------------------------------------------------------------------


def test_spec_changed_after_the_proposal_is_a_conflict_and_a_fresh_proposal_keeps_the_change(zero: Cluster) -> None:
    zero.start_seldon()
    proposal = zero.proposal(CAPACITY)
    human_edit(zero, {"spec": {"podSpec": {"nodeSelector": {"workload-class": "ml-inference-v2"}}}})
    changed = zero.server()
    zero.kube.reset_requests()

    result = zero.run(proposal)

    assert result.result == "conflict"
    assert "changed since the proposal was made" in result.message and "diagnose again" in result.message
    assert result.message.endswith("Nothing was changed.")
    assert f"resourceVersion {proposal.target_resource_version} -> {changed['metadata']['resourceVersion']}" in (
        result.message
    )
    assert zero.requests("PATCH") == [], "refused before even the dry run"
    assert_untouched(zero, changed)
    assert steps(result.events) == [("requested", "ok"), ("preflight", "ok"), ("failed", "conflict")]
    assert result.events[-1].data == {"reason": "conflict", "code": None, "applied": False}

    # Re-plan: same id (same finding, same target), new resourceVersion; the colleague's edit survives.
    fresh = zero.proposal(CAPACITY)
    assert fresh.id == proposal.id and fresh.target_resource_version == changed["metadata"]["resourceVersion"]
    assert zero.run(fresh, correlation_id="run-2").result == "fixed"
    assert zero.server()["spec"]["podSpec"]["nodeSelector"] == {"workload-class": "ml-inference-v2"}
    assert memory(zero.server())["requests"] == {"memory": "1Gi"}


def test_status_only_change_does_not_void_the_proposal(zero: Cluster) -> None:
    zero.start_seldon()
    proposal = zero.proposal(CAPACITY)
    server = zero.server()
    zero.kube.set_status(GROUP + "/" + VERSION, "Server", NS, "mlserver", {**server["status"], "loadedModels": 0})
    current = zero.server()["metadata"]["resourceVersion"]
    assert current != proposal.target_resource_version

    result = zero.run(proposal)

    assert result.result == "fixed", result.message
    preflights = [e.detail for e in result.events if e.step == "preflight"]
    assert preflights[1] == f"resourceVersion {proposal.target_resource_version} -> {current} changed the status only"
    [real] = zero.writes(zero.server_path())
    assert body(real)["metadata"] == {"resourceVersion": current}, "the precondition is the status-only version"


def test_spec_changed_between_read_and_write_is_refused_by_the_api_server(zero: Cluster) -> None:
    """Never a blind write: the resourceVersion precondition in the body makes the API server answer 409."""
    zero.start_seldon()
    proposal = zero.proposal(CAPACITY)
    edit = {"spec": {"podSpec": {"nodeSelector": {"workload-class": "gpu"}}}}

    result = zero.run(proposal, on_progress=on_step("dry-run:", lambda: human_edit(zero, edit)))

    assert result.result == "conflict"
    assert "Nothing was changed." in result.message
    refused = [r for r in zero.writes(zero.server_path()) if r.status == 409]
    assert len(refused) == 1 and body(refused[0])["metadata"]["resourceVersion"] == proposal.target_resource_version
    assert memory(zero.server()) == {}, "the colleague's version stands, without our container list"
    assert zero.server()["spec"]["podSpec"]["nodeSelector"] == {"workload-class": "gpu"}
    assert ("applied", "ok") not in steps(result.events)
    assert result.events[-1].data == {"reason": "conflict", "code": 409, "applied": False}


# ----------------------------------------------------------------------------------------------
# 3. RBAC
# ----------------------------------------------------------------------------------------------


def test_rbac_denial_names_the_missing_permission_and_sends_no_patch(zero: Cluster) -> None:
    before = zero.server()
    proposal = zero.proposal(CAPACITY)
    zero.kube.deny("patch", "servers", group=GROUP, namespace=NS)
    zero.kube.reset_requests()

    result = zero.run(proposal)

    assert result.result == "denied"
    assert "patch servers.mlops.seldon.io mlserver in namespace financial-ml" in result.message
    assert result.message == (
        "missing permission: patch servers.mlops.seldon.io mlserver in namespace financial-ml. Nothing was changed."
    )
    assert zero.requests("PATCH") == [], "not even a dry run"
    assert_untouched(zero, before)
    assert steps(result.events) == [("requested", "ok"), ("failed", "denied")]
    assert result.events[-1].data == {"reason": "denied", "code": None, "applied": False}


@pytest.mark.parametrize(
    ("verb", "resource", "group"),
    [("get", "statefulsets", "apps"), ("list", "models", GROUP), ("list", "pods", "")],
)
def test_every_permission_of_the_run_is_checked_up_front(zero: Cluster, verb: str, resource: str, group: str) -> None:
    proposal = zero.proposal(CAPACITY)
    assert (verb, resource, group) in {(v, r, g) for v, r, g, _ in required_permissions(proposal)}
    zero.kube.deny(verb, resource, group=group, namespace=NS)
    result = zero.run(proposal)
    assert result.result == "denied"
    assert f"{verb} {resource}{'.' + group if group else ''}" in result.message
    assert zero.requests("PATCH") == []


def test_several_missing_permissions_are_all_listed(zero: Cluster) -> None:
    proposal = zero.proposal(CAPACITY)
    zero.kube.deny("patch", "servers", group=GROUP, namespace=NS)
    zero.kube.deny("get", "statefulsets", group="apps", namespace=NS)
    result = zero.run(proposal)
    assert result.message.startswith(
        "missing permission: patch servers.mlops.seldon.io mlserver in namespace financial-ml; "
        "get statefulsets.apps mlserver in namespace financial-ml"
    )


def test_rbac_revoked_between_preflight_and_apply_is_reported_as_denied(zero: Cluster) -> None:
    zero.start_seldon()
    proposal = zero.proposal(CAPACITY)
    before = zero.server()
    revoke = on_step("dry-run:", lambda: zero.kube.deny("patch", "servers", group=GROUP, namespace=NS))
    result = zero.run(proposal, on_progress=revoke)
    assert result.result == "denied"
    assert 'cannot patch resource "servers"' in result.message and result.message.endswith("Nothing was changed.")
    assert zero.server()["spec"] == before["spec"]


# ----------------------------------------------------------------------------------------------
# 4. Rollout timeout and rollback
# ----------------------------------------------------------------------------------------------


def _unready_first_roll(cluster: Cluster) -> list[int]:
    """The operator rolls, but the pods of the first roll never get Ready (e.g. the node is full)."""
    rolls: list[int] = []
    armed: list[bool] = []  # the rolls of adopting a drifted seed do not count

    def rolled(_server: str, pods: list[Json]) -> None:
        if not armed:
            return
        rolls.append(len(pods))
        if len(rolls) == 1:
            sts = cluster.statefulset()
            status = {**sts["status"], "readyReplicas": 0, "availableReplicas": 0}
            cluster.kube.set_status("apps/v1", "StatefulSet", cluster.namespace, "mlserver", status)

    cluster.start_operator(rolled)
    armed.append(True)
    return rolls


def test_rollout_that_never_gets_ready_times_out_and_is_rolled_back(zero: Cluster) -> None:
    rolls = _unready_first_roll(zero)
    before = zero.server()
    proposal = zero.proposal(CAPACITY)

    result = zero.run(proposal, executor=zero.executor(rollout_timeout=60), rollback=True)

    assert result.result == "rolled-back"
    assert result.message == (
        "rollout of StatefulSet financial-ml/mlserver not finished after 60 s: 2/2 updated, 0/2 ready. "
        "Rolled back to the previous spec."
    )
    assert zero.server()["spec"] == before["spec"], "memory request gone, every other container intact"
    assert rolls == [2, 2], "the operator rolled the pods forward, then back"
    sequence = steps(result.events)
    assert sequence[:4] == [("requested", "ok"), ("preflight", "ok"), ("dry-run", "ok"), ("applied", "ok")]
    assert ("rollout", "timeout") in sequence and sequence[-1] == ("rolled-back", "ok")
    assert sequence.index(("rollout", "timeout")) < sequence.index(("rolled-back", "ok"))
    assert "verified" not in {s for s, _ in sequence}
    timeout = next(e for e in result.events if e.outcome == "timeout")
    assert timeout.data["ready"] == 0 and timeout.data["replicas"] == 2
    assert timeout.duration_ms == 60_000
    assert set(zero.clock.sleeps) == {2.0} and zero.clock.now == 60.0, "polled every 2 s, on the fake clock"
    # The undo went through the same safety steps: a dry run, then a preconditioned write.
    patches = [r for r in zero.requests("PATCH") if r.path == zero.server_path()]
    assert [r.query.get("dryRun") for r in patches] == ["All", None, "All", None]
    undo = body(patches[3])
    assert undo["spec"]["podSpec"]["containers"] == before["spec"]["podSpec"]["containers"]
    assert undo["metadata"]["resourceVersion"] not in (None, proposal.target_resource_version), "fresh precondition"
    assert applied_state(zero.target(), proposal) == "not-applied"


def test_rollout_timeout_without_an_operator_is_rolled_back(zero: Cluster) -> None:
    before = zero.server()
    proposal = zero.proposal(CAPACITY)
    result = zero.run(proposal, executor=zero.executor(rollout_timeout=60), rollback=True)
    assert result.result == "rolled-back"
    assert "StatefulSet financial-ml/mlserver never changed (generation 2)" in result.message
    assert zero.server()["spec"] == before["spec"]
    assert ("rolled-back", "timeout") in steps(result.events)


def test_rollback_whose_own_rollout_times_out_says_so_in_the_result(zero: Cluster) -> None:
    proposal = zero.proposal(CAPACITY)
    result = zero.run(proposal, executor=zero.executor(rollout_timeout=60), rollback=True)
    assert ("rolled-back", "timeout") in steps(result.events)
    assert "did not finish" in result.message or result.message.count("not finished") >= 2


def test_rollout_timeout_without_rollback_leaves_the_change_and_says_so(zero: Cluster) -> None:
    _unready_first_roll(zero)
    proposal = zero.proposal(CAPACITY)

    result = zero.run(proposal, executor=zero.executor(rollout_timeout=60), rollback=False)

    assert result.result == "timeout"
    assert result.message.endswith("The change is still in place; rollback was not requested.")
    assert memory(zero.server())["requests"] == {"memory": "1Gi"}
    assert steps(result.events)[-1] == ("rollout", "timeout")
    assert len(zero.writes(zero.server_path())) == 1, "no undo"
    assert applied_state(zero.target(), proposal) == "applied"


# ----------------------------------------------------------------------------------------------
# 5. Verification
# ----------------------------------------------------------------------------------------------


def test_verification_that_finds_the_problem_still_there_rolls_back(zero: Cluster) -> None:
    """The pods roll, but come back without the request (a mutating webhook strips it): every poll of the
    verifier still finds zero capacity until the verify timeout, then the change is undone."""
    before = zero.server()
    pods_rt = zero.kube.registry.resolve("pods")

    def stripped(_server: str, pods: list[Json]) -> None:
        def strip(pod: Json) -> Json:
            for c in pod["spec"]["containers"]:
                if c["name"] == "mlserver":
                    c.pop("resources", None)
            return pod

        for pod in pods:
            zero.kube.store.patch(pods_rt, NS, pod["metadata"]["name"], strip)
        zero.set_agent_logs(pods, lambda name: capacity_log("zero-capacity", name, 0))

    zero.start_operator(stripped)
    proposal = zero.proposal(CAPACITY)

    result = zero.run(proposal, executor=zero.executor(verify_timeout=15), rollback=True)

    assert result.result == "rolled-back"
    assert result.message.startswith("still present: ") and result.message.endswith("Rolled back to the previous spec.")
    assert result.verification is not None and not result.verification.fixed
    assert result.verification.attempts == 4, "polled at 0, 5, 10 and 15 s on the fake clock"
    assert "Setting memory request from env MEMORY_REQUEST with value 0" in [
        e.summary for e in result.verification.evidence
    ]
    sequence = steps(result.events)
    assert ("verified", "not-fixed") in sequence and sequence[-1] == ("rolled-back", "ok")
    assert zero.server()["spec"] == before["spec"]


def test_verification_fails_while_models_stay_schedule_failed_and_is_rolled_back(zero: Cluster) -> None:
    zero.start_seldon(schedules=False)  # capacity reported, but the scheduler never places the Models
    before = zero.server()
    proposal = zero.proposal(CAPACITY)
    result = zero.run(proposal, executor=zero.executor(), rollback=True)
    assert result.verification is not None
    assert "Models ready: 1/3" in [e.summary for e in result.verification.evidence]
    assert result.result == "rolled-back", result.message
    assert zero.server()["spec"] == before["spec"]


def test_verification_that_cannot_read_the_tenant_is_not_reported_fixed(zero: Cluster) -> None:
    zero.start_seldon(schedules=False)
    proposal = zero.proposal(CAPACITY)
    zero.kube.deny("list", "servers", group=GROUP, namespace=NS)
    result = zero.run(proposal)
    assert result.verification is not None
    assert any("error: cannot judge" in e.summary for e in result.verification.evidence)
    assert result.result != "fixed"


# ----------------------------------------------------------------------------------------------
# 6. Rollout restart of a stuck (F9 zombie) agent
# ----------------------------------------------------------------------------------------------


def test_restart_of_a_zombie_agent_stamps_restarted_at_rolls_the_pods_and_is_verified(zombie: Cluster) -> None:
    diag = zombie.diagnose()
    assert diag.findings[0].id == "agent.zombie@pod/mlserver-0"
    proposal = zombie.proposal("agent.zombie")
    assert (proposal.action, str(proposal.target), proposal.automatic) == (
        "restart",
        "StatefulSet retail-ml/mlserver",
        True,
    )
    sts_before, pods_before, server_before = zombie.statefulset(), zombie.pods(), zombie.server()
    zombie.kube.reset_requests()

    result = zombie.run(proposal)

    assert result.result == "fixed", result.message
    assert result.message == "finding agent.zombie@pod/mlserver-0 is gone and the symptoms it explained cleared"
    stamp = START.isoformat()
    assert f"+        {RESTARTED_AT}: '{stamp}'" in result.diff
    sts = zombie.statefulset()
    annotations = sts["spec"]["template"]["metadata"]["annotations"]
    assert annotations[RESTARTED_AT] == stamp, "the executor's clock at apply time, not the proposal's"
    assert proposal.patch["spec"]["template"]["metadata"]["annotations"][RESTARTED_AT] != stamp
    before_annotations = sts_before["spec"]["template"]["metadata"].get("annotations") or {}
    assert annotations == {**before_annotations, RESTARTED_AT: stamp}, "additive: the operator's diff keeps it"
    assert sts["metadata"]["generation"] == sts_before["metadata"]["generation"] + 1
    assert sts["status"]["readyReplicas"] == 2
    assert zombie.rolled == [("mlserver", ["mlserver-0", "mlserver-1"])]
    pods_after = zombie.pods()
    assert all(pods_after[n] != pods_before[n] for n in pods_before)
    pod = zombie.kube.get_object("v1", "Pod", ZOMBIE_NS, "mlserver-0")
    assert pod is not None and pod["metadata"]["annotations"][RESTARTED_AT] == stamp
    assert {c["type"]: c["status"] for c in pod["status"]["conditions"]}["Ready"] == "True"

    # Only the StatefulSet was written, dry run first, with the precondition; the Server was not touched.
    assert zombie.writes(zombie.server_path()) == [] and zombie.server()["spec"] == server_before["spec"]
    [dry] = zombie.dry_runs(zombie.sts_path())
    [real] = zombie.writes(zombie.sts_path())
    assert real.content_type == "application/merge-patch+json"
    assert body(real) == {
        "spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}},
        "metadata": {"resourceVersion": proposal.target_resource_version},
    }
    assert body(dry) == body(real)
    reviews = zombie.requests("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews")
    asked = {(a["verb"], a["resource"]) for a in (body(r)["spec"]["resourceAttributes"] for r in reviews)}
    assert asked == {("get", "statefulsets"), ("patch", "statefulsets"), ("list", "pods"), ("list", "models")}

    sequence = steps(result.events)
    assert sequence[:4] == [("requested", "ok"), ("preflight", "ok"), ("dry-run", "ok"), ("applied", "ok")]
    assert sequence[-2:] == [("rollout", "ok"), ("verified", "fixed")]
    assert {e.correlation_id for e in result.events} == {"run-test"}
    assert applied_state(zombie.target(), proposal) == "unknown", "a restart stamp cannot be told apart later"


def _stuck_zombie(kube: FakeKube) -> Cluster:
    cluster = seeded(kube, "healthy", ZOMBIE_NS)
    make_zombie(kube, ZOMBIE_NS)
    _unready_first_roll(cluster)
    return cluster


def test_restart_whose_pods_never_get_ready_times_out_and_is_left_in_place(kube: FakeKube) -> None:
    cluster = _stuck_zombie(kube)
    proposal = cluster.proposal("agent.zombie")
    result = cluster.run(proposal, executor=cluster.executor(rollout_timeout=30), rollback=True)
    assert result.result == "timeout"
    assert "not finished after 30 s: 2/2 updated, 0/2 ready" in result.message
    assert "The change is still in place" in result.message
    assert len(cluster.writes(cluster.sts_path())) == 1, "a restart has no previous spec to restore"
    assert steps(result.events)[-1] == ("rollout", "timeout")


def test_restart_timeout_does_not_claim_rollback_was_not_requested(kube: FakeKube) -> None:
    cluster = _stuck_zombie(kube)
    result = cluster.run(cluster.proposal("agent.zombie"), executor=cluster.executor(rollout_timeout=30), rollback=True)
    assert result.result == "timeout"
    assert "rollback was not requested" not in result.message


# ----------------------------------------------------------------------------------------------
# 7. API errors in the middle of a run
# ----------------------------------------------------------------------------------------------


def test_422_on_the_real_patch_after_a_clean_dry_run_is_reported_with_nothing_applied(zero: Cluster) -> None:
    zero.start_seldon()
    before = zero.server()
    proposal = zero.proposal(CAPACITY)
    reject = on_step(
        "dry-run:", lambda: zero.kube.add_fault(zero.server_path() + "$", method="PATCH", status=422, times=1)
    )

    result = zero.run(proposal, on_progress=reject)

    assert result.result == "failed"
    assert result.message.startswith("patch Server financial-ml/mlserver: ")
    assert "is invalid" in result.message and result.message.endswith("Nothing was changed.")
    assert [r.status for r in zero.dry_runs(zero.server_path())] == [200]
    assert [r.status for r in zero.writes(zero.server_path())] == [422]
    assert zero.server()["spec"] == before["spec"] and zero.rolled == []
    assert steps(result.events) == [("requested", "ok"), ("preflight", "ok"), ("dry-run", "ok"), ("failed", "failed")]
    assert result.events[-1].data == {"reason": "invalid", "code": 422, "applied": False}


def test_422_on_the_dry_run_stops_before_any_write(zero: Cluster) -> None:
    proposal = zero.proposal(CAPACITY)
    zero.kube.add_fault(zero.server_path() + "$", method="PATCH", status=422)
    result = zero.run(proposal)
    assert result.result == "failed"
    assert result.message.startswith("dry-run patch Server financial-ml/mlserver: ") and "is invalid" in result.message
    assert zero.writes(zero.server_path()) == []
    assert "dry-run" not in {s for s, _ in steps(result.events)}


def test_server_deleted_between_diagnosis_and_run_is_not_found(zero: Cluster) -> None:
    proposal = zero.proposal(CAPACITY)
    custom(zero).delete_namespaced_custom_object(GROUP, VERSION, NS, "servers", "mlserver")
    zero.kube.reset_requests()
    result = zero.run(proposal)
    assert result.result == "failed"
    assert result.message == (
        'read Server financial-ml/mlserver: servers.mlops.seldon.io "mlserver" not found. Nothing was changed.'
    )
    assert zero.requests("PATCH") == []
    assert result.events[-1].data == {"reason": "not-found", "code": 404, "applied": False}


def test_api_unreachable_before_the_run_is_a_clear_failure(zero: Cluster) -> None:
    proposal = zero.proposal(CAPACITY)
    zero.kube.stop()
    result = zero.run(proposal)
    assert result.result == "failed"
    assert result.message.startswith("access review: the Kubernetes API did not answer: ")
    assert result.message.endswith("Nothing was changed.")
    assert result.events[-1].data["reason"] == "unreachable"


def test_api_lost_after_the_apply_reports_the_change_as_still_in_place(zero: Cluster) -> None:
    zero.start_seldon()
    proposal = zero.proposal(CAPACITY)
    result = zero.run(proposal, on_progress=on_step("applied:", zero.kube.stop))
    assert result.result == "failed"
    assert "did not answer" in result.message
    assert result.message.endswith("The change WAS applied and is still in place.")
    assert steps(result.events)[-1] == ("failed", "failed")
    assert result.events[-1].data["applied"] is True
    assert memory(zero.server())["requests"] == {"memory": "1Gi"}, "what the message says is true"


def test_server_errors_on_reads_during_the_rollout_wait_are_retried_with_backoff(zero: Cluster) -> None:
    zero.start_seldon()
    proposal = zero.proposal(CAPACITY)
    flaky = on_step("applied:", lambda: zero.kube.add_fault(zero.sts_path() + "$", method="GET", status=500, times=2))
    result = zero.run(proposal, on_progress=flaky)
    assert result.result == "fixed", result.message
    gets = [r.status for r in zero.requests("GET", zero.sts_path())]
    assert gets[-3:] == [500, 500, 200]
    assert zero.kube_sleeps == [0.2, 0.4], "exponential backoff between the read retries"


def test_persistent_server_errors_during_the_rollout_wait_fail_and_report_the_applied_change(zero: Cluster) -> None:
    zero.start_seldon()
    proposal = zero.proposal(CAPACITY)
    broken = on_step("applied:", lambda: zero.kube.add_fault(zero.sts_path() + "$", method="GET", status=500))
    result = zero.run(proposal, on_progress=broken)
    assert result.result == "failed"
    assert result.message.startswith("read StatefulSet financial-ml/mlserver: ")
    assert result.message.endswith("The change WAS applied and is still in place.")
    assert [r.status for r in zero.requests("GET", zero.sts_path())][-4:] == [500] * 4, "1 try + 3 retries"
    assert memory(zero.server())["requests"] == {"memory": "1Gi"}


def test_a_server_error_on_the_write_is_not_retried(zero: Cluster) -> None:
    zero.start_seldon()
    proposal = zero.proposal(CAPACITY)
    fail = on_step(
        "dry-run:", lambda: zero.kube.add_fault(zero.server_path() + "$", method="PATCH", status=500, times=1)
    )
    result = zero.run(proposal, on_progress=fail)
    assert result.result == "failed"
    assert [r.status for r in zero.writes(zero.server_path())] == [500], "a retried write could apply twice"
    assert zero.kube_sleeps == []


def test_a_write_that_times_out_is_not_reported_as_nothing_changed(zero: Cluster) -> None:
    zero.start_seldon()
    proposal = zero.proposal(CAPACITY)
    slow = on_step(
        "dry-run:", lambda: zero.kube.add_fault(zero.server_path() + "$", method="PATCH", latency=0.3, times=1)
    )
    result = zero.run(proposal, executor=zero.executor(kube_timeout=0.1), on_progress=slow)
    assert result.result == "failed" and "did not answer" in result.message
    deadline = time.monotonic() + 3
    while not zero.writes(zero.server_path()) and time.monotonic() < deadline:
        time.sleep(0.02)  # the fake handles the write after its latency, after the client gave up
    time.sleep(0.05)  # and then fails to send the answer to the closed connection
    assert memory(zero.server())["requests"] == {"memory": "1Gi"}, "the write did land"
    assert "Nothing was changed" not in result.message


# ----------------------------------------------------------------------------------------------
# Secrets: the collector redacts env values with secret-looking names
# ----------------------------------------------------------------------------------------------

SECRET = "hunter2-s3cr3t-value"


def _with_secret_env(server: Json) -> None:
    for c in server["spec"]["podSpec"]["containers"]:
        if c["name"] == "mlserver":
            c["env"].append({"name": "AWS_SECRET_ACCESS_KEY", "value": SECRET})


@pytest.fixture
def secret(kube: FakeKube) -> Cluster:
    cluster = seeded(kube, "zero-capacity", NS, edit=_with_secret_env)
    cluster.start_seldon()
    return cluster


def test_secret_env_values_survive_the_read_modify_write(secret: Cluster) -> None:
    """The proposal comes from a redacted snapshot; the write must carry the live value, not the placeholder."""
    proposal = secret.proposal(CAPACITY)
    assert "<redacted>" in json.dumps(proposal.patch) and SECRET not in proposal.model_dump_json()
    result = secret.run(proposal)
    assert result.result == "fixed", result.message
    env = {e["name"]: e.get("value") for e in containers(secret.server())["mlserver"]["env"]}
    assert env == {"MLSERVER_PARALLEL_WORKERS": "2", "AWS_SECRET_ACCESS_KEY": SECRET}
    assert memory(secret.server())["requests"] == {"memory": "1Gi"}


def test_no_audit_event_carries_a_secret_value(secret: Cluster) -> None:
    result = secret.run(secret.proposal(CAPACITY))
    assert result.result == "fixed"
    assert SECRET not in event_text(result.events)
    assert SECRET not in result.diff and "+      resources:" in result.diff
    assert "value: <redacted>" not in "\n".join(ln for ln in result.diff.splitlines() if ln.startswith(("+", "-")))


def test_status_only_change_with_a_secret_env_does_not_void_the_proposal(secret: Cluster) -> None:
    proposal = secret.proposal(CAPACITY)
    server = secret.server()
    secret.kube.set_status(GROUP + "/" + VERSION, "Server", NS, "mlserver", {**server["status"], "loadedModels": 0})
    result = secret.run(proposal)
    assert result.result == "fixed", result.message
    assert any("changed the status only" in e.detail for e in result.events)


def test_rollback_keeps_the_secret_env_value(kube: FakeKube) -> None:
    cluster = seeded(kube, "zero-capacity", NS, edit=_with_secret_env)
    _unready_first_roll(cluster)
    before = cluster.server()
    result = cluster.run(cluster.proposal(CAPACITY), executor=cluster.executor(rollout_timeout=30), rollback=True)
    assert result.result == "rolled-back"
    assert cluster.server()["spec"] == before["spec"]
    assert SECRET not in event_text(result.events)


def test_applied_state_after_a_run_on_a_server_with_a_secret_env(secret: Cluster) -> None:
    proposal = secret.proposal(CAPACITY)
    assert secret.run(proposal).result == "fixed"
    assert applied_state(secret.target(), proposal) == "applied"


# ----------------------------------------------------------------------------------------------
# 8. The CLI
# ----------------------------------------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def cli(cluster: Cluster, tmp_path: Path, *args: str) -> int:
    kubeconfig = cluster.kube.write_kubeconfig(tmp_path / "kubeconfig")
    timeouts = ("--rollout-timeout", "5", "--verify-timeout", "0")  # the fake operator acts at once
    return main([*args, "--kubeconfig", str(kubeconfig), *timeouts])


def test_cli_remediate_dry_run_prints_the_diff_and_changes_nothing(
    zero: Cluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = zero.server()
    pid = zero.proposal(CAPACITY).id
    assert cli(zero, tmp_path, "remediate", NS, "--proposal", pid, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "--- Server mlserver (live)" in out and "+          memory: 1Gi" in out
    assert "dry run only: nothing was changed" in out
    assert_untouched(zero, before)


def test_cli_remediate_without_yes_and_without_a_terminal_refuses(
    zero: Cluster, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = zero.server()
    pid = zero.proposal(CAPACITY).id
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    assert cli(zero, tmp_path, "remediate", NS, "--proposal", pid) == 2
    captured = capsys.readouterr()
    assert "pass --yes" in captured.err
    assert "+          memory: 1Gi" in captured.out, "the diff is shown before asking"
    assert_untouched(zero, before)


def test_cli_remediate_asks_on_a_terminal(
    zero: Cluster, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    zero.start_seldon()
    before = zero.server()
    pid = zero.proposal(CAPACITY).id
    monkeypatch.setattr("sys.stdin", Terminal("n\n"))
    assert cli(zero, tmp_path, "remediate", NS, "--proposal", pid) == 1
    assert "not applied" in capsys.readouterr().out
    assert_untouched(zero, before)
    monkeypatch.setattr("sys.stdin", Terminal("y\n"))
    assert cli(zero, tmp_path, "remediate", NS, "--proposal", pid) == 0
    assert f"Apply {pid} to Server financial-ml/mlserver? [y/N]" in capsys.readouterr().out
    assert memory(zero.server())["requests"] == {"memory": "1Gi"}


def test_cli_remediate_unknown_proposal_lists_the_current_ones(
    zero: Cluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proposal = zero.proposal(CAPACITY)
    assert cli(zero, tmp_path, "remediate", NS, "--proposal", "p-0000000000") == 2
    err = capsys.readouterr().err
    assert "no proposal p-0000000000 in a fresh diagnosis of financial-ml" in err
    assert f"current proposals: {proposal.id} ({proposal.title})" in err
    assert zero.requests("PATCH") == []


def test_cli_remediate_applies_streams_progress_and_exits_0_when_verified(
    zero: Cluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    zero.start_seldon()
    pid = zero.proposal(CAPACITY).id
    assert cli(zero, tmp_path, "remediate", NS, "--proposal", pid, "--yes") == 0
    out = capsys.readouterr().out
    assert f"FIXED: finding {CAPACITY}@server/mlserver is gone and the symptoms it explained cleared" in out
    assert "  - Models ready: 3/3" in out
    for step in ("preflight", "dry-run", "applied", "rollout", "verified"):
        assert f"] {step} " in out
    assert memory(zero.server())["requests"] == {"memory": "1Gi"}
    assert len(zero.writes(zero.server_path())) == 1


def test_cli_remediate_exits_1_on_a_denied_run(
    zero: Cluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pid = zero.proposal(CAPACITY).id
    zero.kube.deny("patch", "servers", group=GROUP, namespace=NS)
    assert cli(zero, tmp_path, "remediate", NS, "--proposal", pid, "--yes") == 1
    assert "missing permission: patch servers.mlops.seldon.io mlserver in namespace financial-ml" in (
        capsys.readouterr().out
    )
    assert zero.requests("PATCH") == []


@pytest.mark.parametrize("tenant", ["zombie", "zero-capacity"])
def test_cli_restart_shows_the_diff_restarts_and_prints_fixed(
    kube: FakeKube, tmp_path: Path, capsys: pytest.CaptureFixture[str], tenant: str
) -> None:
    if tenant == "zombie":
        cluster = seeded(kube, "healthy", ZOMBIE_NS)
        make_zombie(kube, ZOMBIE_NS)
    else:
        cluster = seeded(kube, "zero-capacity", NS)
    cluster.start_seldon()
    pods_before = cluster.pods()

    assert cli(cluster, tmp_path, "restart", cluster.namespace, "mlserver", "--yes") == 0

    out = capsys.readouterr().out
    assert out.startswith("Rollout restart StatefulSet mlserver\n")
    assert "--- StatefulSet mlserver (live)" in out and f"+        {RESTARTED_AT}: " in out
    assert "FIXED: checks pass: server.ready, agent.zombie, agent.scheduler" in out
    stamp = cluster.statefulset()["spec"]["template"]["metadata"]["annotations"][RESTARTED_AT]
    assert datetime.fromisoformat(stamp).tzinfo is not None
    assert all(cluster.pods()[n] != pods_before[n] for n in pods_before)
    assert len(cluster.writes(cluster.sts_path())) == 1 and cluster.writes(cluster.server_path()) == []
