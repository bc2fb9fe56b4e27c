"""Turn an approved proposal into a safe, verified change: preflight, dry run, apply, rollout, verify, rollback.

Every step emits an AuditEvent. Nothing is written blind: the patch carries the resourceVersion the
proposal was made against, so an object changed in the meantime is refused (409) and the caller
re-plans. A failure after the apply is never silent: it is reported with what was left in place,
and rolled back when the caller asked for it.
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from bot.cluster.redact import redact_object, restore_redacted
from bot.diagnosis.models import ObjectRef, Proposal
from bot.remediation.events import Actor, AuditEvent, AuditSink, Outcome, Step
from bot.remediation.kube import KINDS, KubeTarget, RemediationError
from bot.remediation.proposals import RESTARTED_AT, spec_fingerprint, unified_diff
from bot.remediation.rollout import RolloutState, RolloutTimeout, wait_for_rollout
from bot.remediation.verify import Verification

Result = Literal["fixed", "not-fixed", "dry-run", "conflict", "denied", "failed", "timeout", "rolled-back"]


class Verifier(Protocol):
    def __call__(self, finding_id: str, check_ids: list[str], symptom_ids: list[str] = ()) -> Verification: ...


@dataclass
class Execution:
    result: Result
    message: str
    diff: str = ""
    verification: Verification | None = None
    events: list[AuditEvent] = field(default_factory=list)


@dataclass(frozen=True)
class Timing:
    rollout_timeout: float = 600.0
    interval: float = 2.0


def required_permissions(proposal: Proposal) -> list[tuple[str, str, str, str | None]]:
    """(verb, resource, group, name) the run needs, checked before anything is written."""
    group, _, resource = KINDS.get(proposal.target.kind, ("", "", proposal.target.kind.lower() + "s"))
    needed = [("get", resource, group, proposal.target.name), ("patch", resource, group, proposal.target.name)]
    if proposal.target.kind == "Server":  # the operator rolls the StatefulSet of the same name
        needed.append(("get", "statefulsets", "apps", proposal.target.name))
    needed += [("list", "pods", "", None), ("list", "models", "mlops.seldon.io", None)]  # verification
    return needed


def workload_of(target: ObjectRef) -> ObjectRef:
    """The workload whose rollout proves the change reached the pods."""
    if target.kind == "Server":
        return ObjectRef(kind="StatefulSet", name=target.name, namespace=target.namespace, api_version="apps/v1")
    return target


class Executor:
    def __init__(
        self,
        kube: KubeTarget,
        sink: AuditSink,
        verifier: Verifier | None = None,
        *,
        timing: Timing = Timing(),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.kube, self.sink, self.verifier, self.timing = kube, sink, verifier, timing
        self.clock, self.monotonic, self.sleep = clock, monotonic, sleep

    def run(
        self,
        proposal: Proposal,
        *,
        actor: Actor,
        approver: Actor | None = None,
        dry_run: bool = False,
        rollback: bool = True,
        correlation_id: str | None = None,
        on_progress: Callable[[str], None] = lambda _: None,
    ) -> Execution:
        run = _Run(self, proposal, actor, approver, correlation_id or f"run-{uuid.uuid4().hex[:12]}", on_progress)
        try:
            return run.execute(dry_run=dry_run, rollback=rollback)
        except RemediationError as exc:
            outcome: Outcome = {"denied": "denied", "conflict": "conflict"}.get(exc.reason, "failed")
            run.emit("failed", outcome, str(exc), data={"reason": exc.reason, "code": exc.code, "applied": run.applied})
            left = {
                True: " The change WAS applied and is still in place.",
                False: " Nothing was changed.",
                None: f" The write's answer was lost: the change MAY have been applied; check {proposal.target}.",
            }[run.applied]
            result: Result = outcome if outcome in ("denied", "conflict") else "failed"
            return Execution(result, f"{exc}.{left}", run.diff, events=run.events)


class _Run:
    """One execution: its state and the events it emitted."""

    def __init__(
        self,
        executor: Executor,
        proposal: Proposal,
        actor: Actor,
        approver: Actor | None,
        correlation_id: str,
        on_progress: Callable[[str], None],
    ) -> None:
        self.x, self.p, self.actor, self.approver = executor, proposal, actor, approver
        self.correlation_id, self.on_progress = correlation_id, on_progress
        self.events: list[AuditEvent] = []
        self.diff = ""
        self.applied: bool | None = False  # None: a write whose outcome is unknown
        self.started = executor.monotonic()

    def emit(self, step: Step, outcome: Outcome, detail: str, **extra: Any) -> None:
        event = AuditEvent(
            time=self.x.clock(),
            tenant=self.p.target.namespace or "",
            step=step,
            outcome=outcome,
            actor=self.actor,
            approver=self.approver,
            correlation_id=self.correlation_id,
            proposal_id=self.p.id,
            target=self.p.target,
            patch_summary=self.p.title,
            detail=detail,
            duration_ms=int((self.x.monotonic() - self.started) * 1000),
            **extra,
        )
        self.events.append(event)
        self.x.sink.emit(event)
        self.on_progress(f"{step}: {detail}")

    # -- steps ---------------------------------------------------------------------------------

    def execute(self, *, dry_run: bool, rollback: bool) -> Execution:
        self.emit("requested", "ok", f"{'dry run of' if dry_run else 'apply'} {self.p.title}")
        if self.p.action not in ("patch", "restart") or self.p.target.kind not in KINDS:
            raise RemediationError(
                "unsupported",
                f"proposal {self.p.id} ({self.p.action} {self.p.target.kind}) "
                "is for a human to apply; the bot only patches and restarts",
            )
        self.preflight()
        live = self.x.kube.get(self.p.target)
        self.check_unchanged(live)
        body = self.body(live)
        after = self.x.kube.merge_patch(self.p.target, body, dry_run=True)
        # The diff goes to Slack and the audit log: never with a secret value in it.
        self.diff = unified_diff(
            _spec(_redacted(live)), _spec(_redacted(after)), f"{self.p.target.kind} {self.p.target.name}"
        )
        self.emit(
            "dry-run",
            "ok",
            "the API server accepts the change" if self.diff else "the change is a no-op",
            data={"diff": self.diff},
        )
        if dry_run:
            return Execution("dry-run", "dry run only: nothing was changed", self.diff, events=self.events)
        workload = workload_of(self.p.target)
        before_generation = _generation(self.x.kube.get(workload)) if workload != self.p.target else _generation(live)
        applied = self.write(body)
        self.emit(
            "applied",
            "ok",
            f"resourceVersion {live['metadata'].get('resourceVersion')} -> "
            f"{applied['metadata'].get('resourceVersion')}",
        )
        try:
            self.wait(workload, before_generation)
        except RolloutTimeout as exc:
            self.emit("rollout", "timeout", str(exc), data=exc.last.model_dump() if exc.last else {})
            return self.finish_failed("timeout", str(exc), live, rollback)
        verification = self.verify()
        if verification is not None and not verification.fixed:
            return self.finish_failed("not-fixed", verification.summary, live, rollback, verification)
        message = verification.summary if verification else "applied and rolled out (no verification requested)"
        return Execution("fixed", message, self.diff, verification, self.events)

    def write(self, body: dict[str, Any]) -> dict[str, Any]:
        """The one real write. When its answer is lost (timeout, reset, 5xx), look before reporting."""
        try:
            written = self.x.kube.merge_patch(self.p.target, body)
        except RemediationError as exc:
            if exc.reason != "unreachable" and (exc.code or 0) < 500:
                raise  # a definite refusal: nothing was written
            # The request may still land after we gave up on it: only a confirmed write counts as known.
            self.applied = True if applied_state(self.x.kube, self.p) == "applied" else None
            raise
        self.applied = True
        return written

    def preflight(self) -> None:
        ns = self.p.target.namespace or ""
        needed = required_permissions(self.p)
        with ThreadPoolExecutor(max_workers=len(needed)) as pool:  # one round trip, not one per permission
            granted = list(pool.map(lambda perm: self.x.kube.can(perm[0], perm[1], perm[2], ns, perm[3]), needed))
        missing = [
            f"{verb} {resource}{'.' + group if group else ''}{' ' + name if name else ''} in namespace {ns}"
            for (verb, resource, group, name), ok in zip(needed, granted, strict=True)
            if not ok
        ]
        if missing:
            raise RemediationError("denied", "missing permission: " + "; ".join(missing))
        self.emit("preflight", "ok", f"{len(needed)} permissions granted")

    def check_unchanged(self, live: dict[str, Any]) -> None:
        """Refuse when the spec the proposal was built from changed; a status-only update is fine.

        Controllers bump the resourceVersion with every status write, so comparing it alone would
        void every proposal that waits half an hour for approval.
        """
        current, expected = live["metadata"].get("resourceVersion"), self.p.target_resource_version
        if not expected or current == expected:
            return
        if self.p.target_spec_hash and spec_fingerprint(_redacted(live).get("spec") or {}) == self.p.target_spec_hash:
            self.emit("preflight", "ok", f"resourceVersion {expected} -> {current} changed the status only")
            return
        raise RemediationError(
            "conflict",
            f"{self.p.target} changed since the proposal was made "
            f"(resourceVersion {expected} -> {current}): diagnose again",
        )

    def body(self, live: dict[str, Any]) -> dict[str, Any]:
        """The proposal's patch with the resourceVersion precondition (a restart stamps the time now)."""
        try:  # the proposal was built from a redacted snapshot: write the live secrets back, not placeholders
            patch = restore_redacted(copy.deepcopy(self.p.patch or {}), live)
        except ValueError as exc:
            raise RemediationError("invalid", f"cannot build the patch: {exc}") from None
        if self.p.action == "restart":
            annotations = patch.setdefault("spec", {}).setdefault("template", {}).setdefault("metadata", {})
            annotations.setdefault("annotations", {})[RESTARTED_AT] = self.x.clock().isoformat()
        patch.setdefault("metadata", {})["resourceVersion"] = live["metadata"]["resourceVersion"]
        return patch

    def wait(self, workload: ObjectRef, before_generation: int) -> RolloutState:
        def progress(state: RolloutState) -> None:
            self.emit("rollout", "in-progress", f"{workload}: {state}", data=state.model_dump())

        state = wait_for_rollout(
            self.x.kube,
            workload,
            after_generation=before_generation,
            timeout=self.x.timing.rollout_timeout,
            interval=self.x.timing.interval,
            on_progress=progress,
            clock=self.x.monotonic,
            sleep=self.x.sleep,
        )
        self.emit("rollout", "ok", f"{workload}: {state}", data=state.model_dump())
        return state

    def verify(self) -> Verification | None:
        if self.x.verifier is None:
            return None
        result = self.x.verifier(self.p.finding_id, self.p.check_ids, self.p.symptom_ids)
        self.emit(
            "verified",
            "fixed" if result.fixed else "not-fixed",
            result.summary,
            data={"evidence": [e.summary for e in result.evidence], "attempts": result.attempts},
        )
        return result

    def finish_failed(
        self, result: Result, why: str, before: dict[str, Any], rollback: bool, verification: Verification | None = None
    ) -> Execution:
        if self.p.action == "restart":
            message = f"{why}. The change is still in place: a restart cannot be rolled back (same spec as before)."
            return Execution(result, message, self.diff, verification, self.events)
        if not rollback:
            message = f"{why}. The change is still in place; rollback was not requested."
            return Execution(result, message, self.diff, verification, self.events)
        if self.restore(before):
            return Execution(
                "rolled-back", f"{why}. Rolled back to the previous spec.", self.diff, verification, self.events
            )
        message = f"{why}. The previous spec was restored, but its rollout did not finish: check the pods."
        return Execution("rolled-back", message, self.diff, verification, self.events)

    def restore(self, before: dict[str, Any]) -> bool:
        """Put back the fields the patch changed, with the same safety steps. True when it rolled out."""
        live = self.x.kube.get(self.p.target)
        undo = _undo(self.p.patch or {}, before)
        undo.setdefault("metadata", {})["resourceVersion"] = live["metadata"]["resourceVersion"]
        self.x.kube.merge_patch(self.p.target, undo, dry_run=True)
        workload = workload_of(self.p.target)
        generation = _generation(self.x.kube.get(workload))
        self.x.kube.merge_patch(self.p.target, undo)
        try:
            self.wait(workload, generation)
        except RolloutTimeout as exc:
            self.emit("rolled-back", "timeout", f"previous spec restored, but its rollout did not finish: {exc}")
            return False
        self.emit("rolled-back", "ok", "previous spec restored and rolled out")
        return True


def applied_state(kube: KubeTarget, proposal: Proposal) -> Literal["applied", "not-applied", "unknown"]:
    """After a crash mid-apply: does the live target already carry the proposal's patch?"""
    try:
        live = kube.get(proposal.target)
    except RemediationError:
        return "unknown"
    patch = {k: v for k, v in (proposal.patch or {}).items() if k != "metadata"}
    if proposal.action == "restart":
        return "unknown"  # the stamp is taken at apply time; only the rollout history could tell
    return "applied" if _covers(_redacted(live), patch) else "not-applied"  # the patch holds placeholders


def _covers(live: Any, patch: Any) -> bool:
    if isinstance(patch, dict) and isinstance(live, dict):
        return all((v is None and k not in live) or (k in live and _covers(live[k], v)) for k, v in patch.items())
    return live == patch


def _redacted(obj: dict[str, Any]) -> dict[str, Any]:
    return redact_object(copy.deepcopy(obj))


def _spec(obj: dict[str, Any]) -> dict[str, Any]:
    return {"spec": obj.get("spec") or {}}


def _generation(obj: dict[str, Any]) -> int:
    return int(obj.get("metadata", {}).get("generation") or 0)


def _undo(patch: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """A merge patch restoring, for every key the patch set, the value it had before (null = absent)."""
    undo: dict[str, Any] = {}
    for key, value in patch.items():
        if key == "metadata" and not isinstance(before.get(key), dict):
            continue
        old = before.get(key) if isinstance(before, dict) else None
        if isinstance(value, dict) and isinstance(old, dict):
            undo[key] = _undo(value, old)
        else:
            undo[key] = copy.deepcopy(old)  # lists are replaced whole by a merge patch, so restore whole
    return undo
